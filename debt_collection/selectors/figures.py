"""Supervisor figures per collector and per bucket for a month, each defined in
FIGURE_DEFINITIONS (shown beside it). A fixed number of grouped queries, whatever the rows."""

import calendar
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, Exists, F, Min, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loans import delinquency
from loans.models import Instalment, Loan, Repayment

from ..models import (
    CallOutcome,
    CloseReason,
    CollectionCase,
    Collector,
    ContactAttempt,
    PromiseToPay,
)
from ..models.cases import QUEUE_BUCKETS

ZERO = Decimal("0.00")


# Each figure's definition, shown beside it on the figures page.
FIGURE_DEFINITIONS = {
    "open_cases": _(
        "Cases open at the end of the month (today for the current month), by the case's "
        "collector and bucket today."
    ),
    "contacts_made": _(
        "Contact attempts the guard allowed during the month (calls, collector SMS, "
        "automated overdue SMS, visit notices) on the collector's cases."
    ),
    "contacts_blocked": _(
        "Contact attempts the guard refused during the month, by the rule that refused them."
    ),
    "right_party_rate": _(
        "Right-party contacts ÷ connected calls: of the calls someone answered (call "
        "outcomes recorded during the month), the share where the borrower themself was "
        "reached (right-party contact, promise, refusal, dispute, says paid)."
    ),
    "promises": _(
        "Promises made during the month; of the promises whose date fell in the month and "
        "that have been judged: kept, partly kept and broken."
    ),
    "kept_rate": _(
        "Promises kept ÷ promises due: of the promises whose date fell in the month and that "
        "have been judged, the share paid in full (partly kept ones do not count as kept)."
    ),
    "recovered": _(
        "Money received during the month on the loans of the collector's cases, from the day "
        "each case opened to the day it closed (payments, recoveries after write-off; less "
        "anything to refund; reversed payments left out)."
    ),
    "cure_rate": _(
        "Cases closed as cured or settled during the month ÷ cases open at any time during "
        "the month."
    ),
    "roll_rate": _(
        "Balance in bucket N+1 at the end of this month ÷ balance in bucket N at the end of "
        "last month. Balance is outstanding principal. A loan's bucket at a month end is "
        "rebuilt from its instalments (days since its oldest instalment not yet paid by "
        "then) and its balance from the payments received by then, for the loans with a "
        "case open on that day; a loan still within its grace days has no case and is left "
        "out, so the roll from current to M1 is not shown."
    ),
}
FIGURE_DEFINITIONS["attribution"] = _(
    "Figures are grouped by each case's collector and bucket today: a case reassigned or "
    "moved to another bucket during the month counts where it is now. Contacts on loans "
    "with no case count in the total only."
)


