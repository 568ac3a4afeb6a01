"""Giving open cases without a collector to the collectors of their queue (one queue per
bucket), so that each collector moves towards the fewest open cases.

The few collectors' quotas are worked out in Python from their current open counts (water-
filling: the emptiest are filled first, up to a common level). The cases are then handed out
by rank within their bucket (ROW_NUMBER by id): a SQL CASE maps rank ranges to collectors, so
a whole day's cases take one statement whatever their number. The case sync uses the same
plan to choose the collector of each new case in the INSERT that opens it. Collectors who are
inactive or on leave receive nothing; a queue with no collector leaves its cases unassigned,
where supervisors see them.
"""

from datetime import date

from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from .models import CaseEvent, CaseStatus, CollectionCase, Collector

CASE = CollectionCase._meta.db_table
EVENT = CaseEvent._meta.db_table
# (bucket, up to this rank, collector id), in rank order within each bucket.
Plan = list[tuple[str, int, int]]


def quotas(open_counts: list[int], new: int) -> list[int]:
    """How many of `new` cases each collector gets, given their open counts (in the order
    ties are broken: the first of equals gets the odd case). Fills the emptiest first."""
    if not open_counts or new <= 0:
        return [0] * len(open_counts)
    # The lowest level L such that topping everyone up to L takes at least `new` cases.
    low, high = min(open_counts), max(open_counts) + new
    while low < high:
        level = (low + high) // 2
        if sum(max(0, level - c) for c in open_counts) >= new:
            high = level
        else:
            low = level + 1
    level = low
    given = [max(0, level - 1 - c) for c in open_counts]
    left = new - sum(given)
    for i, count in enumerate(open_counts):
        if left and count <= level - 1:
            given[i] += 1
            left -= 1
    return given


def eligible_collectors():
    """Who may receive new cases: active, not on leave, with an active login."""
    return Collector.objects.filter(is_active=True, on_leave=False, user__is_active=True)


def waiting() -> dict[str, int]:
    """Open cases without a collector, per bucket."""
    return dict(
        CollectionCase.objects.open()
        .filter(assigned_to__isnull=True)
        .order_by()
        .values_list("bucket")
        .annotate(n=Count("id"))
    )


def plan(to_assign: dict[str, int]) -> Plan:
    """Quotas for `to_assign` cases per bucket, from the collectors' open counts now."""
    to_assign = {bucket: n for bucket, n in to_assign.items() if n > 0}
    if not to_assign:
        return []
    collectors = (
        eligible_collectors()
        .filter(queue__in=list(to_assign))
        .annotate(open_cases=Count("cases", filter=~Q(cases__status=CaseStatus.CLOSED)))
        .order_by("queue", "open_cases", "staff_number")
        .values_list("queue", "id", "open_cases")
    )
    by_queue: dict[str, list[tuple[int, int]]] = {}
    for queue, pk, open_cases in collectors:
        by_queue.setdefault(queue, []).append((pk, open_cases))
    steps = []
    for queue, members in by_queue.items():
        rank = 0
        counts = [n for _, n in members]
        for (pk, _), quota in zip(members, quotas(counts, to_assign[queue]), strict=True):
            if quota:
                rank += quota
                steps.append((queue, rank, pk))
    return steps


def collector_sql(steps: Plan, *, bucket: str, rank: str) -> tuple[str, list]:
    """SQL choosing the collector of a row ranked `rank` in `bucket` (NULL: nobody)."""
    if not steps:
        return "NULL", []
    whens = " ".join(f"WHEN {bucket} = %s AND {rank} <= %s THEN %s" for _ in steps)
    return f"CASE {whens} END", [value for step in steps for value in step]


def assign_waiting(*, steps: Plan, business_date: date) -> int:
    """Hand the open cases without a collector out by `steps` (ranks 1.. in each bucket);
    each gets a timeline entry. Returns how many were assigned."""
    if not steps:
        return 0
    collector, collector_params = collector_sql(steps, bucket="r.bucket", rank="r.rn")
    target = f"""SELECT r.id AS id, r.bucket AS bucket, {collector} AS collector_id
        FROM (SELECT id, bucket, ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY id) AS rn
              FROM {CASE} WHERE NOT (status = %s) AND assigned_to_id IS NULL) r"""
    target_params = [*collector_params, CaseStatus.CLOSED.value]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {EVENT} (case_id, at, kind, actor_id, collector_id, text, status)
            SELECT t.id, %s, %s, NULL, t.collector_id, t.bucket, ''
            FROM ({target}) t WHERE t.collector_id IS NOT NULL""",
            [timezone.now(), CaseEvent.Kind.ASSIGNED.value, *target_params],
        )
        cursor.execute(
            f"""UPDATE {CASE} AS c SET assigned_to_id = t.collector_id,
                next_action_on = COALESCE(c.next_action_on, %s)
            FROM ({target}) AS t
            WHERE t.id = c.id AND t.collector_id IS NOT NULL""",
            [business_date, *target_params],
        )
        return cursor.rowcount


def assign_new_cases(*, business_date: date) -> int:
    """Hand out every open case that has no collector. Returns how many were assigned."""
    return assign_waiting(steps=plan(waiting()), business_date=business_date)
