"""Borrower records: identity (KYC), consents, credit bureau reports, PII reveals."""

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import kyc
from ..audit import record_event
from ..consents import CREDIT_QUERY_VERSION, DATA_PROCESSING_VERSION
from ..models import Borrower, CivilCapacity, Consent, CreditReport, Language, PiiAccessLog
from ..models.borrowers import id_number_index, mobile_index
from ..validators import kyc_message

# The version of each consent text currently shown to borrowers: the texts and their
# versions live in loans.consents (a new wording is a new version there).
CONSENT_TEXT_VERSIONS = {
    Consent.Kind.DATA_PROCESSING: DATA_PROCESSING_VERSION,
    Consent.Kind.CREDIT_QUERY: CREDIT_QUERY_VERSION,
}
REVEALABLE_FIELDS = ("name", "id_number", "mobile", "address")


def parse_identity(*, id_number: str, mobile: str, today: date | None = None) -> tuple[str, str]:
    """Validate and normalise an ID number and mobile by their form alone (no database).

    Raises ValidationError keyed by field, with messages a person can act on.
    """
    today = today or timezone.localdate()
    errors: dict[str, str] = {}
    try:
        id_number = kyc.parse_resident_id(id_number, today=today).number
    except kyc.KycError as exc:
        errors["id_number"] = kyc_message(exc.code)
    try:
        mobile = kyc.normalize_mobile(mobile)
    except kyc.KycError as exc:
        errors["mobile"] = kyc_message(exc.code)
    if errors:
        raise ValidationError(errors)
    return id_number, mobile


def clean_identity(*, id_number: str, mobile: str, today: date | None = None) -> tuple[str, str]:
    """`parse_identity`, then check neither is already registered, saying plainly which.

    For staff, who are not anonymous. The portal never shows these answers: they would tell
    anyone whether a person borrows from us (see `registration.apply_for_credit_line`).
    """
    id_number, mobile = parse_identity(id_number=id_number, mobile=mobile, today=today)
    errors: dict[str, str] = {}
    if Borrower.objects.filter(id_number_index=id_number_index(id_number)).exists():
        errors["id_number"] = _("A borrower with this ID number is already registered.")
    if Borrower.objects.filter(mobile_index=mobile_index(mobile)).exists():
        errors["mobile"] = _("This mobile number is already registered to another borrower.")
    if errors:
        raise ValidationError(errors)
    return id_number, mobile


@transaction.atomic
def register_borrower(
    *,
    name: str,
    id_number: str,
    mobile: str,
    monthly_income: Decimal,
    monthly_debt_payments: Decimal = Decimal("0"),
    employer: str = "",
    occupation: str = "",
    id_expiry_date: date | None = None,
    civil_capacity: str = CivilCapacity.FULL,
    account_activity_score: int | None = None,
    consents: Iterable[str] = (),
    consent_ip: str | None = None,
    consent_at: datetime | None = None,
    language: str = Language.CHINESE,
) -> Borrower:
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Please enter the name shown on the ID card.")})
    id_number, mobile = clean_identity(id_number=id_number, mobile=mobile)
    if language not in Language.values:
        raise ValidationError({"language": _("Choose 中文 or English.")})
    borrower = Borrower(
        name=name,
        id_number=id_number,
        mobile=mobile,
        language=language,
        monthly_income=monthly_income,
        monthly_debt_payments=monthly_debt_payments,
        employer=employer,
        occupation=occupation,
        id_expiry_date=id_expiry_date,
        civil_capacity=civil_capacity,
        account_activity_score=account_activity_score,
    )
    borrower.derive_from_identity()
    borrower.full_clean()
    borrower.save()
    for kind in consents:
        record_consent(borrower=borrower, kind=kind, ip_address=consent_ip, at=consent_at)
    return borrower


