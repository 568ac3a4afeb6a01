"""借款 (lending): applying, approving, contracts, signing, disbursement and cancellation.

Eligibility, the credit line (active, unexpired, not frozen), its available amount and the
borrower's standing (no loan more than its grace days overdue) are checked when a draw is
applied for and again when it is signed and when it is disbursed (DESIGN §4). A draw that fails
them at signing or disbursement is cancelled, with the reasons as codes on the application,
its reservation released; and money is paid out only to a card the borrower has verified.
"""

import hashlib
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Min
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .. import pricing, schedules, scoring, selectors, signals
from ..audit import record_event
from ..fields import in_fen
from ..models import (
    BankCard,
    Contract,
    CreditLine,
    Decision,
    Instalment,
    Loan,
    LoanApplication,
    LoanProduct,
    LoanTransaction,
)
from ..models.lending import CANCEL_REASON_MESSAGES, CancelReason

MAX_OPEN_LOANS = 20
CONTRACT_TEMPLATE = "contracts/loan_contract.html"
CONTRACT_TEMPLATE_VERSION = "2026.1"


def draw_daily_rate(*, line: CreditLine, product: LoanProduct) -> Decimal:
    """The rate a draw is priced at: the borrower's line rate, never above the product's cap."""
    return min(line.daily_rate, product.max_daily_rate)


class DrawRefused(ValidationError):
    """The draw failed a lending check at signing or disbursement and has been cancelled (the
    cancellation is committed; only the signature or payout did not happen). `reasons` are the
    CancelReason codes, also stored on the application."""

    def __init__(self, *, application: LoanApplication, reasons: list[str]):
        self.application, self.reasons = application, list(reasons)
        super().__init__(application.cancel_reason_messages, code="draw_refused")


class NoPayoutCard(ValidationError):
    """The borrower has no verified default card to pay the money to. Nothing was changed:
    once they bind one, the same draw can go ahead."""

    def __init__(self):
        super().__init__(
            _("Bind and verify a bank card first: the money is paid to it."), code="no_card"
        )


def quote(*, amount: Decimal, term: int, daily_rate: Decimal, method: str, drawdown: date):
    return schedules.build_schedule(
        principal=amount,
        term=term,
        daily_rate=daily_rate,
        method=schedules.RepaymentMethod(method),
        drawdown=drawdown,
    )


@transaction.atomic
def apply_for_loan(
    *,
    borrower,
    product: LoanProduct,
    amount: Decimal,
    term: int,
    method: str,
    as_of: date | None = None,
) -> LoanApplication:
    """Check the draw, then decide automatically where the rules allow; larger draws wait for a
    person. A draw that cannot be made is refused with the reason and nothing is written."""
    as_of = as_of or timezone.localdate()
    line = CreditLine.objects.select_for_update().filter(borrower=borrower).first()
    errors = _draw_errors(
        borrower=borrower,
        product=product,
        line=line,
        amount=amount,
        term=term,
        method=method,
        as_of=as_of,
    )
    if errors:
        raise ValidationError(errors)
    daily_rate = draw_daily_rate(line=line, product=product)
    application = LoanApplication(
        borrower=borrower,
        product=product,
        credit_line=line,
        amount=amount,
        term=term,
        method=method,
        daily_rate=daily_rate,
        apr_percent=pricing.loan_apr(
            amount=amount,
            term=term,
            daily_rate=daily_rate,
            method=method,
            fee_percent=product.upfront_fee_percent,
        ),
    )
    facts = selectors.applicant_facts(borrower=borrower, as_of=as_of)
    still_eligible = scoring.assess(facts)
    if not still_eligible.eligible:
        application.status = LoanApplication.Status.REJECTED
        application.review_reason = "not_eligible"
        application.reason_codes = list(still_eligible.reasons)
        application.decided_at = timezone.now()
        application.save()
    elif amount > product.auto_approve_max_amount:
        application.status = LoanApplication.Status.PENDING_REVIEW
        application.review_reason = "large_amount"
        application.save()
        _reserve(line, amount)
    else:
        application.status = LoanApplication.Status.APPROVED
        application.decided_at = timezone.now()
        application.save()
        _reserve(line, amount)
        _create_contract(application, as_of=as_of)
    _notify_decided(application)
    return application


