"""Reads: what services and pages need to know about borrowers and credit."""

from datetime import date

from django.db.models import QuerySet

from . import kyc, scoring
from .models import Borrower, Consent, CreditAssessment, CreditReport
from .models.borrowers import id_number_index, mobile_index


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
