"""The audit trail: staff actions are on record with who, when, what, before / after and from
where; personal data never enters it in the clear; it commits with the change or not at all;
nobody can edit it, and on PostgreSQL nobody can rewrite or delete it."""

import json
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory

from loans.admin.borrowers import BorrowerAdmin
from loans.audit import record_event
from loans.models import AuditEvent, Borrower
from loans.services import borrowers as borrower_services
from loans.services import repayments
from loans.services.repayments import post_repayment, reverse_repayment
from tests import factories

pytestmark = pytest.mark.django_db
AUDITOR = "合规审计 Auditor"
RISK = "风控专员 Risk officer"
OPS = "贷款运营 Loan operations"
TRAIL = "/admin/loans/auditevent/"


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def test_an_admin_add_and_change_are_on_record_with_who_where_and_what(client):
    setup = factories.staff(superuser=True)
    client.force_login(setup)
    add = "/admin/collections/bannedphrase/add/"
    phrase = {"phrase": "再不还钱就", "category": "threat", "is_active": "on"}
    response = client.post(add, phrase, REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 302, response.content[:500]
    [added] = events("object.add")
    assert added.actor == setup
    assert added.ip_address == "10.1.2.3"
    assert added.after["phrase"] == "再不还钱就"
    assert added.object_repr.startswith("再不还钱就") or "再不还钱就" in added.summary

    url = f"/admin/collections/bannedphrase/{added.object_id}/change/"
    client.post(url, {"phrase": "再不还钱就", "category": "threat"}, REMOTE_ADDR="10.1.2.4")
    [changed] = events("object.change")
    assert changed.before == {"is_active": True}
    assert changed.after == {"is_active": False}
    assert changed.ip_address == "10.1.2.4"

    # Saving again without a change records nothing new.
    client.post(url, {"phrase": "再不还钱就", "category": "threat"})
    assert len(events("object.change")) == 1


def test_an_edited_name_is_recorded_as_changed_never_in_the_clear():
    staff = factories.staff(superuser=True)
    borrower = factories.borrower(name="王小明")
    request = RequestFactory().post("/")
    request.user = staff
    borrower = Borrower.objects.get(pk=borrower.pk)
    borrower.name = "王大明"
    borrower.employer = "深圳某公司"
    model_admin = BorrowerAdmin(Borrower, admin_site=None)
    form = SimpleNamespace(cleaned_data={"new_address": "深圳市南山区科技园1号"})
    with transaction.atomic():
        model_admin.save_model(request, borrower, form=form, change=True)
    [event] = events("object.change")
    assert event.after == {"name": "(changed)", "address": "(changed)", "employer": "深圳某公司"}
    assert event.before["name"] is None
    stored = json.dumps([event.before, event.after, event.summary, event.object_repr])
    assert "王小明" not in stored and "王大明" not in stored and "科技园" not in stored


def test_a_role_change_names_the_groups_before_and_after(client):
    admin_user = factories.staff(superuser=True)
    clerk = factories.staff(RISK, username="clerk")
    client.force_login(admin_user)
    page = client.get(f"/admin/auth/user/{clerk.pk}/change/")
    form = page.context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if name not in ("groups", "user_permissions", "password") and value is not None
    }
    data.update(
        {
            "username": "clerk",
            "is_active": "on",
            "is_staff": "on",
            "groups": [Group.objects.get(name=AUDITOR).pk],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "09:00:00",
            "last_login_0": "",
            "last_login_1": "",
        }
    )
    response = client.post(f"/admin/auth/user/{clerk.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    [event] = events("role.change")
    assert event.actor == admin_user
    assert event.before == {"groups": [RISK]}
    assert event.after == {"groups": [AUDITOR]}


def test_reveals_postings_and_reversals_are_on_record():
    ops = factories.staff(OPS)
    risk = factories.staff(RISK)
    loan = factories.loan()
    borrower_services.reveal_pii(
        borrower=loan.borrower, field="mobile", actor=risk, reason="borrower called"
    )
    [reveal] = events("pii.reveal")
    assert reveal.actor == risk and reveal.after == {"field": "mobile", "reason": "borrower called"}
    assert loan.borrower.mobile not in json.dumps([reveal.summary, reveal.after])

    repayment, _ = post_repayment(
        loan=loan,
        amount=Decimal("100.00"),
        channel="counter",
        external_id="BT-1",
        value_date=date(2026, 1, 20),
        actor=ops,
    )
    [posted] = events("payment.post")
    assert posted.actor == ops and posted.after["amount"] == "100.00"
    # The same transaction id again posts nothing, and records nothing.
    post_repayment(
        loan=loan,
        amount=Decimal("100.00"),
        channel="counter",
        external_id="BT-1",
        value_date=date(2026, 1, 20),
        actor=ops,
    )
    assert len(events("payment.post")) == 1

    reverse_repayment(repayment=repayment, reason="bounced", actor=ops)
    [reversed_] = events("payment.reverse")
    assert reversed_.after == {"status": "reversed", "reason": "bounced"}
    assert reversed_.object_id == str(repayment.pk)


def test_a_payment_the_bank_reports_is_not_a_staff_action():
    loan = factories.loan()
    post_repayment(
        loan=loan,
        amount=Decimal("100.00"),
        channel="bank_card",
        external_id="GW-1",
        value_date=date(2026, 1, 20),
    )
    assert not events("payment.post")


def test_an_action_that_fails_halfway_leaves_no_event(monkeypatch):
    ops = factories.staff(OPS)
    loan = factories.loan()
    repayment, _ = post_repayment(
        loan=loan,
        amount=Decimal("100.00"),
        channel="counter",
        external_id="BT-2",
        value_date=date(2026, 1, 20),
        actor=ops,
    )

    def crash(**kwargs):
        raise ConnectionError("connection lost")

    monkeypatch.setattr(repayments, "_mark_reversed", crash)
    with pytest.raises(ConnectionError):
        reverse_repayment(repayment=repayment, reason="bounced", actor=ops)
    assert not events("payment.reverse")


def test_the_trail_is_read_only_and_shows_what_changed(client):
    auditor = factories.staff(AUDITOR)
    event = record_event(
        actor=auditor,
        action="object.change",
        summary="product: 微粒贷",
        before={"grace_days": 3},
        after={"grace_days": 5},
    )
    client.force_login(auditor)
    listing = client.get(TRAIL)
    assert listing.status_code == 200
    assert "product: 微粒贷" in listing.content.decode()
    assert client.get(TRAIL + "?action=object.change").status_code == 200
    detail = client.get(f"{TRAIL}{event.pk}/change/").content.decode()
    assert "grace_days" in detail and ">3<" in detail and ">5<" in detail
    assert client.post(f"{TRAIL}{event.pk}/change/", {"summary": "x"}).status_code == 403
    assert client.get(f"{TRAIL}{event.pk}/delete/").status_code == 403
    assert client.get(f"{TRAIL}add/").status_code == 403


def test_an_unknown_action_is_refused():
    with pytest.raises(ValueError):
        record_event(actor=None, action="made.up")


@pytest.mark.postgres
def test_postgresql_refuses_to_rewrite_or_delete_the_trail():
    event = record_event(actor=None, action="job.run", summary="end of day 2026-01-20")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(summary="nothing happened")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM loans_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).summary == "end of day 2026-01-20"
