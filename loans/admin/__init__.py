from . import borrowers, credit, payments  # noqa: F401  (registers the ModelAdmins)
