from . import borrowers, credit, eod, lending, loans, payments  # noqa: F401  (registers the ModelAdmins)
