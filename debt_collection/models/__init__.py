from .cases import CaseEvent, CaseStatus, CloseReason, CollectionCase, Collector
from .contacts import BannedPhrase, CallOutcome, Channel, ContactAttempt, ContactRestriction
from .help import Complaint, HardshipPlan
from .promises import HomeVisit, PromiseToPay

__all__ = [
    "BannedPhrase",
    "CallOutcome",
    "CaseEvent",
    "CaseStatus",
    "Channel",
    "CloseReason",
    "CollectionCase",
    "Collector",
    "Complaint",
    "ContactAttempt",
    "ContactRestriction",
    "HardshipPlan",
    "HomeVisit",
    "PromiseToPay",
]
