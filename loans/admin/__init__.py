from . import borrowers, credit, eod, lending, loans, payments, registration  # noqa: F401  (registers the ModelAdmins)
from .login import StaffLoginHandler  # noqa: F401  (django-axes: its admin pages, unlock rules)
from .refunds import RefundAdmin  # noqa: F401  (registers the refund admin)
from .writeoffs import WriteOffAdmin  # noqa: F401  (registers the write-off admin)
