"""投诉 / 异议 (complaints and disputes): registered from the portal or by staff, acknowledged
by SMS, and while any is open every collection contact on the borrower's cases is paused,
until it is resolved in writing (DESIGN §6)."""

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loans.audit import record_event
from loans.models import Borrower, Loan
from notifications.services import queue_from_template

from ..models import CollectionCase, Complaint, HomeVisit
from ..models.help import COMPLAINT_TARGET_DAYS
from . import cases as case_services

ACK_TEMPLATE = "complaint_ack"
RESOLVE_PERMISSION = "collections.resolve_complaint"
# Long enough for a full account of what happened; a bound for what one form may store.
MAX_TEXT_LENGTH = 4000
# A portal complaint repeated within this time (same text, still open) is the same one.
PORTAL_REPEAT_WINDOW = timedelta(minutes=30)
# What a borrower contests about the debt itself: a dispute (异议), not a complaint.
DISPUTED = (Complaint.Category.AMOUNT, Complaint.Category.IDENTITY)


def register_complaint(
    *,
    borrower: Borrower,
    kind: str,
    category: str,
    description: str,
    source: str,
    staff=None,
    case: CollectionCase | None = None,
) -> Complaint:
    """Record a complaint or dispute, text the borrower its reference, pause collection on
    all their open cases and call off visits still to come. From the portal `staff` is None
    and `source` is portal; staff registering one name themselves."""
    description = _clean_text(description, field="description")
    errors = {}
    if kind not in Complaint.Kind.values:
        errors["kind"] = _("Choose complaint or dispute.")
    if category not in Complaint.Category.values:
        errors["category"] = _("Choose what the complaint is about.")
    if source not in Complaint.Source.values:
        errors["source"] = _("Say how the complaint was received.")
    elif (source == Complaint.Source.STAFF) != (staff is not None):
        errors["source"] = _(
            "A complaint from the portal has no staff member; one registered by staff names them."
        )
    if case is not None and case.borrower_id != borrower.pk:
        errors["case"] = _("The case belongs to another borrower.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        _lock(borrower)
        complaint = Complaint.objects.create(
            borrower=borrower,
            case=case,
            kind=kind,
            category=category,
            description=description,
            source=source,
            registered_by=staff,
        )
        # Queued inside the transaction (the outbox row commits with the complaint, sending
        # waits for the commit); it confirms what the borrower just did, so it goes at once.
        complaint.acknowledgement = queue_from_template(
            borrower=borrower,
            template_code=ACK_TEMPLATE,
            context={"reference": complaint.reference, "target_days": COMPLAINT_TARGET_DAYS},
            dedupe_key=f"complaint-ack:{complaint.pk}",
            immediate=True,
        )
        complaint.save(update_fields=["acknowledgement"])
        case_services.pause_cases(
            borrower=borrower,
            reason_text=_(
                "%(kind)s %(reference)s received: collection contacts paused until it is"
                " answered in writing."
            )
            % {"kind": complaint.get_kind_display(), "reference": complaint.reference},
        )
        # A visit is a contact too: none goes ahead while a complaint is open.
        HomeVisit.objects.filter(
            case__borrower=borrower,
            status__in=[HomeVisit.Status.REQUESTED, HomeVisit.Status.APPROVED],
            visit_date__gte=timezone.localdate(),
        ).update(status=HomeVisit.Status.CANCELLED)
    return complaint


def submit_portal_complaint(
    *, borrower: Borrower, category: str, description: str, loan: Loan | None = None
) -> tuple[Complaint, bool]:
    """A complaint or dispute the borrower writes in the portal, optionally about one of
    their loans (named in the text, and the loan's case carries it). About an amount or the
    borrower's identity it is a dispute (异议), otherwise a complaint (投诉). The same text
    sent again while it is open and recent (a double tap, a resubmitted form) is the same
    complaint: no second one, no second SMS. Returns (the complaint, whether it is new)."""
    if loan is not None and loan.borrower_id != borrower.pk:
        raise ValidationError({"loan": _("Choose one of your own loans.")})
    description = _clean_text(description, field="description")
    if loan is not None:
        description = f"[借款合同 Loan contract {loan.contract.number}]\n{description}"
    kind = Complaint.Kind.DISPUTE if category in DISPUTED else Complaint.Kind.COMPLAINT
    with transaction.atomic():
        _lock(borrower)  # a second submit waits here, then finds the first
        repeat = (
            Complaint.objects.open()
            .filter(
                borrower=borrower,
                source=Complaint.Source.PORTAL,
                category=category,
                description=description,
                received_at__gte=timezone.now() - PORTAL_REPEAT_WINDOW,
            )
            .first()
        )
        if repeat is not None:
            return repeat, False
        case = None
        if loan is not None:
            cases = CollectionCase.objects.filter(loan=loan)
            case = cases.open().first() or cases.order_by("-opened_on", "-pk").first()
        complaint = register_complaint(
            borrower=borrower,
            kind=kind,
            category=category,
            description=description,
            source=Complaint.Source.PORTAL,
            case=case,
        )
    return complaint, True


def resolve_complaint(*, complaint: Complaint, staff, resolution: str) -> Complaint:
    """Answer a complaint in writing. Collection resumes once none of the borrower's
    complaints is open."""
    if not staff.has_perm(RESOLVE_PERMISSION):
        raise PermissionDenied(_("You do not have permission to resolve complaints."))
    resolution = _clean_text(resolution, field="resolution")
    with transaction.atomic():
        _lock(complaint.borrower)
        complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
        if not complaint.is_open:
            raise ValidationError(_("This complaint has been resolved already."))
        complaint.resolution = resolution
        complaint.resolved_at = timezone.now()
        complaint.resolved_by = staff
        complaint.save(update_fields=["resolution", "resolved_at", "resolved_by"])
        record_event(
            actor=staff,
            action="complaint.resolve",
            target=complaint,
            summary=resolution[:300],
            after={"resolved_at": complaint.resolved_at},
        )
        if not Complaint.objects.open().filter(borrower_id=complaint.borrower_id).exists():
            case_services.resume_cases(borrower=complaint.borrower)
    return complaint


def _clean_text(value: str, *, field: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: _("This must be written out; it cannot be empty.")})
    if "\x00" in value or len(value) > MAX_TEXT_LENGTH:
        raise ValidationError(
            {field: _("Write at most %(n)d characters of plain text.") % {"n": MAX_TEXT_LENGTH}}
        )
    return value


def _lock(borrower: Borrower) -> None:
    """One borrower's complaints are opened and closed one at a time, so "no other complaint
    is open" is true when collection resumes."""
    rows = Borrower.objects.select_for_update(no_key=True).filter(pk=borrower.pk)
    list(rows.values_list("pk", flat=True))
