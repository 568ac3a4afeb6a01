from . import borrowers, credit  # noqa: F401  (registers the ModelAdmins)
