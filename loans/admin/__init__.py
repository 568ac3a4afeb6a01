from . import borrowers, credit, eod, lending, payments  # noqa: F401  (registers the ModelAdmins)
