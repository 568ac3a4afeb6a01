"""Login codes are secrets (DESIGN §5): the provider gets the code, nobody else ever can."""

import importlib
import re
from datetime import datetime, timedelta

import pytest
import time_machine
from django.apps import apps
from django.contrib.auth.models import User
from django.db import connection
from django.urls import reverse

from notifications import services, tasks
from notifications.models import SmsMessage
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)
NOON = datetime.fromisoformat("2026-03-10T12:00:00+08:00")
CODE = "946183"


@pytest.fixture
def borrower():
    return factories.borrower(mobile="13912340000")


def text_in_database(needle: str) -> list[str]:
    """Every table and column of the database whose stored text contains `needle`."""
    found = []
    introspection = connection.introspection
    with connection.cursor() as cursor:
        for table in introspection.table_names():
            columns = [c.name for c in introspection.get_table_description(cursor, table)]
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                for column, value in zip(columns, row, strict=True):
                    if value is not None and needle in str(value):
                        found.append(f"{table}.{column}")
    return found


def test_a_login_code_reaches_the_provider_and_nowhere_else(
    client, borrower, sms_outbox, monkeypatch, caplog
):
    monkeypatch.setattr("loans.services.login_codes.secrets.randbelow", lambda n: int(CODE))
    with time_machine.travel(NOON):
        client.post(reverse("portal:login"), {"mobile": "13912340000", "send": "1"})
        tasks.dispatch()
    # The provider request (the locmem backend) carried the real code ...
    assert len(sms_outbox) == 1 and f"验证码为{CODE}" in sms_outbox[0].text
    message = SmsMessage.objects.get()
    assert message.status == SmsMessage.Status.SENT and message.secret_masked
    # ... the outbox row, every other row of every table, and the log never did.
    assert f"验证码为{services.SECRET_MASK}" in message.text
    assert text_in_database(CODE) == []
    assert CODE not in caplog.text


def test_no_staff_screen_shows_the_code(client, borrower, sms_outbox, monkeypatch):
    monkeypatch.setattr("loans.services.login_codes.secrets.randbelow", lambda n: int(CODE))
    with time_machine.travel(NOON):
        client.post(reverse("portal:login"), {"mobile": "13912340000", "send": "1"})
    message = SmsMessage.objects.get()
    admin = User.objects.create_superuser("root", password="x")
    staff = client.__class__()
    staff.force_login(admin)
    for url in (
        reverse("admin:notifications_smsmessage_changelist"),
        reverse("admin:notifications_smsmessage_change", args=[message.pk]),
    ):
        page = staff.get(url)
        assert page.status_code == 200 and CODE not in page.content.decode()


def test_verify_page_confirms_a_login_text_without_showing_the_code(
    client, borrower, sms_outbox, monkeypatch
):
    monkeypatch.setattr("loans.services.login_codes.secrets.randbelow", lambda n: int(CODE))
    with time_machine.travel(NOON):
        client.post(reverse("portal:login"), {"mobile": "13912340000", "send": "1"})
    message = SmsMessage.objects.get()
    page = client.post(
        reverse("notifications:verify"),
        {"phone": "13912340000", "code": message.verification_code},
    )
    html = page.content.decode()
    assert page.context["result"] == "genuine"
    assert CODE not in html and services.SECRET_MASK in html


def test_a_failed_login_sms_is_not_retried_with_the_masked_text(
    client, borrower, settings, monkeypatch
):
    settings.SMS_BACKEND = "tests.notifications.test_login_code_secret.FailingBackend"
    monkeypatch.setattr("loans.services.login_codes.secrets.randbelow", lambda n: int(CODE))
    with time_machine.travel(NOON):
        client.post(reverse("portal:login"), {"mobile": "13912340000", "send": "1"})
    message = SmsMessage.objects.get()
    assert message.status == SmsMessage.Status.FAILED and "provider down" in message.error
    assert CODE not in message.text


def test_a_masked_message_left_queued_is_failed_not_sent_masked(borrower, sms_outbox):
    """If the process holding the code dies before sending, the dispatcher never sends the
    masked text; once the code has expired the row ends failed."""
    with time_machine.travel(NOON):
        message = services.queue_sms(
            borrower=borrower,
            template="login_code",
            body=services.login_code_body(services.SECRET_MASK),
            purpose=SmsMessage.Purpose.TRANSACTIONAL,
            dedupe_key="login-code:orphan",
            obeys_quiet_hours=False,
            secret_masked=True,
        )
        assert tasks.dispatch() == 0
    with time_machine.travel(NOON + timedelta(minutes=6)):
        tasks.dispatch()
    message.refresh_from_db()
    assert sms_outbox == [] and message.status == SmsMessage.Status.FAILED


def test_migration_masks_login_codes_stored_in_clear(borrower):
    message = services.queue_sms(
        borrower=borrower,
        template="login_code",
        body=services.login_code_body("960041"),
        purpose=SmsMessage.Purpose.TRANSACTIONAL,
        dedupe_key="login-code:old",
        obeys_quiet_hours=False,
    )
    SmsMessage.objects.filter(pk=message.pk).update(status=SmsMessage.Status.SENT)
    migration = importlib.import_module("notifications.migrations.0006_sms_secret_masked")
    migration.mask_login_codes(apps, None)
    message.refresh_from_db()
    assert "960041" not in message.text and message.secret_masked
    assert re.search(r"验证码为\*{6}", message.text)


class FailingBackend:
    def send(self, messages):
        from notifications.backends import SendResult

        return [SendResult(ok=False, error="provider down") for _ in messages]


def test_a_registration_code_goes_to_a_mobile_that_is_no_borrower_yet(
    client, sms_outbox, django_capture_on_commit_callbacks
):
    with time_machine.travel(NOON), django_capture_on_commit_callbacks(execute=True):
        services.send_registration_code(mobile="13700001111", code=CODE, request_id="reg-1")
    message = SmsMessage.objects.get()
    assert message.borrower is None and message.masked_phone == "137****1111"
    assert message.status == SmsMessage.Status.SENT and CODE not in message.text
    assert f"验证码为{CODE}" in sms_outbox[0].text
    page = client.post(
        reverse("notifications:verify"),
        {"phone": "13700001111", "code": message.verification_code},
    )
    assert page.context["result"] == "genuine" and CODE not in page.content.decode()
    staff = client.__class__()
    staff.force_login(User.objects.create_superuser("root", password="x"))
    for url in (
        reverse("admin:notifications_smsmessage_changelist"),
        reverse("admin:notifications_smsmessage_change", args=[message.pk]),
    ):
        assert staff.get(url).status_code == 200
