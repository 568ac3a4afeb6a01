"""Reads: what services and pages need to know about borrowers and credit."""

from datetime import date
from decimal import Decimal

from django.db.models import QuerySet

from . import kyc, penalty, schedules, scoring
from .models import Borrower, Consent, CreditAssessment, CreditReport
from .models.borrowers import id_number_index, mobile_index

OPEN_STATUSES = ["pending", "due", "overdue"]


def active_consent_kinds(*, borrower: Borrower) -> set[str]:
    return set(borrower.consents.filter(withdrawn_at__isnull=True).values_list("kind", flat=True))


def latest_credit_report(*, borrower: Borrower) -> CreditReport | None:
    return borrower.credit_reports.order_by("-pulled_at", "-id").first()


def latest_assessment(*, borrower: Borrower) -> CreditAssessment | None:
    return borrower.assessments.order_by("-created_at", "-id").first()


def applicant_facts(*, borrower: Borrower, as_of: date) -> scoring.ApplicantFacts:
    """Everything the eligibility rules and scorecard read, as one immutable value."""
    report = latest_credit_report(borrower=borrower)
    consents = active_consent_kinds(borrower=borrower)
    return scoring.ApplicantFacts(
        as_of=as_of,
        birth_date=borrower.birth_date,
        mainland_resident=borrower.mainland_resident,
        identity_complete=bool(borrower.name and borrower.id_number and borrower.mobile),
        id_expiry_date=borrower.id_expiry_date,
        civil_capacity=borrower.civil_capacity,
        monthly_income=borrower.monthly_income,
        monthly_debt_payments=borrower.monthly_debt_payments,
        data_consent=Consent.Kind.DATA_PROCESSING in consents,
        credit_query_consent=Consent.Kind.CREDIT_QUERY in consents,
        account_activity_score=borrower.account_activity_score,
        credit_report=scoring.CreditReportFacts(
            current_overdue_accounts=report.current_overdue_accounts,
            worst_dpd_24m=report.worst_dpd_24m,
            inquiries_3m=report.inquiries_3m,
        )
        if report
        else None,
    )


def search_borrowers(*, queryset: QuerySet[Borrower], term: str) -> QuerySet[Borrower]:
    """Exact search by ID number or mobile through the blind index; nothing is decrypted."""
    term = term.strip()
    if not term:
        return queryset
    indexes = {id_number_index(term)}
    try:
        indexes.add(mobile_index(kyc.normalize_mobile(term)))
    except kyc.KycError:
        pass
    matches = queryset.filter(id_number_index__in=indexes) | queryset.filter(
        mobile_index__in=indexes
    )
    return matches


def _projected_penalty(loan, inst, on: date):
    days = penalty.accrual_days(
        due_date=inst.due_date,
        accrued_through=inst.penalty_accrued_through,
        through=on,
        grace_days=loan.grace_days,
    )
    return penalty.penalty_for_days(
        overdue_principal=inst.principal_outstanding,
        daily_rate=loan.daily_rate,
        multiplier=loan.penalty_multiplier,
        days=days,
    )


def amount_due(*, loan, on: date) -> Decimal:
    """What must be paid today to be up to date: every instalment due by today, with the
    penalty it would carry if paid today."""
    total = Decimal("0.00")
    for inst in loan.instalments.filter(due_date__lte=on, status__in=OPEN_STATUSES):
        total += inst.total_outstanding + _projected_penalty(loan, inst, on)
    return total


def payoff_amount(*, loan, on: date) -> Decimal:
    """What settles the loan today (DESIGN §4): everything due, plus interest accrued since
    the last due date or prepayment, plus the remaining principal."""
    if loan.status != "active":
        return Decimal("0.00")
    instalments = list(loan.instalments.order_by("number"))
    due = amount_due(loan=loan, on=on)
    future = [i for i in instalments if i.due_date > on and i.status in OPEN_STATUSES]
    if not future:
        return due
    previous_due = max((i.due_date for i in instalments if i.due_date <= on), default=None)
    start = max(d for d in (loan.drawdown_date, previous_due, loan.last_prepayment_date) if d)
    outstanding = sum((i.principal_outstanding for i in future), Decimal("0.00"))
    paid_in_segment = future[0].interest_paid - (
        loan.prepayment_interest_base if start == loan.last_prepayment_date else 0
    )
    accrued = schedules.accrued_interest(
        principal=outstanding, daily_rate=loan.daily_rate, days=(on - start).days
    )
    return due + max(accrued - paid_in_segment, Decimal("0.00")) + outstanding
