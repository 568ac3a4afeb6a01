from .approvals import Approval, ApprovalThreshold
from .audit import AuditEvent
from .borrowers import (
    Borrower,
    CivilCapacity,
    Consent,
    CreditReport,
    Language,
    LoginCode,
    PiiAccessLog,
    Sex,
)
from .candidates import BureauReportCandidate, WriteOffCandidate  # noqa: F401, I001  (proxies)
from .credit import CreditAssessment, CreditLine, CreditLineEvent, Decision
from .eod import BusinessDay
from .ledger import Channel, LoanTransaction, Repayment
from .lending import Contract, Instalment, Loan, LoanApplication
from .payments import BankCard, DebitAttempt, GatewayNotification
from .products import LoanProduct
from .refunds import Refund
from .restructuring import RevisionKind, ScheduleRevision
from .writeoffs import WriteOff

__all__ = [
    "Approval",
    "ApprovalThreshold",
    "AuditEvent",
    "BusinessDay",
    "BankCard",
    "DebitAttempt",
    "GatewayNotification",
    "Channel",
    "Contract",
    "Instalment",
    "Loan",
    "LoginCode",
    "LoanApplication",
    "LoanProduct",
    "Language",
    "LoanTransaction",
    "Refund",
    "Repayment",
    "RevisionKind",
    "ScheduleRevision",
    "WriteOff",
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
