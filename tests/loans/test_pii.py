"""Personal data: encrypted at rest, found through the blind index, masked, revealed with a log."""

from datetime import date

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection

from loans import selectors
from loans.demo import make_id_number
from loans.models import BankCard, Borrower, PiiAccessLog
from loans.services.borrowers import reveal_pii
from notifications.models import SmsMessage
from notifications.services import queue_sms
from tests import factories

pytestmark = pytest.mark.django_db


def raw_row(borrower_id: int) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, id_number, mobile, id_number_index, mobile_index "
            "FROM loans_borrower WHERE id = %s",
            [borrower_id],
        )
        columns = [c[0] for c in cursor.description]
        return dict(zip(columns, cursor.fetchone(), strict=True))


def test_name_id_number_and_mobile_are_ciphertext_in_the_database():
    id_number = factories.id_number(birth=date(1985, 3, 4))
    b = factories.borrower(name="欧阳娜娜", id_number=id_number, mobile="13912345678")
    row = raw_row(b.pk)
    stored = " ".join(str(v) for v in row.values())
    assert "欧阳娜娜" not in stored
    assert id_number not in stored
    assert "13912345678" not in stored
    fresh = Borrower.objects.get(pk=b.pk)
    assert (fresh.name, fresh.id_number, fresh.mobile) == ("欧阳娜娜", id_number, "13912345678")


def test_masks_show_only_the_edges():
    id_number = make_id_number("360102", date(1990, 1, 15), "007")
    b = factories.borrower(name="李小龙", id_number=id_number, mobile="13812345678")
    assert b.masked_id_number == "360***********007" + id_number[-1]
    assert b.masked_mobile == "138****5678"
    assert b.masked_name == "李**"


def test_blind_index_finds_by_id_number_or_any_mobile_format():
    b = factories.borrower(mobile="13700001111")
    other = factories.borrower()
    qs = Borrower.objects.all()
    assert list(selectors.search_borrowers(queryset=qs, term=b.id_number)) == [b]
    assert list(selectors.search_borrowers(queryset=qs, term=b.id_number.lower())) == [b]
    assert list(selectors.search_borrowers(queryset=qs, term="+86 137-0000-1111")) == [b]
    assert list(selectors.search_borrowers(queryset=qs, term="137000")) == []
    assert other not in selectors.search_borrowers(queryset=qs, term=b.mobile)


def test_key_rotation_re_encrypts_with_the_new_key_and_old_key_can_go(settings):
    b = factories.borrower(name="王五", mobile="13600002222")
    old_key = settings.PII_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.PII_ENCRYPTION_KEYS = [new_key, old_key]
    assert Borrower.objects.get(pk=b.pk).name == "王五"  # old tokens still readable
    call_command("rotate_pii_keys", stdout=open("/dev/null", "w"))
    settings.PII_ENCRYPTION_KEYS = [new_key]
    fresh = Borrower.objects.get(pk=b.pk)
    assert (fresh.name, fresh.mobile) == ("王五", "13600002222")
    token = raw_row(b.pk)["name"]
    assert Fernet(new_key.encode()).decrypt(token.encode()).decode() == "王五"


def test_reveal_needs_the_permission_and_a_reason_and_is_logged():
    b = factories.borrower(mobile="13500003333")
    collector = factories.staff("催收员 Collector")
    with pytest.raises(PermissionDenied):
        reveal_pii(borrower=b, field="mobile", actor=collector, reason="call")
    officer = factories.staff("风控专员 Risk officer")
    with pytest.raises(ValidationError):
        reveal_pii(borrower=b, field="mobile", actor=officer, reason="  ")
    with pytest.raises(ValidationError):
        reveal_pii(borrower=b, field="monthly_income", actor=officer, reason="x")
    assert PiiAccessLog.objects.count() == 0
    value = reveal_pii(borrower=b, field="mobile", actor=officer, reason="verify identity")
    assert value == "13500003333"
    log = PiiAccessLog.objects.get()
    assert (log.user, log.borrower, log.field, log.reason) == (
        officer,
        b,
        "mobile",
        "verify identity",
    )


def test_key_rotation_covers_card_numbers_and_the_sms_outbox(settings):
    b = factories.borrower(mobile="13600003333")
    card = factories.bank_card(b)
    queue_sms(borrower=b, template="t", body="x", purpose="transactional", dedupe_key="k")
    old_key = settings.PII_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.PII_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_pii_keys", stdout=open("/dev/null", "w"))
    settings.PII_ENCRYPTION_KEYS = [new_key]  # the old key is gone: everything still reads
    assert BankCard.objects.get(pk=card.pk).number == card.number
    assert SmsMessage.objects.get().phone == "13600003333"