@transaction.atomic
def approve_application(*, application: LoanApplication, actor, note: str = "") -> LoanApplication:
    application = _locked(application)
    if application.status != LoanApplication.Status.PENDING_REVIEW:
        raise ValidationError(_("Only an application waiting for review can be approved."))
    application.status = LoanApplication.Status.APPROVED
    application.decided_by, application.decided_at = actor, timezone.now()
    application.decision_note = note.strip()[:300]
    application.save()
    _record_decision(application, actor=actor, note=note)
    _create_contract(application, as_of=timezone.localdate())
    _notify_decided(application)
    return application


@transaction.atomic
def reject_application(*, application: LoanApplication, actor, note: str) -> LoanApplication:
    application = _locked(application)
    if not note.strip():
        raise ValidationError({"note": _("Say why the application is rejected.")})
    if application.status not in LoanApplication.OPEN_STATUSES:
        raise ValidationError(_("Only an open application can be rejected."))
    if _is_signed(application):
        raise ValidationError(_("The borrower has signed: cancel the loan instead."))
    _close(application, LoanApplication.Status.REJECTED, actor=actor, note=note)
    _record_decision(application, actor=actor, note=note)
    _notify_decided(application)
    return application


@transaction.atomic
def cancel_application(
    *, application: LoanApplication, actor=None, note: str = ""
) -> LoanApplication:
    """Before disbursement the borrower (or staff for them) can walk away: the reserved amount
    returns to the line and the contract is void."""
    application = _locked(application)
    if application.status not in LoanApplication.OPEN_STATUSES:
        raise ValidationError(_("Only an application not yet disbursed can be cancelled."))
    _close(
        application,
        LoanApplication.Status.CANCELLED,
        actor=actor,
        note=note,
        reasons=[CancelReason.BORROWER_REQUEST],
    )
    return application


def sign_contract(
    *, contract: Contract, ip_address: str | None, user_agent: str, as_of: date | None = None
) -> Contract:
    """签署: the borrower signs, if the draw still passes every lending check. One that no
    longer does is cancelled instead and DrawRefused raised. The portal signs and pays out in
    one step (`sign_and_disburse`); this is signing alone."""
    as_of = as_of or timezone.localdate()
    with transaction.atomic():
        application, contract, line = _lock_for_signing(contract)
        reasons = draw_refusals(application=application, line=line, as_of=as_of)
        if reasons:
            _cancel_refused(application, reasons)
        else:
            _sign(contract, ip_address=ip_address, user_agent=user_agent)
    if reasons:
        raise DrawRefused(application=application, reasons=reasons)
    return contract


def disburse_loan(*, application: LoanApplication, actor=None, on: date | None = None) -> Loan:
    """放款 (disbursement) of a signed draw: the loan and its schedule come into being, the line
    is drawn and the money goes to the borrower's verified card. A draw that no longer passes
    the lending checks is cancelled instead (DrawRefused); without a verified card nothing
    happens (NoPayoutCard)."""
    on = on or timezone.localdate()
    with transaction.atomic():
        application = _locked(application)
        contract = Contract.objects.select_for_update().filter(application=application).first()
        if application.status != LoanApplication.Status.APPROVED:
            raise ValidationError(_("Only an approved application can be disbursed."))
        if contract is None or contract.status != Contract.Status.SIGNED:
            raise ValidationError(_("The contract must be signed before disbursement."))
        line = CreditLine.objects.select_for_update().get(pk=application.credit_line_id)
        reasons = draw_refusals(application=application, line=line, as_of=on)
        if reasons:
            _cancel_refused(application, reasons)
        else:
            loan = _pay_out(
                application, contract=contract, card=_payout_card(application.borrower), on=on
            )
    if reasons:
        raise DrawRefused(application=application, reasons=reasons)
    return loan