def record_consent(
    *, borrower: Borrower, kind: str, ip_address: str | None = None, at: datetime | None = None
) -> Consent:
    if kind not in CONSENT_TEXT_VERSIONS:
        raise ValidationError(_("Unknown consent: %(kind)s") % {"kind": kind})
    return Consent.objects.create(
        borrower=borrower,
        kind=kind,
        text_version=CONSENT_TEXT_VERSIONS[kind],
        consented_at=at or timezone.now(),
        ip_address=ip_address,
    )


@transaction.atomic
def withdraw_consent(*, borrower: Borrower, kind: str) -> int:
    return borrower.consents.filter(kind=kind, withdrawn_at__isnull=True).update(
        withdrawn_at=timezone.now()
    )


def check_credit_query_consent(*, borrower: Borrower) -> None:
    """Refuse a credit bureau query unless the borrower's consent to it stands (given and not
    withdrawn). Raises ValidationError; forms call it to refuse before anything is saved."""
    if not borrower.consents.filter(
        kind=Consent.Kind.CREDIT_QUERY, withdrawn_at__isnull=True
    ).exists():
        raise ValidationError(
            _("Without the borrower's consent to a credit bureau query, no report can be pulled.")
        )


@transaction.atomic
def record_credit_report(
    *,
    borrower: Borrower,
    current_overdue_accounts: int,
    worst_dpd_24m: int,
    inquiries_3m: int,
    source: str = "sandbox",
    pulled_at: datetime | None = None,
) -> CreditReport:
    """Store a credit bureau summary. Querying the bureau needs the borrower's consent."""
    check_credit_query_consent(borrower=borrower)
    return CreditReport.objects.create(
        borrower=borrower,
        current_overdue_accounts=current_overdue_accounts,
        worst_dpd_24m=worst_dpd_24m,
        inquiries_3m=inquiries_3m,
        source=source,
        pulled_at=pulled_at or timezone.now(),
    )


@transaction.atomic
def reveal_pii(
    *, borrower: Borrower, field: str, actor, reason: str, ip_address: str | None = None
) -> str:
    """Return a full personal-data value and log who saw it, when and why."""
    if field not in REVEALABLE_FIELDS:
        raise ValidationError(_("This field cannot be revealed."))
    if not actor.has_perm("loans.reveal_pii"):
        raise PermissionDenied(_("You do not have permission to see full personal data."))
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why you need to see the full value.")})
    with transaction.atomic():
        PiiAccessLog.objects.create(
            user=actor, borrower=borrower, field=field, reason=reason[:200], ip_address=ip_address
        )
        record_event(
            actor=actor,
            action="pii.reveal",
            target=borrower,
            summary=f"{field}: {reason}"[:300],
            after={"field": field, "reason": reason[:200]},
        )
    return getattr(borrower, field)


# --- The borrower's own choices in the portal ----------------------------------------------


@transaction.atomic
def set_borrower_language(*, borrower: Borrower, language: str) -> Borrower:
    """The language the borrower reads: their portal pages after sign-in and every SMS we
    send them (DESIGN §5). Raises ValidationError for a language we do not offer."""
    if language not in Language.values:
        raise ValidationError({"language": _("Choose 中文 or English.")})
    Borrower.objects.filter(pk=borrower.pk).update(language=language, updated_at=timezone.now())
    borrower.language = language
    return borrower


@transaction.atomic
def set_portal_preferences(
    *, borrower: Borrower, auto_debit: bool, early_reminders: bool
) -> Borrower:
    """自动扣款 (auto-debit) on or off, and whether to get the T−3 and T−1 due reminders.

    Under the borrower's row lock, which removing a card takes too: the card removal rule
    (`cards.remove_bank_card`) reads `auto_debit` and cannot race this. The due-date reminder
    and every message the law requires are sent whatever is chosen here."""
    locked = (
        Borrower.objects.select_for_update()
        .only("pk", "auto_debit", "early_reminders")
        .get(pk=borrower.pk)
    )
    locked.auto_debit, locked.early_reminders = bool(auto_debit), bool(early_reminders)
    locked.save(update_fields=["auto_debit", "early_reminders", "updated_at"])
    borrower.auto_debit, borrower.early_reminders = locked.auto_debit, locked.early_reminders
    return borrower
