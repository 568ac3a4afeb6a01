from .borrowers import Borrower, CivilCapacity, Consent, CreditReport, PiiAccessLog, Sex
from .credit import CreditAssessment, CreditLine, CreditLineEvent, Decision

__all__ = [
    "Borrower",
    "CivilCapacity",
    "Consent",
    "CreditAssessment",
    "CreditLine",
    "CreditLineEvent",
    "CreditReport",
    "Decision",
    "PiiAccessLog",
    "Sex",
]
