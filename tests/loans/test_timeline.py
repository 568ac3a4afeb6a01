"""The borrower timeline: one page with every kind of record about a borrower, newest first,
filtered by kind, each kind shown only to those who may see it, personal data masked, and a
fixed number of queries whatever the number of rows."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from loans.audit import record_event
from loans.models.borrowers import mobile_index
from loans.services import borrowers as borrower_services
from loans.services.repayments import post_repayment
from notifications.models import SmsMessage
from tests import factories

pytestmark = pytest.mark.django_db
LOAN_KINDS = {"assessment", "credit_line", "application", "loan", "repayment", "bank_card"}


@pytest.fixture
def client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def url(borrower, **query):
    base = reverse("admin:loans_borrower_timeline", args=[borrower.pk])
    return base + ("?" + "&".join(f"kind={k}" for k in query.get("kinds", [])) if query else "")


def pay(loan, n: int):
    for i in range(n):
        post_repayment(
            loan=loan,
            amount=Decimal("10.00"),
            channel="bank_card",
            external_id=f"ext-{loan.pk}-{i}-{n}",
            value_date=date(2026, 1, 20),
        )


def sms(borrower, text="【微众银行】您的验证码为******，5分钟内有效。"):
    return SmsMessage.objects.create(
        borrower=borrower,
        phone=borrower.mobile,
        phone_index=mobile_index(borrower.mobile),
        template="login_code",
        text=text,
        purpose=SmsMessage.Purpose.TRANSACTIONAL,
        dedupe_key=f"t-{SmsMessage.objects.count()}",
        verification_code="ABCD",
        send_after=timezone.now(),
        secret_masked=True,
    )


def one_of_each():
    loan = factories.loan(on=date(2026, 1, 15))
    borrower = loan.borrower
    pay(loan, 1)
    boss = factories.staff(superuser=True, username="boss")
    borrower_services.reveal_pii(borrower=borrower, field="mobile", actor=boss, reason="call")
    record_event(actor=boss, action="object.change", target=borrower, summary="employer")
    sms(borrower)
    return borrower, boss


def kinds_shown(response) -> set[str]:
    assert response.status_code == 200
    return {e.kind for e in response.context["entries"]}


def test_every_kind_shows_for_a_borrower_with_one_of_each_newest_first_masked(client):
    borrower, boss = one_of_each()
    client.force_login(boss)
    response = client.get(url(borrower))
    assert kinds_shown(response) >= LOAN_KINDS | {"pii", "audit", "sms"}
    times = [e.at for e in response.context["entries"]]
    assert times == sorted(times, reverse=True)
    page = response.content.decode()
    assert borrower.mobile not in page and borrower.name not in page
    assert borrower.id_number not in page and "******" in page
    assert response.context["notes"] == []

    only_sms = client.get(url(borrower, kinds=["sms"]))
    assert kinds_shown(only_sms) == {"sms"}
    change = client.get(reverse("admin:loans_borrower_change", args=[borrower.pk]))
    assert reverse("admin:loans_borrower_timeline", args=[borrower.pk]) in change.content.decode()


def test_kinds_the_viewer_may_not_see_are_left_out(client):
    borrower, _ = one_of_each()
    user = factories.staff()
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="loans", codename__in=["view_borrower", "view_loan"]
        )
    )
    client.force_login(user)
    response = client.get(url(borrower))
    assert kinds_shown(response) == {"loan"}
    assert set(response.context["kinds"]) == {"loan"}
    assert kinds_shown(client.get(url(borrower, kinds=["sms", "pii"]))) == set()  # not by asking

    client.force_login(factories.staff())  # no view_borrower at all
    assert client.get(url(borrower)).status_code == 403


def test_queries_do_not_grow_with_rows_and_each_kind_is_bounded(client, monkeypatch):
    borrower, boss = one_of_each()
    loan = borrower.loans.get()
    client.force_login(boss)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url(borrower)).status_code == 200
        return len(captured)

    few = queries()
    pay(loan, 4)
    for _ in range(4):
        sms(borrower)
    assert queries() == few

    monkeypatch.setattr("loans.timeline.LIMIT", 2)
    response = client.get(url(borrower, kinds=["sms", "repayment"]))
    for kind in ("sms", "repayment"):
        assert len([e for e in response.context["entries"] if e.kind == kind]) == 2
    assert sorted(note.kind for note in response.context["notes"]) == ["repayment", "sms"]
    assert "Only the newest 2 are shown here." in response.content.decode()