def sign_and_disburse(
    *, contract: Contract, ip_address: str | None, user_agent: str, on: date | None = None
) -> Loan:
    """签署并放款: the borrower's "sign and borrow". One transaction, so the checks made at
    signing are the ones the payout relies on: nothing can change in between, and a borrower
    is never left with a signed contract and no money.

    A draw failing a lending check is cancelled (DrawRefused). Without a verified card to pay
    to nothing is signed (NoPayoutCard): the borrower binds one and signs then.
    """
    on = on or timezone.localdate()
    with transaction.atomic():
        application, contract, line = _lock_for_signing(contract)
        reasons = draw_refusals(application=application, line=line, as_of=on)
        if reasons:
            _cancel_refused(application, reasons)
        else:
            card = _payout_card(application.borrower)
            _sign(contract, ip_address=ip_address, user_agent=user_agent)
            loan = _pay_out(application, contract=contract, card=card, on=on)
    if reasons:
        raise DrawRefused(application=application, reasons=reasons)
    return loan


def draw_refusals(
    *, application: LoanApplication, line: CreditLine | None, as_of: date
) -> list[str]:
    """The CancelReason codes of every lending check an approved draw fails on `as_of`; empty
    when it may go ahead. Its own reservation counts as available to it."""
    reasons: list[str] = []
    if line is None or line.status == CreditLine.Status.CLOSED:
        reasons.append(CancelReason.LINE_CLOSED)
    elif line.status == CreditLine.Status.FROZEN:
        reasons.append(CancelReason.LINE_FROZEN)
    if line is not None and line.expires_on < as_of:
        reasons.append(CancelReason.LINE_EXPIRED)
    if line is not None:
        reserved_by_others = line.reserved_amount - application.amount
        if line.limit - line.outstanding_principal - reserved_by_others < application.amount:
            reasons.append(CancelReason.AMOUNT_UNAVAILABLE)
    if borrower_overdue(borrower=application.borrower, as_of=as_of):
        reasons.append(CancelReason.BORROWER_OVERDUE)
    if not _still_eligible(borrower=application.borrower, as_of=as_of):
        reasons.append(CancelReason.NOT_ELIGIBLE)
    return [str(r) for r in reasons]


def borrower_overdue(*, borrower, as_of: date) -> bool:
    """Whether a loan of the borrower is more than its grace days overdue on `as_of`, or was
    written off. Read from the unpaid instalments rather than the end of day's days past due,
    so a draw signed before tonight's run is judged on today."""
    if Loan.objects.filter(borrower=borrower, status=Loan.Status.WRITTEN_OFF).exists():
        return True
    oldest_unpaid = (
        Instalment.objects.open()
        .filter(loan__borrower=borrower, loan__status=Loan.Status.ACTIVE, due_date__lt=as_of)
        .order_by()
        .values("loan_id", "loan__grace_days")
        .annotate(oldest=Min("due_date"))
    )
    return any((as_of - row["oldest"]).days > row["loan__grace_days"] for row in oldest_unpaid)


def _still_eligible(*, borrower, as_of: date) -> bool:
    """The borrower's current assessment still approves them, and the rules, run on what we
    know today (income, consents, credit report, ID validity), still pass."""
    latest = selectors.latest_assessment(borrower=borrower)
    if latest is None or latest.final_decision != Decision.APPROVED:
        return False
    return scoring.assess(selectors.applicant_facts(borrower=borrower, as_of=as_of)).eligible


def _lock_for_signing(contract: Contract) -> tuple[LoanApplication, Contract, CreditLine]:
    # Application first, then contract and line: the order cancel and disburse take them in.
    application = LoanApplication.objects.select_for_update().get(pk=contract.application_id)
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    if (
        contract.status != Contract.Status.AWAITING_SIGNATURE
        or application.status != LoanApplication.Status.APPROVED
    ):
        raise ValidationError(_("This contract cannot be signed any more."))
    if hashlib.sha256(contract.body.encode()).hexdigest() != contract.body_sha256:
        raise ValidationError(_("The contract text does not match its fingerprint."))
    line = CreditLine.objects.select_for_update().get(pk=application.credit_line_id)
    return application, contract, line


def _sign(contract: Contract, *, ip_address: str | None, user_agent: str) -> None:
    contract.status = Contract.Status.SIGNED
    contract.signed_at = timezone.now()
    contract.signed_ip = ip_address
    contract.signed_user_agent = (user_agent or "")[:400]
    contract.save()
    transaction.on_commit(lambda: signals.contract_signed.send(sender=Contract, contract=contract))


