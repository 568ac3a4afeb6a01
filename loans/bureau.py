"""征信 (credit bureau) and platform data: where a credit report summary comes from.

A pluggable backend chosen by `CREDIT_BUREAU_BACKEND`, like Django's email backends. The sandbox
one answers without a network: the same ID number always gets the same report, and most
people have a clean record, so demos and tests are repeatable.
"""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class BureauReport:
    current_overdue_accounts: int
    worst_dpd_24m: int
    inquiries_3m: int
    account_activity_score: int  # from the platform: how actively the account is used


class SandboxBureau:
    source = "sandbox"

    def pull(self, *, id_number: str) -> BureauReport:
        digest = hashlib.sha256(f"sandbox-bureau:{id_number}".encode()).digest()
        troubled = digest[0] < 26  # about one in ten has something overdue now
        return BureauReport(
            current_overdue_accounts=1 if troubled else 0,
            worst_dpd_24m=(digest[1] % 90) if troubled else (digest[1] % 3) * 5,
            inquiries_3m=digest[2] % 5,
            account_activity_score=40 + digest[3] % 61,
        )


def get_bureau():
    return import_string(settings.CREDIT_BUREAU_BACKEND)()
