r"""The restore drill's steps against one database, run as their own process the way an
operator runs them (DATABASE_URL names the database; prints one JSON line):

    python tests/faults/drill.py build    # the demo business, with its end of day
    python tests/faults/drill.py check PHONE CODE
        # reconcile_loans, borrowers read back, /verify/ of that text; then the same reads
        # with another PII key and another blind-index key than the data was written with
"""

import io
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from cryptography.fernet import Fernet  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client, override_settings  # noqa: E402

from loans.models import Borrower  # noqa: E402
from loans.models.borrowers import mobile_index  # noqa: E402
from notifications.models import SmsMessage  # noqa: E402
from notifications.selectors import GENUINE_STATUSES  # noqa: E402


# The demo's staff logins are hashed with a fast hasher: this database is thrown away.
@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
def build() -> dict:
    for command in ("load_demo_data", "load_collections_demo", "run_end_of_day"):
        call_command(command, stdout=io.StringIO())
    oldest = SmsMessage.objects.filter(status__in=GENUINE_STATUSES).order_by("id").first()
    return {"borrowers": borrowers(), "sms": [oldest.phone, oldest.verification_code]}


def borrowers() -> list:
    """Every borrower's name and mobile, decrypted, and whether the mobile's blind index (what
    search and uniqueness use) is still the one stored."""
    return [
        [b.pk, b.name, b.mobile, mobile_index(b.mobile) == b.mobile_index]
        for b in Borrower.objects.order_by("pk")
    ]


def verify(phone: str, code: str) -> str:
    page = Client().post("/verify/", {"phone": phone, "code": code}).content.decode()
    return page.split('data-result="', 1)[1].split('"', 1)[0] if "data-result" in page else ""


def reconciled() -> bool:
    try:
        call_command("reconcile_loans", stdout=io.StringIO(), stderr=io.StringIO())
    except SystemExit:
        return False
    return True


def check(phone: str, code: str) -> dict:
    return {
        "reconciled": reconciled(),
        "borrowers": borrowers(),
        "verify": verify(phone, code),
        "with_another_pii_key": attempt(
            borrowers, PII_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]
        ),
        "with_another_index_key": attempt(verify, phone, code, PII_BLIND_INDEX_KEY="other"),
    }


def attempt(read, *args, **other_settings):
    """What `read` gives with other keys than the data was written with, or how it fails."""
    with override_settings(**other_settings):
        try:
            return read(*args)
        except Exception as exc:  # noqa: BLE001 - the kind of failure is the answer
            return type(exc).__name__


if __name__ == "__main__":
    step, args = sys.argv[1], sys.argv[2:]
    print(json.dumps({"build": build, "check": check}[step](*args)))
