"""Lending checks at every step (DESIGN §4): a draw approved earlier is checked again when it is
signed and when it is disbursed; one that fails is cancelled with its reasons, its reservation
released and the borrower told. And a borrower can walk away from a draw not yet paid out."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from loans import reconcile, signals
from loans.models import Contract, CreditLine, Loan, LoanApplication, LoanTransaction
from loans.models.lending import CancelReason
from loans.services import borrowers as borrower_services
from loans.services import credit, lending
from tests import factories

pytestmark = pytest.mark.django_db
DAY = date(2026, 3, 10)
APPLIED = DAY - timedelta(days=60)  # the draw was approved two months ago
OTHER_DRAWN = APPLIED - timedelta(days=5)  # her other loan: first due 2026-02-04
AMOUNT = Decimal("2000")


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(DAY):
        yield


@pytest.fixture
def cancelled_signals():
    sent = []

    def capture(sender, application, reasons, **kwargs):
        sent.append((application.pk, reasons))

    signals.application_cancelled.connect(capture, dispatch_uid="test-cancelled")
    yield sent
    signals.application_cancelled.disconnect(dispatch_uid="test-cancelled")


@pytest.fixture
def draw():
    """An approved, unsigned ¥2,000 draw of a borrower with a verified card and another loan,
    up to date when the draw was approved."""
    b = factories.borrower(income="50000")
    credit.assess_credit(borrower=b, as_of=OTHER_DRAWN)
    CreditLine.objects.filter(borrower=b).update(daily_rate=Decimal("0.0005"))
    product = factories.product(terms=[5, 10])
    other = factories.loan(on=OTHER_DRAWN, borrower_obj=b, product_obj=product, term=5)
    application = lending.apply_for_loan(
        borrower=b,
        product=product,
        amount=AMOUNT,
        term=5,
        method="equal_instalment",
        as_of=APPLIED,
    )
    assert application.status == LoanApplication.Status.APPROVED
    return {"borrower": b, "application": application, "other": other}


def _line(d) -> CreditLine:
    return CreditLine.objects.get(borrower=d["borrower"])


def freeze(d):
    # A risk officer froze the line: her other loan is badly overdue.
    credit.freeze_credit_line(credit_line=_line(d), reason="other loan 88 days overdue")


def expire(d):
    CreditLine.objects.filter(borrower=d["borrower"]).update(expires_on=DAY - timedelta(days=1))


def close(d):
    CreditLine.objects.filter(borrower=d["borrower"]).update(status=CreditLine.Status.CLOSED)


def fall_behind(d):
    """Her other loan's first instalment (due 2026-02-04) is unpaid: well past its grace day
    on DAY, whatever the end of day has or has not run."""
    assert d["other"].instalments.get(number=1).due_date < DAY - timedelta(days=2)


def lose_eligibility(d):
    # A new credit bureau report shows accounts overdue elsewhere: the rules no longer pass.
    borrower_services.record_credit_report(
        borrower=d["borrower"], current_overdue_accounts=2, worst_dpd_24m=40, inquiries_3m=1
    )


def shrink_line(d):
    # Re-assessed to a lower limit: what is drawn already leaves less than this draw.
    line = _line(d)
    CreditLine.objects.filter(pk=line.pk).update(
        limit=line.outstanding_principal + AMOUNT - Decimal("100")
    )


def pay_other_loan(d):
    """Keep her standing good for every check but the one under test."""
    from loans.services.repayments import post_repayment

    other = d["other"]
    for inst in other.instalments.filter(due_date__lte=DAY).order_by("number"):
        post_repayment(
            loan=other,
            amount=inst.principal_due + inst.interest_due,
            channel="wechat_pay",
            external_id=f"WX-{inst.pk}",
            value_date=inst.due_date,
        )


REFUSALS = [
    (freeze, CancelReason.LINE_FROZEN),
    (expire, CancelReason.LINE_EXPIRED),
    (close, CancelReason.LINE_CLOSED),
    (fall_behind, CancelReason.BORROWER_OVERDUE),
    (lose_eligibility, CancelReason.NOT_ELIGIBLE),
    (shrink_line, CancelReason.AMOUNT_UNAVAILABLE),
]


def _assert_cancelled(d, reason, sent, *, signed_first: bool):
    app = LoanApplication.objects.get(pk=d["application"].pk)
    assert app.status == LoanApplication.Status.CANCELLED
    assert app.cancel_reasons == [reason]
    assert app.contract.status == Contract.Status.VOID
    assert app.contract.signed_at is not None if signed_first else app.contract.signed_at is None
    assert not Loan.objects.filter(application=app).exists()
    line = _line(d)
    assert line.reserved_amount == 0  # the reservation is released
    assert sent == [(app.pk, [reason])]
    assert reconcile.differences() == []


@pytest.mark.parametrize("breaks, reason", REFUSALS, ids=[r for _, r in REFUSALS])
def test_a_draw_failing_a_check_at_signing_is_cancelled_and_nothing_is_signed_or_paid(
    draw, breaks, reason, cancelled_signals, django_capture_on_commit_callbacks
):
    if reason != CancelReason.BORROWER_OVERDUE:
        pay_other_loan(draw)
    breaks(draw)
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(lending.DrawRefused) as refused:
            lending.sign_and_disburse(
                contract=draw["application"].contract, ip_address="10.0.0.8", user_agent="UA"
            )
    assert refused.value.reasons == [reason]
    assert str(CancelReason(reason).label)  # every code has a staff label
    _assert_cancelled(draw, reason, cancelled_signals, signed_first=False)


@pytest.mark.parametrize("breaks, reason", REFUSALS, ids=[r for _, r in REFUSALS])
def test_signing_alone_runs_the_same_checks(draw, breaks, reason, cancelled_signals):
    if reason != CancelReason.BORROWER_OVERDUE:
        pay_other_loan(draw)
    breaks(draw)
    with pytest.raises(lending.DrawRefused):
        lending.sign_contract(contract=draw["application"].contract, ip_address=None, user_agent="")
    app = LoanApplication.objects.get(pk=draw["application"].pk)
    assert (app.status, app.cancel_reasons, app.contract.status) == ("cancelled", [reason], "void")
    assert _line(draw).reserved_amount == 0


@pytest.mark.parametrize("breaks, reason", REFUSALS, ids=[r for _, r in REFUSALS])
def test_a_signed_draw_failing_a_check_at_disbursement_is_cancelled_and_not_paid(
    draw, breaks, reason, cancelled_signals, django_capture_on_commit_callbacks
):
    if reason != CancelReason.BORROWER_OVERDUE:
        pay_other_loan(draw)
        lending.sign_contract(
            contract=draw["application"].contract, ip_address=None, user_agent="", as_of=DAY
        )
    else:
        # Signed while still up to date (before her first due date); paid out only today.
        lending.sign_contract(
            contract=draw["application"].contract, ip_address=None, user_agent="", as_of=APPLIED
        )
    breaks(draw)
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(lending.DrawRefused) as refused:
            lending.disburse_loan(application=draw["application"], on=DAY)
    assert refused.value.reasons == [reason]
    _assert_cancelled(draw, reason, cancelled_signals, signed_first=True)


def test_the_frozen_line_of_the_issue_refuses_the_draw_at_every_step(draw):
    """The incident: the line was frozen (her other loan far overdue) and her approved draw was
    still signed and paid. Now both checks refuse it, each with its own code."""
    freeze(draw)
    with pytest.raises(lending.DrawRefused) as refused:
        lending.sign_and_disburse(
            contract=draw["application"].contract, ip_address=None, user_agent=""
        )
    assert refused.value.reasons == [CancelReason.LINE_FROZEN, CancelReason.BORROWER_OVERDUE]
    assert not Loan.objects.filter(application=draw["application"]).exists()
    assert LoanTransaction.objects.filter(loan__borrower=draw["borrower"]).count() == 1


def test_a_staff_decline_makes_the_draw_not_eligible(draw):
    pay_other_loan(draw)
    assessment = draw["borrower"].assessments.latest()
    credit.override_assessment(
        assessment=assessment,
        decision="declined",
        reason="identity fraud suspected",
        actor=factories.staff(superuser=True),
    )
    with pytest.raises(lending.DrawRefused) as refused:
        lending.sign_and_disburse(
            contract=draw["application"].contract, ip_address=None, user_agent=""
        )
    assert CancelReason.NOT_ELIGIBLE in refused.value.reasons


def test_its_own_reservation_counts_as_available_and_a_draw_that_passes_is_paid(draw):
    pay_other_loan(draw)
    line = _line(draw)
    # The line is used up exactly by what is drawn and this draw's own reservation.
    CreditLine.objects.filter(pk=line.pk).update(limit=line.outstanding_principal + AMOUNT)
    assert _line(draw).available_amount == 0
    loan = lending.sign_and_disburse(
        contract=draw["application"].contract, ip_address="10.0.0.8", user_agent="UA"
    )
    assert loan.principal == AMOUNT and loan.drawdown_date == DAY
    paid = loan.transactions.get(kind=LoanTransaction.Kind.DISBURSEMENT)
    assert paid.bank_card.borrower == draw["borrower"] and paid.bank_card.is_verified
    assert _line(draw).reserved_amount == 0


def test_one_day_overdue_is_within_grace_two_days_is_not():
    b = factories.borrower(income="50000")
    drawn = date(2026, 1, 10)
    credit.assess_credit(borrower=b, as_of=drawn)
    loan = factories.loan(on=drawn, borrower_obj=b)
    due = loan.instalments.get(number=1).due_date
    assert not lending.borrower_overdue(borrower=b, as_of=due + timedelta(days=1))
    assert lending.borrower_overdue(borrower=b, as_of=due + timedelta(days=2))
    # Applying is checked the same way.
    with pytest.raises(ValidationError) as exc:
        lending.apply_for_loan(
            borrower=b,
            product=loan.product,
            amount=Decimal("1000"),
            term=10,
            method="equal_instalment",
            as_of=due + timedelta(days=2),
        )
    assert "overdue" in " ".join(exc.value.messages)


def test_without_a_verified_card_nothing_is_signed_until_one_is_bound(draw):
    pay_other_loan(draw)
    from loans.services import cards

    cards.unbind_bank_card(card=cards.default_card(borrower=draw["borrower"]))
    contract = draw["application"].contract
    with pytest.raises(lending.NoPayoutCard):
        lending.sign_and_disburse(contract=contract, ip_address=None, user_agent="")
    contract.refresh_from_db()
    assert contract.status == Contract.Status.AWAITING_SIGNATURE
    assert LoanApplication.objects.get(pk=draw["application"].pk).status == "approved"
    card = factories.bank_card(draw["borrower"])
    loan = lending.sign_and_disburse(contract=contract, ip_address=None, user_agent="")
    assert loan.transactions.get(kind="disbursement").bank_card == card


# --- The portal ------------------------------------------------------------------------------


def log_in(client, borrower):
    session = client.session
    session["portal_borrower_id"] = borrower.pk
    session.save()


def test_the_portal_shows_why_a_draw_was_refused(client, draw):
    freeze(draw)
    log_in(client, draw["borrower"])
    url = reverse("portal:contract", args=[draw["application"].contract.number])
    response = client.post(url, {"agree": "yes"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302 and response.url == url
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "This draw was cancelled and nothing was paid out" in page
    assert "Your credit line is frozen." in page and "You have a loan that is overdue" in page
    assert "Sign and borrow" not in page


def test_the_contract_page_asks_for_a_card_first(client, draw):
    pay_other_loan(draw)
    from loans.services import cards

    cards.unbind_bank_card(card=cards.default_card(borrower=draw["borrower"]))
    log_in(client, draw["borrower"])
    number = draw["application"].contract.number
    url = reverse("portal:contract", args=[number])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Before you sign, bind a bank card" in page and 'name="agree"' not in page
    assert f"/cards/bind/?next=%2Fcontracts%2F{number}%2F" in page
    # A stale page posted anyway: refused with a clear message, sent to bind a card.
    response = client.post(url, {"agree": "yes"}, HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("portal:bind_card"))
    assert "Bind and verify a bank card first" in response.content.decode()
    assert Contract.objects.get(number=number).status == Contract.Status.AWAITING_SIGNATURE


def test_signing_in_the_portal_pays_to_the_verified_card(client, draw):
    pay_other_loan(draw)
    log_in(client, draw["borrower"])
    url = reverse("portal:contract", args=[draw["application"].contract.number])
    card = draw["borrower"].bank_cards.get(is_default=True)
    assert card.masked in client.get(url).content.decode()
    response = client.post(url, {"agree": "yes"}, HTTP_ACCEPT_LANGUAGE="en", follow=True)
    loan = Loan.objects.get(application=draw["application"])
    assert response.redirect_chain[-1][0] == reverse("portal:loan", args=[loan.pk])
    assert f"has been paid to your card {card.masked}" in response.content.decode()
    # A second click on the same form: the loan, not a second payout.
    again = client.post(url, {"agree": "yes"})
    assert again.status_code == 200 or again.url == reverse("portal:loan", args=[loan.pk])
    assert Loan.objects.filter(application=draw["application"]).count() == 1


# --- Cancelling a draw ------------------------------------------------------------------------


def test_two_tabs_two_draws_the_borrower_cancels_one_once(
    client, cancelled_signals, django_capture_on_commit_callbacks
):
    b = factories.borrower(income="50000")
    credit.assess_credit(borrower=b, as_of=DAY)
    product = factories.product(auto_approve_max_amount=Decimal("20000"))
    first, second = (
        lending.apply_for_loan(
            borrower=b, product=product, amount=Decimal("8000"), term=10, method="equal_instalment"
        )
        for _ in range(2)
    )
    line = CreditLine.objects.get(borrower=b)
    assert line.reserved_amount == Decimal("16000")
    log_in(client, b)
    page = client.get(reverse("portal:my_credit"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for app in (first, second):
        assert reverse("portal:cancel_draw", args=[app.pk]) in page
    assert "Cancel this draw of ¥8000.00" in page
    url = reverse("portal:cancel_draw", args=[second.pk])
    assert client.get(url).status_code == 405  # only a POST cancels
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url, HTTP_ACCEPT_LANGUAGE="en", follow=True)
        again = client.post(url, HTTP_ACCEPT_LANGUAGE="en", follow=True)  # double submit
    assert "Draw of ¥8000.00 cancelled" in done.content.decode()
    assert "This draw is already cancelled." in again.content.decode()
    line.refresh_from_db()
    assert line.reserved_amount == Decimal("8000")  # released once
    second.refresh_from_db()
    assert second.status == "cancelled" and second.cancel_reasons == ["borrower_request"]
    assert second.contract.status == Contract.Status.VOID
    assert cancelled_signals == [(second.pk, ["borrower_request"])]
    first.refresh_from_db()
    assert first.status == "approved"
    page = client.get(reverse("portal:my_credit")).content.decode()
    assert reverse("portal:cancel_draw", args=[second.pk]) not in page


def test_a_borrower_cannot_cancel_another_borrowers_draw_or_a_paid_one(client):
    with time_machine.travel(DAY):
        loan = factories.loan(on=DAY)
    stranger = factories.borrower()
    log_in(client, stranger)
    url = reverse("portal:cancel_draw", args=[loan.application.pk])
    assert client.post(url).status_code == 404
    log_in(client, loan.borrower)
    response = client.post(url, HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert "can no longer be cancelled" in response.content.decode()
    loan.application.refresh_from_db()
    assert loan.application.status == "disbursed"


def test_staff_cancel_for_the_borrower_through_the_same_service():
    b = factories.borrower(income="50000")
    credit.assess_credit(borrower=b, as_of=DAY)
    app = lending.apply_for_loan(
        borrower=b,
        product=factories.product(),
        amount=Decimal("3000"),
        term=10,
        method="equal_instalment",
    )
    staff = factories.staff(superuser=True)
    lending.cancel_application(application=app, actor=staff, note="borrower phoned")
    app.refresh_from_db()
    assert (app.status, app.decided_by, app.cancel_reasons) == (
        "cancelled",
        staff,
        ["borrower_request"],
    )
    assert app.decision_note == "borrower phoned"
    with pytest.raises(ValidationError):
        lending.cancel_application(application=app, actor=staff, note="again")
    assert CreditLine.objects.get(borrower=b).reserved_amount == 0


# --- Concurrency (PostgreSQL) ------------------------------------------------------------------


def _at_once(work, n=2):
    """Run `work` in n threads released together; return what each returned or raised."""
    import threading

    from django.db import connection

    barrier, results = threading.Barrier(n), []

    def run():
        try:
            barrier.wait()
            results.append(work())
        except Exception as exc:  # noqa: BLE001 - the refusal is the result
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_cancels_release_the_reservation_once():
    b = factories.borrower(income="50000")
    credit.assess_credit(borrower=b, as_of=DAY)
    app = lending.apply_for_loan(
        borrower=b,
        product=factories.product(),
        amount=Decimal("8000"),
        term=10,
        method="equal_instalment",
    )
    results = _at_once(lambda: lending.cancel_application(application=app))
    assert sorted(type(r).__name__ for r in results) == ["LoanApplication", "ValidationError"]
    assert CreditLine.objects.get(borrower=b).reserved_amount == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_signatures_pay_out_once():
    b = factories.borrower(income="50000")
    credit.assess_credit(borrower=b, as_of=DAY)
    factories.bank_card(b)
    app = lending.apply_for_loan(
        borrower=b,
        product=factories.product(),
        amount=Decimal("8000"),
        term=10,
        method="equal_instalment",
    )
    contract = app.contract
    results = _at_once(
        lambda: lending.sign_and_disburse(contract=contract, ip_address=None, user_agent="")
    )
    assert sorted(type(r).__name__ for r in results) == ["Loan", "ValidationError"]
    assert Loan.objects.filter(application=app).count() == 1
    line = CreditLine.objects.get(borrower=b)
    assert (line.reserved_amount, line.outstanding_principal) == (0, Decimal("8000"))
