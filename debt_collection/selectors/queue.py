"""Who sees which collection cases, and a collector's work queue: their open cases in the
order to work them. One query for a page of the queue, whatever the number of cases."""

from datetime import date

from django.db.models import Case, IntegerField, OuterRef, QuerySet, Subquery, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..models import CaseStatus, CollectionCase, PromiseToPay

WORK_CASE = "collections.work_case"
SUPERVISE_CASE = "collections.supervise_case"
VIEW_CASE = "collections.view_collectioncase"


def sees_every_case(user) -> bool:
    """Supervisors see every case; so does read-only oversight (an auditor: may view cases
    but works none). Anyone who works cases without supervising sees only their own."""
    if user.has_perm(SUPERVISE_CASE):
        return True
    return user.has_perm(VIEW_CASE) and not user.has_perm(WORK_CASE)


def visible_cases(*, user) -> QuerySet[CollectionCase]:
    cases = CollectionCase.objects.all()
    return cases if sees_every_case(user) else cases.for_collector(user)


class QueueRank:
    """What needs doing first. Within a rank, the highest overdue amount first."""

    BROKEN_PROMISE = 0
    PROMISE_DUE = 1
    NEW = 2
    WORK = 3
    PAUSED = 4  # a complaint or an agreed hardship plan: no contact until it ends

    LABELS = {
        BROKEN_PROMISE: _("Broken promise"),
        PROMISE_DUE: _("Promise due"),
        NEW: _("New case"),
        WORK: _("Work the case"),
        PAUSED: _("Contact paused"),
    }


PAUSED_STATUSES = [CaseStatus.PAUSED, CaseStatus.HARDSHIP_PLAN]


def ranked_cases(cases: QuerySet[CollectionCase], *, today: date | None = None):
    """`cases` annotated with `queue_rank` (QueueRank) and `promise_due_on` (the date of the
    case's earliest open promise), ordered the way a collector works them."""
    today = today or timezone.localdate()
    # Uncorrelated, so the database hashes it once instead of probing per case.
    due = PromiseToPay.objects.filter(
        status=PromiseToPay.Status.OPEN, promised_on__lte=today
    ).values("case_id")
    earliest_open_promise = (
        PromiseToPay.objects.filter(case=OuterRef("pk"), status=PromiseToPay.Status.OPEN)
        .order_by("promised_on")
        .values("promised_on")[:1]
    )
    return cases.annotate(
        queue_rank=Case(
            When(status=CaseStatus.BROKEN_PROMISE, then=Value(QueueRank.BROKEN_PROMISE)),
            When(status__in=PAUSED_STATUSES, then=Value(QueueRank.PAUSED)),
            When(pk__in=due, then=Value(QueueRank.PROMISE_DUE)),
            When(status=CaseStatus.NEW, then=Value(QueueRank.NEW)),
            default=Value(QueueRank.WORK),
            output_field=IntegerField(),
        ),
        promise_due_on=Subquery(earliest_open_promise),
    ).order_by("queue_rank", "-overdue_total", "pk")


def work_queue(*, user, today: date | None = None) -> QuerySet[CollectionCase]:
    """The open cases the user may see, in the order to work them: broken promises, promises
    due (today or earlier), new cases, the rest, and cases whose contact is paused last;
    within each, the highest overdue amount first."""
    return ranked_cases(visible_cases(user=user).open(), today=today)