def _payout_card(borrower) -> BankCard:
    card = BankCard.objects.usable().filter(borrower=borrower, is_default=True).first()
    if card is None:
        raise NoPayoutCard()
    return card


def _pay_out(application: LoanApplication, *, contract: Contract, card: BankCard, on: date) -> Loan:
    product = application.product
    schedule = quote(
        amount=application.amount,
        term=application.term,
        daily_rate=application.daily_rate,
        method=application.method,
        drawdown=on,
    )
    loan = Loan.objects.create(
        borrower=application.borrower,
        application=application,
        contract=contract,
        product=product,
        credit_line=application.credit_line,
        principal=application.amount,
        term=application.term,
        method=application.method,
        daily_rate=application.daily_rate,
        apr_percent=application.apr_percent,
        penalty_multiplier=product.penalty_multiplier,
        grace_days=product.grace_days,
        bill_days=product.bill_days,
        drawdown_date=on,
        outstanding_principal=application.amount,
    )
    Instalment.objects.bulk_create(
        Instalment(
            loan=loan,
            number=i.number,
            due_date=i.due_date,
            principal_due=i.principal,
            interest_due=i.interest,
        )
        for i in schedule.instalments
    )
    LoanTransaction.objects.create(
        loan=loan,
        kind=LoanTransaction.Kind.DISBURSEMENT,
        value_date=on,
        principal=application.amount,
        fee=product.upfront_fee(application.amount),
        bank_card=card,
    )
    CreditLine.objects.filter(pk=application.credit_line_id).update(
        reserved_amount=in_fen(F("reserved_amount") - application.amount),
        outstanding_principal=in_fen(F("outstanding_principal") + application.amount),
    )
    application.status = LoanApplication.Status.DISBURSED
    application.save(update_fields=["status"])
    transaction.on_commit(
        lambda: signals.loan_disbursed.send(sender=Loan, loan=loan, bank_card=card)
    )
    return loan


def render_contract(application: LoanApplication, *, as_of: date) -> str:
    """The exact text the borrower signs. Always in Chinese with English beside it, whatever
    language the page that triggers it uses, so the same loan always gets the same text."""
    schedule = quote(
        amount=application.amount,
        term=application.term,
        daily_rate=application.daily_rate,
        method=application.method,
        drawdown=as_of,
    )
    product = application.product
    context = {
        "application": application,
        "borrower": application.borrower,
        "number": contract_number(application, as_of),
        "as_of": as_of,
        "schedule": schedule,
        "daily_rate_percent": (application.daily_rate * 100).quantize(Decimal("0.0001")),
        "penalty_daily_percent": (
            application.daily_rate * product.penalty_multiplier * 100
        ).quantize(Decimal("0.0001")),
        "product": product,
        "fee": product.upfront_fee(application.amount),
        "lender": settings.LENDER_NAME,
        "service_phone": settings.SERVICE_PHONE,
        "template_version": CONTRACT_TEMPLATE_VERSION,
    }
    with translation.override("zh-hans"):
        return render_to_string(CONTRACT_TEMPLATE, context)


def contract_number(application: LoanApplication, as_of: date) -> str:
    return f"WL{as_of:%Y%m%d}{application.pk:08d}"


def _create_contract(application: LoanApplication, *, as_of: date) -> Contract:
    body = render_contract(application, as_of=as_of)
    return Contract.objects.create(
        application=application,
        number=contract_number(application, as_of),
        template_version=CONTRACT_TEMPLATE_VERSION,
        body=body,
        body_sha256=hashlib.sha256(body.encode()).hexdigest(),
    )


