"""Maker-checker (四眼原则, four eyes): one mechanism for the whole back office.

A **proposal** (`Approval`: what, why, by whom) is made by a domain service in its own
transaction when its rule says a second person must agree: a refund or a manual posting above
its threshold (`ApprovalThreshold`, editable by a superuser), any write-off, any hardship plan
(waivers included). Another person holding the kind's approve permission approves or rejects
it; the proposer never can. Approving runs the owning app's service (the "executor"), which
keeps its own checks, under the approval's row lock: approving twice, or two approvers at once,
carries it out once. Rejecting needs a note and changes nothing in the ledger.

Each kind is a `Kind` in the registry. The loans kinds are declared below; a higher app
registers its own from its `AppConfig.ready` (collections: hardship_plan). Executors are named
by dotted path and imported when used, so the domain services can import this module.

Approvals are claimed like the review queues' items (loans/queues.py).

Every step records its audit event inside its transaction.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Min, Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import queues
from .audit import record_event
from .models import Approval, ApprovalThreshold

MAX_NOTE = 300


class CarryOutFailed(Exception):
    """Raised by an executor when the proposal can never be carried out (e.g. its transaction
    id was posted meanwhile by another channel): the approval is recorded as failed with this
    message, instead of staying open. A ValidationError instead leaves it waiting, unchanged."""


@dataclass(frozen=True)
class Kind:
    code: str
    label: object
    approve_permission: str
    # fn(*, approval, target, actor, note) -> None; runs inside the approval's transaction.
    carry_out: str
    # fn(*, approval, target, actor, note) -> None, or "" when rejecting touches no domain row.
    on_reject: str = ""
    # Who may see every proposal of this kind (others see the ones they proposed).
    see_all_permission: str = ""
    # A proposer may withdraw (reject) their own proposal.
    withdrawable: bool = True


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> None:
    KINDS[kind.code] = kind


def kind_of(code: str) -> Kind:
    try:
        return KINDS[code]
    except KeyError:
        raise ValidationError(_("Unknown kind of proposal: %(kind)s") % {"kind": code}) from None


register(
    Kind(
        code="refund",
        label=gettext_lazy("Refund"),
        approve_permission="loans.approve_refund",
        carry_out="loans.services.refunds.carry_out_approved_refund",
        on_reject="loans.services.refunds.carry_out_rejected_refund",
        see_all_permission="loans.view_refund",
    )
)
register(
    Kind(
        code="write_off",
        label=gettext_lazy("Write-off"),
        approve_permission="loans.approve_writeoff",
        carry_out="loans.services.write_offs.carry_out_approved_write_off",
        on_reject="loans.services.write_offs.carry_out_rejected_write_off",
        see_all_permission="loans.view_writeoff",
    )
)
register(
    Kind(
        code="manual_posting",
        label=gettext_lazy("Manual posting"),
        approve_permission="loans.approve_manual_posting",
        carry_out="loans.approvals.carry_out_manual_posting",
        see_all_permission="loans.view_loantransaction",
    )
)


# --- Thresholds --------------------------------------------------------------------------------

DEFAULT_THRESHOLDS = {
    ApprovalThreshold.Kind.REFUND: "REFUND_APPROVAL_THRESHOLD",
    ApprovalThreshold.Kind.MANUAL_POSTING: "MANUAL_POSTING_APPROVAL_THRESHOLD",
}


def threshold(kind: str) -> Decimal:
    """Above this amount a proposal of `kind` needs approval: the admin's figure, or the
    setting it was seeded from."""
    amount = ApprovalThreshold.objects.filter(kind=kind).values_list("amount", flat=True).first()
    if amount is None:
        return Decimal(getattr(settings, DEFAULT_THRESHOLDS[kind]))
    return amount


def needs_approval(kind: str, amount: Decimal) -> bool:
    return amount > threshold(kind)


# --- Proposing and deciding --------------------------------------------------------------------


def propose(
    *,
    kind: str,
    actor,
    summary: str,
    reason: str = "",
    amount: Decimal | None = None,
    target=None,
    payload: dict | None = None,
) -> Approval:
    """Record a proposal. Called by a domain service inside its own transaction, right after it
    made (and locked) the row the proposal is about. `actor` None: the borrower asked."""
    kind_of(kind)
    with transaction.atomic():
        approval = Approval(
            kind=kind,
            amount=amount,
            reason=(reason or "").strip(),
            summary=str(summary)[:300],
            proposed_by=actor,
            payload=payload or {},
        )
        if target is not None:
            approval.content_type = ContentType.objects.get_for_model(target)
            approval.object_id = str(target.pk)
            approval.object_repr = str(target)[:200]
        approval.save()
        record_event(
            actor=actor,
            action="approval.propose",
            target=approval,
            summary=approval.summary,
            after={"kind": kind, "amount": amount, "reason": approval.reason[:200]},
        )
    return approval


def open_for(target) -> Approval | None:
    """The proposal waiting about a domain row (a refund, a write-off, a plan), if any."""
    return Approval.objects.filter(
        content_type=ContentType.objects.get_for_model(target),
        object_id=str(target.pk),
        status=Approval.Status.PROPOSED,
    ).first()


def approve(*, approval: Approval, actor, note: str = "") -> Approval:
    """Another person with the kind's permission approves: the executor carries it out in the
    same transaction. Raises PermissionDenied (no permission) or ValidationError (the proposer,
    already decided, claimed by someone else, or the executor refused: nothing changed)."""
    note = (note or "").strip()[:MAX_NOTE]
    failed = None
    with transaction.atomic():
        approval, kind = _locked_for_decision(approval=approval, actor=actor)
        if approval.proposed_by_id is not None and approval.proposed_by_id == actor.pk:
            raise ValidationError(
                _("This was proposed by you: someone other than the proposer must approve it.")
            )
        try:
            with transaction.atomic():  # a failure rolls back the executor's half-work only
                import_string(kind.carry_out)(
                    approval=approval, target=_target(approval), actor=actor, note=note
                )
        except CarryOutFailed as exc:
            failed = str(exc)
        approval.status = Approval.Status.FAILED if failed else Approval.Status.APPROVED
        _decided(approval, actor=actor, note=(failed or note)[:MAX_NOTE])
        record_event(
            actor=actor,
            action="approval.approve",
            target=approval,
            summary=approval.summary,
            before={"status": Approval.Status.PROPOSED},
            after={"status": approval.status, "note": approval.decision_note},
        )
    return approval


def reject(*, approval: Approval, actor, note: str) -> Approval:
    """Refuse a proposal (or, for kinds that allow it, its proposer withdraws it): a note is
    required; the domain row goes back to where it was and the ledger is untouched."""
    note = (note or "").strip()[:MAX_NOTE]
    if not note:
        raise ValidationError({"note": _("Say why the proposal is rejected.")})
    with transaction.atomic():
        approval, kind = _locked_for_decision(approval=approval, actor=actor, withdrawing=True)
        if kind.on_reject:
            import_string(kind.on_reject)(
                approval=approval, target=_target(approval), actor=actor, note=note
            )
        approval.status = Approval.Status.REJECTED
        _decided(approval, actor=actor, note=note)
        record_event(
            actor=actor,
            action="approval.reject",
            target=approval,
            summary=approval.summary,
            before={"status": Approval.Status.PROPOSED},
            after={"status": approval.status, "note": note},
        )
    return approval


def _locked_for_decision(*, approval: Approval, actor, withdrawing: bool = False):
    if actor is None or not getattr(actor, "pk", None):
        raise PermissionDenied(_("A proposal is decided by a named member of staff."))
    approval = Approval.objects.select_for_update().get(pk=approval.pk)
    kind = kind_of(approval.kind)
    own = approval.proposed_by_id is not None and approval.proposed_by_id == actor.pk
    if not actor.has_perm(kind.approve_permission) and not (
        withdrawing and own and kind.withdrawable
    ):
        raise PermissionDenied(_("You may not decide proposals of this kind."))
    if approval.status != Approval.Status.PROPOSED:
        raise ValidationError(
            _("This proposal is already decided: %(status)s.")
            % {"status": approval.get_status_display()}
        )
    if withdrawing and own and not kind.withdrawable:
        raise ValidationError(_("Someone other than the proposer decides this proposal."))
    queues.refuse_if_claimed_by_other(approval, actor)
    return approval, kind


def _decided(approval: Approval, *, actor, note: str) -> None:
    approval.decided_by, approval.decided_at = actor, timezone.now()
    approval.decision_note = note
    approval.claimed_by, approval.claimed_at = None, None
    approval.save()


def _target(approval: Approval):
    if not approval.content_type_id:
        return None
    model = approval.content_type.model_class()
    return model.objects.get(pk=approval.object_id)


def visible_approvals(queryset, user):
    """The proposals `user` may see: every one of the kinds they decide or oversee, and the
    ones they proposed."""
    kinds = [
        k.code
        for k in KINDS.values()
        if user.has_perm(k.approve_permission)
        or (k.see_all_permission and user.has_perm(k.see_all_permission))
    ]
    return queryset.filter(Q(kind__in=kinds) | Q(proposed_by=user.pk))


def awaiting(user) -> list[dict]:
    """For the dashboard: per kind `user` may approve, how many proposals wait, how many of
    them someone else proposed (what the user can decide) and the age of the oldest.
    [{"kind", "label", "count", "mine_to_decide", "oldest_age"}] (oldest_age a timedelta)."""
    codes = [k.code for k in KINDS.values() if user.has_perm(k.approve_permission)]
    rows = (
        Approval.objects.filter(status=Approval.Status.PROPOSED, kind__in=codes)
        .values("kind")
        .annotate(
            count=Count("id"),
            mine_to_decide=Count("id", filter=~Q(proposed_by=user.pk)),
            oldest=Min("proposed_at"),
        )
        .order_by("kind")
    )
    now = timezone.now()
    return [
        {
            "kind": row["kind"],
            "label": KINDS[row["kind"]].label,
            "count": row["count"],
            "mine_to_decide": row["mine_to_decide"],
            "oldest_age": now - row["oldest"],
        }
        for row in rows
    ]


# --- Manual postings ---------------------------------------------------------------------------


def post_manual_repayment(*, loan, amount, channel, external_id, value_date, actor):
    """A payment typed in by staff: posted at once up to the manual-posting threshold; above
    it, proposed for a second person's approval with these exact figures (the same external
    transaction id, so it is posted once whatever happens). Returns ("posted", repayment,
    created) or ("proposed", approval, True). Raises ValidationError."""
    from .models import Loan, Repayment
    from .services import repayments

    external_id = (external_id or "").strip()
    if not needs_approval(ApprovalThreshold.Kind.MANUAL_POSTING, amount):
        repayment, created = repayments.post_repayment(
            loan=loan,
            amount=amount,
            channel=channel,
            external_id=external_id,
            value_date=value_date,
            actor=actor,
        )
        return "posted", repayment, created
    with transaction.atomic():
        loan = Loan.objects.select_for_update().get(pk=loan.pk)
        existing = Repayment.objects.filter(external_id=external_id).first()
        if existing is not None:
            return "posted", *repayments.post_repayment(
                loan=loan,
                amount=amount,
                channel=channel,
                external_id=external_id,
                value_date=value_date,
                actor=actor,
            )
        waiting = Approval.objects.filter(
            kind="manual_posting",
            status=Approval.Status.PROPOSED,
            payload__external_id=external_id,
        ).first()
        if waiting is not None:
            raise ValidationError(
                {
                    "external_id": _(
                        "Transaction %(id)s is already waiting for approval (proposal #%(pk)s)."
                    )
                    % {"id": external_id, "pk": waiting.pk}
                }
            )
        # The checks the posting itself makes, now, so the proposer hears of a mistake at once
        # (the posting makes them again when it runs).
        repayments._check_posting(
            loan=loan,
            amount=amount,
            channel=channel,
            external_id=external_id,
            value_date=value_date,
        )
        if loan.status == Loan.Status.ACTIVE:
            repayments._check_typed_amount(loan=loan, amount=amount, value_date=value_date)
        approval = propose(
            kind="manual_posting",
            actor=actor,
            amount=amount,
            summary=_("Post ¥%(amount)s to %(loan)s (%(channel)s %(id)s, value date %(date)s)")
            % {
                "amount": f"{amount:.2f}",
                "loan": loan,
                "channel": channel,
                "id": external_id,
                "date": value_date.isoformat(),
            },
            target=None,
            payload={
                "loan_id": loan.pk,
                "amount": f"{amount:.2f}",
                "channel": channel,
                "external_id": external_id,
                "value_date": value_date.isoformat(),
            },
        )
    return "proposed", approval, True


def carry_out_manual_posting(*, approval: Approval, target, actor, note: str) -> None:
    """Executor: post the proposed figures, as typed by the proposer."""
    from datetime import date

    from .models import Loan
    from .services import repayments

    figures = approval.payload
    repayment, created = repayments.post_repayment(
        loan=Loan.objects.get(pk=figures["loan_id"]),
        amount=Decimal(figures["amount"]),
        channel=figures["channel"],
        external_id=figures["external_id"],
        value_date=date.fromisoformat(figures["value_date"]),
        actor=approval.proposed_by or actor,
    )
    if not created:
        raise CarryOutFailed(
            _("Transaction %(id)s was already posted on %(date)s (¥%(amount)s); nothing changed.")
            % {
                "id": repayment.external_id,
                "date": repayment.value_date,
                "amount": repayment.amount,
            }
        )


queues.register(
    Approval,
    queues.Queue(
        waiting=Q(status=Approval.Status.PROPOSED),
        may_work=lambda item, actor: actor.has_perm(kind_of(item.kind).approve_permission),
    ),
)
