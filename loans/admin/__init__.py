from . import (  # noqa: F401  (registers the ModelAdmins)
    audit,
    borrowers,
    candidates,  # noqa: F401  (registers the ready lists: write-off and credit-bureau candidates)
    credit,
    eod,
    lending,
    loans,
    payments,
    registration,
)
from .approvals import ApprovalAdmin  # noqa: F401  (registers the approvals and thresholds)
from .login import StaffLoginHandler  # noqa: F401  (django-axes: its admin pages, unlock rules)
from .refunds import RefundAdmin  # noqa: F401  (registers the refund admin)
from .writeoffs import WriteOffAdmin  # noqa: F401  (registers the write-off admin)
