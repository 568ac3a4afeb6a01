"""A borrower's own application for a credit line, from the portal: who are you → your line."""

from datetime import date
from decimal import Decimal

from django.db import transaction

from ..bureau import get_bureau
from ..models import Consent, CreditAssessment
from . import borrowers, credit


@transaction.atomic
def apply_for_credit_line(
    *,
    name: str,
    id_number: str,
    mobile: str,
    monthly_income: Decimal,
    monthly_debt_payments: Decimal,
    employer: str = "",
    occupation: str = "",
    id_expiry_date: date | None = None,
    ip_address: str | None = None,
) -> CreditAssessment:
    """Register the borrower with both consents, pull the credit report the consent allows,
    and assess. All or nothing: a refusal at any step leaves no trace."""
    borrower = borrowers.register_borrower(
        name=name,
        id_number=id_number,
        mobile=mobile,
        monthly_income=monthly_income,
        monthly_debt_payments=monthly_debt_payments,
        employer=employer,
        occupation=occupation,
        id_expiry_date=id_expiry_date,
        consents=[Consent.Kind.DATA_PROCESSING, Consent.Kind.CREDIT_QUERY],
        consent_ip=ip_address,
    )
    bureau = get_bureau()
    report = bureau.pull(id_number=borrower.id_number)
    borrower.account_activity_score = report.account_activity_score
    borrower.save(update_fields=["account_activity_score", "updated_at"])
    borrowers.record_credit_report(
        borrower=borrower,
        current_overdue_accounts=report.current_overdue_accounts,
        worst_dpd_24m=report.worst_dpd_24m,
        inquiries_3m=report.inquiries_3m,
        source=bureau.source,
    )
    return credit.assess_credit(borrower=borrower)
