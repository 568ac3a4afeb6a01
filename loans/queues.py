"""The review queues' claims: who works a queue item (an approval, a credit assessment waiting
for review, a loan application in manual review). A claim is taken by a conditional UPDATE ...
WHERE claimed_by IS NULL, so two people cannot both get it; released by its holder, or by
someone with `loans.release_claim`; cleared when the item is decided. Each step records its
audit event inside its transaction."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .audit import record_event
from .models import CreditAssessment, LoanApplication

RELEASE_ANY = "loans.release_claim"


@dataclass(frozen=True)
class Queue:
    waiting: Q  # the items still in the queue
    may_work: Callable  # (item, actor) -> whether actor works this queue


def _holds(permission: str) -> Callable:
    return lambda item, actor: actor.has_perm(permission)


QUEUES = {
    CreditAssessment: Queue(
        waiting=Q(review_requested_at__isnull=False, overridden_at__isnull=True),
        may_work=_holds("loans.override_creditassessment"),
    ),
    LoanApplication: Queue(
        waiting=Q(status=LoanApplication.Status.PENDING_REVIEW),
        may_work=_holds("loans.decide_loanapplication"),
    ),
}


def register(model, queue: Queue) -> None:
    """Another queue of claimable items (loans.approvals adds the approvals)."""
    QUEUES[model] = queue


def _queue(item) -> Queue:
    return QUEUES[type(item)]


def _may_work(item, actor) -> bool:
    return _queue(item).may_work(item, actor)


def claimed_text(item) -> str:
    """ "claimed by X since HH:MM" (Beijing time), or "" when nobody holds it."""
    if not item.claimed_by_id:
        return ""
    return _("claimed by %(user)s since %(time)s") % {
        "user": item.claimed_by.get_username(),
        "time": timezone.localtime(item.claimed_at).strftime("%H:%M"),
    }


def claim(*, item, actor):
    """Take a queue item to work on it. Refused while someone else holds it or once it has
    left the queue; claiming one's own claim again changes nothing."""
    if actor is None or not _may_work(item, actor):
        raise PermissionDenied(_("You do not work this queue."))
    model = type(item)
    with transaction.atomic():
        taken = model.objects.filter(
            _queue(item).waiting, pk=item.pk, claimed_by__isnull=True
        ).update(claimed_by=actor, claimed_at=timezone.now())
        fresh = model.objects.select_related("claimed_by").get(pk=item.pk)
        if not taken:
            if fresh.claimed_by_id == actor.pk:
                return fresh
            if fresh.claimed_by_id:
                raise ValidationError(_("Already %(claimed)s.") % {"claimed": claimed_text(fresh)})
            raise ValidationError(_("This item is no longer waiting in the queue."))
        record_event(actor=actor, action="queue.claim", target=fresh, summary=str(fresh))
    return fresh


def release(*, item, actor):
    """Give a claimed item back to the queue: its holder, or someone allowed to release
    anyone's claim."""
    if actor is None:
        raise PermissionDenied(_("You do not work this queue."))
    model = type(item)
    with transaction.atomic():
        held = model.objects.select_for_update().get(pk=item.pk)
        if not held.claimed_by_id:
            raise ValidationError(_("Nobody has claimed this item."))
        if held.claimed_by_id != actor.pk and not actor.has_perm(RELEASE_ANY):
            raise PermissionDenied(_("Only its holder or a supervisor releases a claim."))
        before = {"claimed_by": held.claimed_by_id}
        model.objects.filter(pk=held.pk).update(claimed_by=None, claimed_at=None)
        held.claimed_by, held.claimed_at = None, None
        record_event(
            actor=actor, action="queue.release", target=held, summary=str(held), before=before
        )
    return held


def refuse_if_claimed_by_other(item, actor) -> None:
    if item.claimed_by_id and item.claimed_by_id != actor.pk:
        fresh = type(item).objects.select_related("claimed_by").get(pk=item.pk)
        raise ValidationError(
            _("This item is %(claimed)s: they, or a supervisor, must release it first.")
            % {"claimed": claimed_text(fresh)}
        )


def decide_queue_item(*, item, actor, decide):
    """Run `decide()` (a domain service deciding `item`) as the item's worker: refused while
    someone else holds its claim; the claim is cleared in the same transaction."""
    model = type(item)
    with transaction.atomic():
        held = model.objects.select_for_update().get(pk=item.pk)
        refuse_if_claimed_by_other(held, actor)
        result = decide()
        model.objects.filter(pk=item.pk).update(claimed_by=None, claimed_at=None)
    return result


def age_text(since, *, now=None) -> str:
    """How long an item has waited: "3 d 4 h", "2 h 5 min", "7 min"."""
    if since is None:
        return "—"
    age = max((now or timezone.now()) - since, timedelta(0))
    days, hours, minutes = age.days, age.seconds // 3600, age.seconds % 3600 // 60
    if days:
        return _("%(d)d d %(h)d h") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
    return _("%(m)d min") % {"m": minutes}