def _draw_errors(*, borrower, product, line, amount, term, method, as_of) -> dict[str, str]:
    errors: dict[str, str] = {}
    if line is None or line.status != CreditLine.Status.ACTIVE:
        errors["__all__"] = _("There is no active credit line to draw on.")
        return errors
    if line.expires_on < as_of:
        errors["__all__"] = _("The credit line expired on %(date)s.") % {"date": line.expires_on}
        return errors
    if not product.is_active:
        errors["product"] = _("This product is not offered any more.")
    if method not in product.methods:
        errors["method"] = _("This repayment method is not offered for this product.")
    if term not in product.terms:
        errors["term"] = _("Choose one of the terms offered: %(terms)s months.") % {
            "terms": ", ".join(str(t) for t in product.terms)
        }
    if amount < product.min_amount or amount > product.max_amount or amount % product.amount_step:
        errors["amount"] = _("Borrow between ¥%(min)s and ¥%(max)s, in multiples of ¥%(step)s.") % {
            "min": product.min_amount,
            "max": product.max_amount,
            "step": product.amount_step,
        }
    elif amount > line.available_amount:
        errors["amount"] = _("You can borrow at most ¥%(available)s now.") % {
            "available": line.available_amount
        }
    if borrower_overdue(borrower=borrower, as_of=as_of):
        errors["__all__"] = str(CANCEL_REASON_MESSAGES[CancelReason.BORROWER_OVERDUE])
    open_loans = Loan.objects.filter(borrower=borrower, status=Loan.Status.ACTIVE).count()
    open_apps = LoanApplication.objects.filter(
        borrower=borrower, status__in=LoanApplication.OPEN_STATUSES
    ).count()
    if open_loans + open_apps >= MAX_OPEN_LOANS:
        errors["__all__"] = _("At most %(n)d loans can be open at once.") % {"n": MAX_OPEN_LOANS}
    return errors


def check_draw(*, borrower, product: LoanProduct, amount: Decimal, term: int, method: str) -> None:
    """Refuse, with reasons, a draw that `apply_for_loan` would refuse; writes nothing."""
    line = CreditLine.objects.filter(borrower=borrower).first()
    errors = _draw_errors(
        borrower=borrower,
        product=product,
        line=line,
        amount=amount,
        term=term,
        method=method,
        as_of=timezone.localdate(),
    )
    if errors:
        raise ValidationError(errors)


def _reserve(line: CreditLine, amount: Decimal) -> None:
    CreditLine.objects.filter(pk=line.pk).update(
        reserved_amount=in_fen(F("reserved_amount") + amount)
    )


def _record_decision(application: LoanApplication, *, actor, note: str) -> None:
    record_event(
        actor=actor,
        action="application.decide",
        target=application,
        summary=f"{application.get_status_display()}: {note.strip()}"[:300],
        before={"status": LoanApplication.Status.PENDING_REVIEW},
        after={"status": application.status},
    )


def _locked(application: LoanApplication) -> LoanApplication:
    return LoanApplication.objects.select_for_update().get(pk=application.pk)


def _is_signed(application: LoanApplication) -> bool:
    return Contract.objects.filter(application=application, status=Contract.Status.SIGNED).exists()


def _close(
    application: LoanApplication, status: str, *, actor, note: str, reasons: list[str] = ()
) -> None:
    """Reject or cancel: release the reserved amount and void any contract. A cancellation
    records why (CancelReason codes) and is announced."""
    CreditLine.objects.filter(pk=application.credit_line_id).update(
        reserved_amount=in_fen(F("reserved_amount") - application.amount)
    )
    Contract.objects.filter(application=application).update(status=Contract.Status.VOID)
    application.status = status
    application.decided_by = actor
    application.decided_at = timezone.now()
    application.decision_note = (note or "").strip()[:300]
    application.cancel_reasons = [str(r) for r in reasons]
    application.save()
    if status == LoanApplication.Status.CANCELLED:
        codes = list(application.cancel_reasons)
        transaction.on_commit(
            lambda: signals.application_cancelled.send(
                sender=LoanApplication, application=application, reasons=codes
            )
        )


def _cancel_refused(application: LoanApplication, reasons: list[str]) -> None:
    """A draw that failed the lending checks at signing or disbursement: cancelled, with
    the reasons for the borrower. No one decided it, so no actor."""
    _close(application, LoanApplication.Status.CANCELLED, actor=None, note="", reasons=reasons)


def _notify_decided(application: LoanApplication) -> None:
    transaction.on_commit(
        lambda: signals.application_decided.send(sender=LoanApplication, application=application)
    )
