"""A person's own application for a credit line, from the portal: who are you → your line.

The portal proves the mobile with a texted code first (`login_codes.verify_registration_code`)
and passes only a proven mobile here. The name is checked against the ID number by the
identity-verification backend (`loans.identity`). A refusal never says whether the ID number
already belongs to a borrower: it reads exactly like a failed identity check, and staff see
which it was among the registration attempts.
"""

from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..bureau import BureauReport, get_bureau
from ..identity import IdentityCheck, IdentityVerificationUnavailable, get_identity_verifier
from ..models import Borrower, Consent, CreditAssessment, Language
from ..models.borrowers import RegistrationAttempt, id_number_index, mobile_index
from ..ratelimit import RateLimited, within_limit
from . import borrowers, credit

Outcome = RegistrationAttempt.Outcome
IdentityResult = RegistrationAttempt.IdentityResult


def not_verified_message() -> str:
    """The one answer to every refused identity, whatever the reason."""
    return _(
        "We could not verify your identity with these details. Please check your name and ID "
        "number, or call us on %(phone)s."
    ) % {"phone": settings.SERVICE_PHONE}


def record_registration_attempt(
    *,
    outcome: str,
    mobile: str,
    id_number: str = "",
    check: IdentityCheck | None = None,
    borrower: Borrower | None = None,
    ip_address: str | None = None,
) -> RegistrationAttempt:
    """What staff see of an application: blind indexes only, never the values."""
    return RegistrationAttempt.objects.create(
        outcome=outcome,
        identity_result=(
            IdentityResult.NOT_CHECKED
            if check is None
            else IdentityResult.MATCH
            if check.matched
            else IdentityResult.NO_MATCH
        ),
        identity_source=check.source if check else "",
        identity_reference=check.reference[:80] if check else "",
        mobile_index=mobile_index(mobile),
        id_number_index=id_number_index(id_number) if id_number else "",
        borrower=borrower,
        ip_address=ip_address,
    )


def _check_application_limits(*, mobile: str, ip_address: str | None) -> None:
    # Each application costs an identity check and a bureau query, and repeated ones would
    # turn the identity check into an oracle for which name goes with which ID number.
    if ip_address and not within_limit(
        f"portal-apply:ip:{ip_address}",
        limit=settings.PORTAL_APPLICATIONS_PER_IP_PER_HOUR,
        seconds=3600,
    ):
        raise RateLimited(_("Too many applications from your network. Please try again later."))
    if not within_limit(
        f"portal-apply:mobile:{mobile_index(mobile)}",
        limit=settings.PORTAL_APPLICATIONS_PER_MOBILE_PER_DAY,
        seconds=24 * 3600,
    ):
        raise RateLimited(_("Too many applications for this mobile today. Please try tomorrow."))


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
    language: str = Language.CHINESE,
) -> CreditAssessment:
    """Check the identity, pull the credit report the consent allows, then register the
    borrower with both consents and assess, all in one transaction. The two outside services
    are called first, outside any transaction; a refusal leaves only a registration attempt.

    `mobile` must have been proven by the caller (`login_codes.verify_registration_code`);
    `language` is the one the person applied in, kept as the borrower's.
    """
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Please enter the name shown on the ID card.")})
    id_number, mobile = borrowers.parse_identity(id_number=id_number, mobile=mobile)
    _check_application_limits(mobile=mobile, ip_address=ip_address)
    consented_at = timezone.now()  # the form the person just ticked
    attempt = {"mobile": mobile, "id_number": id_number, "ip_address": ip_address}
    try:
        check = get_identity_verifier().verify(name=name, id_number=id_number)
    except IdentityVerificationUnavailable:
        record_registration_attempt(outcome=Outcome.CHECK_UNAVAILABLE, **attempt)
        raise ValidationError(
            _("We cannot check identities right now. Please try again in a few minutes.")
        ) from None
    # Checked after the identity, whatever it said: both refusals do the same work and answer
    # alike, so neither the words nor the time tell whether the ID number is a customer's.
    holder = Borrower.objects.filter(id_number_index=id_number_index(id_number)).first()
    if holder is not None or not check.matched:
        outcome = Outcome.ID_TAKEN if holder is not None else Outcome.IDENTITY_MISMATCH
        record_registration_attempt(outcome=outcome, check=check, borrower=holder, **attempt)
        raise ValidationError(not_verified_message())
    bureau = get_bureau()
    report = bureau.pull(id_number=id_number)
    pulled_at = timezone.now()
    try:
        return _register_and_assess(
            name=name,
            id_number=id_number,
            mobile=mobile,
            monthly_income=monthly_income,
            monthly_debt_payments=monthly_debt_payments,
            employer=employer,
            occupation=occupation,
            id_expiry_date=id_expiry_date,
            ip_address=ip_address,
            language=language,
            consented_at=consented_at,
            check=check,
            report=report,
            source=bureau.source,
            pulled_at=pulled_at,
        )
    except (ValidationError, IntegrityError) as exc:
        # Someone registered the same ID number or mobile a moment ago: answer as above.
        taken = isinstance(exc, IntegrityError) or {"id_number", "mobile"} & set(
            getattr(exc, "error_dict", {})
        )
        if not taken:
            raise
        holder = Borrower.objects.filter(id_number_index=id_number_index(id_number)).first()
        record_registration_attempt(
            outcome=Outcome.ID_TAKEN, check=check, borrower=holder, **attempt
        )
        raise ValidationError(not_verified_message()) from None


@transaction.atomic
def _register_and_assess(
    *,
    name: str,
    id_number: str,
    mobile: str,
    monthly_income: Decimal,
    monthly_debt_payments: Decimal,
    employer: str,
    occupation: str,
    id_expiry_date: date | None,
    ip_address: str | None,
    language: str,
    consented_at: datetime,
    check: IdentityCheck,
    report: BureauReport,
    source: str,
    pulled_at: datetime,
) -> CreditAssessment:
    borrower = borrowers.register_borrower(
        name=name,
        id_number=id_number,
        mobile=mobile,
        monthly_income=monthly_income,
        monthly_debt_payments=monthly_debt_payments,
        employer=employer,
        occupation=occupation,
        id_expiry_date=id_expiry_date,
        account_activity_score=report.account_activity_score,
        consents=[Consent.Kind.DATA_PROCESSING, Consent.Kind.CREDIT_QUERY],
        consent_ip=ip_address,
        consent_at=consented_at,
        language=language,
    )
    borrowers.record_credit_report(
        borrower=borrower,
        current_overdue_accounts=report.current_overdue_accounts,
        worst_dpd_24m=report.worst_dpd_24m,
        inquiries_3m=report.inquiries_3m,
        source=source,
        pulled_at=pulled_at,
    )
    record_registration_attempt(
        outcome=Outcome.OK,
        mobile=mobile,
        id_number=id_number,
        check=check,
        borrower=borrower,
        ip_address=ip_address,
    )
    return credit.assess_credit(borrower=borrower)


def record_signed_in_instead(*, borrower: Borrower, ip_address: str | None = None) -> None:
    """A borrower proved their mobile on the registration page: they are signed in instead."""
    record_registration_attempt(
        outcome=Outcome.ALREADY_REGISTERED,
        mobile=borrower.mobile,
        borrower=borrower,
        ip_address=ip_address,
    )