def _rate(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001")) if whole else None


@dataclass
class FigureRow:
    label: str
    key: str = ""  # the collector's staff number, the bucket, or "" (unassigned, total)
    open_cases: int = 0
    cases_worked: int = 0
    cured: int = 0
    contacts_made: int = 0
    contacts_blocked: int = 0
    blocked_by_rule: Counter = field(default_factory=Counter)
    connected: int = 0
    right_party: int = 0
    promises_made: int = 0
    promises_due: int = 0
    promises_kept: int = 0
    promises_partly_kept: int = 0
    promises_broken: int = 0
    recovered: Decimal = ZERO

    @property
    def right_party_rate(self) -> Decimal | None:
        return _rate(self.right_party, self.connected)

    @property
    def kept_rate(self) -> Decimal | None:
        return _rate(self.promises_kept, self.promises_due)

    @property
    def cure_rate(self) -> Decimal | None:
        return _rate(self.cured, self.cases_worked)

    @property
    def blocked_rules(self) -> list[tuple[str, int]]:
        return sorted(self.blocked_by_rule.items())


@dataclass(frozen=True)
class RollRate:
    from_bucket: str
    to_bucket: str
    balance_before: Decimal  # in from_bucket at the end of last month
    balance_after: Decimal  # in to_bucket at the end of this month

    @property
    def rate(self) -> Decimal | None:
        return _rate(self.balance_after, self.balance_before)


@dataclass
class Figures:
    month: date  # its first day
    through: date  # its last day, or today for the current month
    by_collector: list[FigureRow]
    by_bucket: list[FigureRow]
    total: FigureRow
    roll_rates: list[RollRate]


class _Rows:
    """Rows per collector, per bucket and in total, filled from (collector, bucket) groups."""

    def __init__(self):
        collectors = Collector.objects.select_related("user").order_by("queue", "staff_number")
        self.collectors = {c.pk: FigureRow(str(c), c.staff_number) for c in collectors}
        self.unassigned = FigureRow(str(_("Unassigned")))
        self.buckets = {value: FigureRow(str(label), value) for value, label in QUEUE_BUCKETS}
        self.total = FigureRow(str(_("All cases")))

    def rows(self, collector_id, bucket):
        """The rows a group counts in; a group without a case (bucket None) only in total."""
        if bucket is None:
            return [self.total]
        rows = [self.total, self.collectors.get(collector_id, self.unassigned)]
        if bucket in self.buckets:
            rows.append(self.buckets[bucket])
        return rows

    def add(self, collector_id, bucket, **amounts):
        for row in self.rows(collector_id, bucket):
            for name, amount in amounts.items():
                setattr(row, name, getattr(row, name) + (amount or 0))


def _month_bounds(month: date, today: date) -> tuple[date, date, date]:
    start = month.replace(day=1)
    last = start.replace(day=calendar.monthrange(start.year, start.month)[1])
    return start, last, min(last, today)


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def supervisor_figures(*, month: date, today: date | None = None) -> Figures:
    """The month's figures per collector and per bucket (definitions in FIGURE_DEFINITIONS),
    in a fixed number of grouped queries."""
    today = today or timezone.localdate()
    start, last, through = _month_bounds(month, today)
    since, until = _aware(start), _aware(through + timedelta(days=1))
    rows = _Rows()
    open_at_end = Q(closed_on__isnull=True) | Q(closed_on__gt=through)
    cured = Q(
        closed_on__gte=start,
        closed_on__lte=through,
        close_reason__in=[CloseReason.CURED, CloseReason.SETTLED],
    )
    cases = (
        CollectionCase.objects.filter(opened_on__lte=through)
        .filter(Q(closed_on__isnull=True) | Q(closed_on__gte=start))
        .values("assigned_to", "bucket")
        .annotate(
            worked=Count("id"),
            open=Count("id", filter=open_at_end),
            cured=Count("id", filter=cured),
        )
    )
    for g in cases:
        rows.add(
            g["assigned_to"],
            g["bucket"],
            cases_worked=g["worked"],
            open_cases=g["open"],
            cured=g["cured"],
        )

    attempts = (
        ContactAttempt.objects.filter(at__gte=since, at__lt=until)
        .values("case__assigned_to", "case__bucket", "allowed", "blocked_rule")
        .annotate(n=Count("id"))
    )
    for g in attempts:
        collector, bucket = g["case__assigned_to"], g["case__bucket"]
        if g["allowed"]:
            rows.add(collector, bucket, contacts_made=g["n"])
            continue
        rows.add(collector, bucket, contacts_blocked=g["n"])
        for row in rows.rows(collector, bucket):
            row.blocked_by_rule[g["blocked_rule"]] += g["n"]

    outcomes = (
        CallOutcome.objects.filter(recorded_at__gte=since, recorded_at__lt=until)
        .values("attempt__case__assigned_to", "attempt__case__bucket")
        .annotate(
            connected=Count("id", filter=Q(outcome__in=CallOutcome.CONNECTED)),
            right_party=Count("id", filter=Q(outcome__in=CallOutcome.RIGHT_PARTY)),
        )
    )
    for g in outcomes:
        rows.add(
            g["attempt__case__assigned_to"],
            g["attempt__case__bucket"],
            connected=g["connected"],
            right_party=g["right_party"],
        )

    made = Q(made_on__gte=start, made_on__lte=through)
    due = Q(promised_on__gte=start, promised_on__lte=through) & ~Q(status=PromiseToPay.Status.OPEN)
    promises = (
        PromiseToPay.objects.filter(made | due)
        .values("case__assigned_to", "case__bucket")
        .annotate(
            made=Count("id", filter=made),
            due=Count("id", filter=due),
            kept=Count("id", filter=due & Q(status=PromiseToPay.Status.KEPT)),
            partly=Count("id", filter=due & Q(status=PromiseToPay.Status.PARTLY_KEPT)),
            broken=Count("id", filter=due & Q(status=PromiseToPay.Status.BROKEN)),
        )
    )
    for g in promises:
        rows.add(
            g["case__assigned_to"],
            g["case__bucket"],
            promises_made=g["made"],
            promises_due=g["due"],
            promises_kept=g["kept"],
            promises_partly_kept=g["partly"],
            promises_broken=g["broken"],
        )

    for g in _recovered(start=start, through=through):
        rows.add(g["assigned_to"], g["bucket"], recovered=g["recovered"])

    before = _bucket_balances(start - timedelta(days=1))
    after = _bucket_balances(through)
    return Figures(
        month=start,
        through=through,
        by_collector=[*rows.collectors.values(), rows.unassigned],
        by_bucket=list(rows.buckets.values()),
        total=rows.total,
        roll_rates=[
            RollRate(low, high, before.get(low, ZERO), after.get(high, ZERO))
            for low, high in ROLL_PAIRS
        ],
    )


def _recovered(*, start: date, through: date):
    """Money received per (collector, bucket): repayments on each case's loan dated within the
    case's life and within the month. One filter() call, so every condition is about the same
    repayment row (one join)."""
    payment = "loan__repayments__"
    return (
        CollectionCase.objects.filter(
            Q(**{f"{payment}status": Repayment.Status.POSTED}),
            Q(**{f"{payment}value_date__gte": start}),
            Q(**{f"{payment}value_date__lte": through}),
            Q(**{f"{payment}value_date__gte": F("opened_on")}),
            Q(closed_on__isnull=True) | Q(closed_on__gte=F(f"{payment}value_date")),
        )
        .values("assigned_to", "bucket")
        .annotate(
            recovered=Sum(
                F(f"{payment}amount") - F(f"{payment}unapplied"),
                output_field=DecimalField(max_digits=14, decimal_places=2),
            )
        )
    )


# (bucket N, bucket N+1) from M1 on, in the order delinquency defines them.
_BUCKETS = [bucket for _bound, bucket in delinquency.BUCKET_BOUNDS] + [delinquency.LAST_BUCKET]
ROLL_PAIRS = list(zip(_BUCKETS[1:-1], _BUCKETS[2:], strict=True))


def _bucket_balances(day: date) -> dict[str, Decimal]:
    """Outstanding principal per bucket at the end of `day`, for the loans with a case open
    that day (see FIGURE_DEFINITIONS["roll_rate"])."""
    case_open = CollectionCase.objects.filter(loan=OuterRef("pk"), opened_on__lte=day).filter(
        Q(closed_on__isnull=True) | Q(closed_on__gt=day)
    )
    oldest_unpaid = (
        Instalment.objects.filter(loan=OuterRef("pk"), due_date__lt=day)
        .filter(Q(paid_on__isnull=True) | Q(paid_on__gt=day))
        .order_by()
        .values("loan")
        .annotate(oldest=Min("due_date"))
        .values("oldest")
    )
    repaid = (
        Repayment.objects.filter(
            loan=OuterRef("pk"), status=Repayment.Status.POSTED, value_date__lte=day
        )
        .order_by()
        .values("loan")
        .annotate(total=Sum("principal"))
        .values("total")
    )
    money = DecimalField(max_digits=14, decimal_places=2)
    loans = (
        Loan.objects.filter(Exists(case_open))
        .annotate(
            oldest=Subquery(oldest_unpaid),
            repaid=Coalesce(Subquery(repaid, output_field=money), Value(ZERO), output_field=money),
        )
        .filter(oldest__isnull=False)
        .values_list("oldest", "principal", "repaid")
    )
    balances: dict[str, Decimal] = {}
    for oldest, principal, paid in loans.iterator(chunk_size=5000):
        bucket = delinquency.bucket_for((day - oldest).days)
        balances[bucket] = balances.get(bucket, ZERO) + principal - paid
    return balances
