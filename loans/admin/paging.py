"""What keeps a list page of a table of millions fast: counts that do not read every row, and
a date drill-down that does not read every row either. Both fall back to Django's own way on
small results and on SQLite."""

import json
from datetime import date, datetime, timedelta

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.functional import cached_property


class EstimatedCountPaginator(Paginator):
    """COUNT(*) reads every row it counts: on a table of millions that is most of a page's
    time. So on PostgreSQL an unfiltered list of a big table shows the table's row estimate,
    and a filtered list counts exactly only up to EXACT_BELOW rows (a bounded count, cheap
    whatever the filter); beyond that it shows the planner's estimate, never less than what
    was counted. Small results, where a person reads the number, are always exact."""

    EXACT_BELOW = 10_000

    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        if query is None:
            return super().count
        db = self.object_list.db
        if connections[db].vendor != "postgresql":
            return super().count
        if not query.where:
            with connections[db].cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [query.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] >= self.EXACT_BELOW:
                return int(row[0])
        rows = self.object_list.order_by().values("pk")
        counted = rows[: self.EXACT_BELOW + 1].count()
        if counted <= self.EXACT_BELOW:
            return counted
        sql, params = rows.query.sql_with_params()
        with connections[db].cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        return max(counted, int(plan[0]["Plan"]["Plan Rows"]))


# --- Date drill-down ------------------------------------------------------------------------

MAX_PERIODS = 62  # more candidate periods than this: Django's own DISTINCT query


def _period_starts(first: date, last: date, kind: str) -> list[date]:
    if kind == "year":
        return [date(y, 1, 1) for y in range(first.year, last.year + 1)]
    if kind == "month":
        months = (last.year - first.year) * 12 + last.month - first.month + 1
        return [
            date(first.year + (first.month - 1 + k) // 12, (first.month - 1 + k) % 12 + 1, 1)
            for k in range(max(months, 0))
        ]
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]


def _next_start(start: date, kind: str) -> date:
    if kind == "year":
        return date(start.year + 1, 1, 1)
    if kind == "month":
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start + timedelta(days=1)


class FastDatesMixin:
    """`dates()` and `datetimes()` as the admin's date drill-down asks for them: instead of a
    DISTINCT over every row of the list (a full scan of a big table), the first and last date
    (two index probes) and one EXISTS per year, month or day between them, in one query."""

    def dates(self, field_name, kind, order="ASC"):
        found = self._periods(field_name, kind, order, aware=False)
        return found if found is not None else super().dates(field_name, kind, order)

    def datetimes(self, field_name, kind, order="ASC", tzinfo=None):
        found = None if tzinfo else self._periods(field_name, kind, order, aware=True)
        return found if found is not None else super().datetimes(field_name, kind, order, tzinfo)

    def _periods(self, field_name, kind, order, *, aware):
        if kind not in ("year", "month", "day"):
            return None
        span = self.aggregate(first=Min(field_name), last=Max(field_name))
        if span["first"] is None:
            return []
        first, last = span["first"], span["last"]
        if aware:
            first, last = timezone.localtime(first).date(), timezone.localtime(last).date()
        starts = _period_starts(first, last, kind)
        if len(starts) > MAX_PERIODS:
            return None

        def bound(day: date):
            return timezone.make_aware(datetime.combine(day, datetime.min.time())) if aware else day

        probes = [
            self.filter(
                **{
                    f"{field_name}__gte": bound(start),
                    f"{field_name}__lt": bound(_next_start(start, kind)),
                }
            )
            .order_by()
            .values("pk")[:1]
            .query.sql_with_params()
            for start in starts
        ]
        sql = "SELECT " + ", ".join(f"EXISTS ({probe})" for probe, _ in probes)
        params = [p for _, probe_params in probes for p in probe_params]
        with connections[self.db].cursor() as cursor:
            cursor.execute(sql, params)
            hits = cursor.fetchone()
        found = [bound(start) for start, hit in zip(starts, hits, strict=True) if hit]
        return found if order == "ASC" else found[::-1]


_FAST = {}


def with_fast_dates(queryset):
    """The same queryset, its class given FastDatesMixin (the clones it makes keep it)."""
    cls = type(queryset)
    if not issubclass(cls, FastDatesMixin):
        if cls not in _FAST:
            _FAST[cls] = type(f"FastDates{cls.__name__}", (FastDatesMixin, cls), {})
        queryset.__class__ = _FAST[cls]
    return queryset
