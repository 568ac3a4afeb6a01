"""The back-office home's building blocks: what a panel is, how panels are gathered, and the
formatting and stored end-of-day figures every app's panels share.

Every installed app may have a `dashboard` module with `panels(request) -> list[Panel]`;
`loans.admin.dashboard` gathers them the way `loans.roles.declared_grants` gathers roles, so
this app never imports a higher one. Code that is not an app of its own (the approvals queue,
say) adds its panels with `@register_panels` on a function taking the request, in a module
imported at start-up (its admin module will do).

A panel is shown only to a user holding the permission it names (`Panel.permission`), and a
provider returns nothing for a user without it. Each role's home therefore starts with its
own work: panels in the WORK section (queues the user can act on) come first, then OVERSIGHT
(what the user watches, e.g. the audit trail), then FIGURES.

Speed: the figures come from the stored end-of-day rows (`BusinessDay`, one query for the
last few months, shared by every panel through `recent_business_days`) and from counts over
indexed columns, so the number of queries does not grow with the portfolio.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import delinquency
from .models import (
    BusinessDay,
    Loan,
)

WORK, OVERSIGHT, FIGURES = "work", "oversight", "figures"
SECTIONS = (WORK, OVERSIGHT, FIGURES)

VIEW_BUSINESS_DAY = "loans.view_businessday"
RUN_END_OF_DAY = "loans.run_end_of_day"
VIEW_AUDIT = "loans.view_auditevent"

# Each bucket's loans and balance on a BusinessDay row, in bucket order.
BUCKET_FIELDS: tuple[tuple[str, str, str], ...] = (
    (delinquency.CURRENT, "loans_current", "balance_current"),
    (delinquency.M1, "loans_m1", "balance_m1"),
    (delinquency.M2, "loans_m2", "balance_m2"),
    (delinquency.M3, "loans_m3", "balance_m3"),
    (delinquency.M4_PLUS, "loans_m4_plus", "balance_m4_plus"),
)
BUCKET_LABELS = dict(Loan.Bucket.choices)
# From green (current) to black (non-performing), Okabe–Ito colours.
BUCKET_COLOURS = ("#009E73", "#56B4E9", "#E69F00", "#D55E00", "#000000")
# PAR30 counts DPD > 30 (M2 and later), PAR90 DPD > 90 (M4+).
PAR30_BUCKETS = (delinquency.M2, delinquency.M3, delinquency.M4_PLUS)
PAR90_BUCKETS = (delinquency.M4_PLUS,)
HISTORY_DAYS = 200  # end-of-day rows read: enough for six month ends and the 90-day chart
PORTFOLIO_CHART_DAYS = 90


@dataclass
class Figure:
    label: str
    value: str
    link: str = ""
    alert: bool = False  # past a target or needing attention: shown highlighted
    detail: str = ""  # a smaller line under the value


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]


@dataclass
class Panel:
    key: str  # unique on the page, used as the panel's HTML id
    title: str
    # What a user needs to see it, e.g. "loans.view_businessday"; a tuple means any of them.
    permission: str | tuple[str, ...]
    figures: list[Figure] = field(default_factory=list)
    table: Table | None = None
    chart: str = ""  # SVG from loans.charts, already escaped
    link: str = ""
    link_label: str = ""
    section: str = FIGURES
    order: int = 100  # within its section, smallest first
    note: str = ""

    @property
    def permissions(self) -> tuple[str, ...]:
        return (self.permission,) if isinstance(self.permission, str) else tuple(self.permission)

    def visible_to(self, user) -> bool:
        return any(user.has_perm(p) for p in self.permissions)


_PROVIDERS: list[Callable] = []


def register_panels(provider: Callable) -> Callable:
    """Add a panel provider (request -> list[Panel]) that lives outside an app's
    `dashboard` module. Usable as a decorator; registering twice is harmless."""
    if provider not in _PROVIDERS:
        _PROVIDERS.append(provider)
    return provider


def registered_providers() -> list[Callable]:
    return list(_PROVIDERS)


# --- formatting --------------------------------------------------------------------------------


def yuan(amount: Decimal | int | None) -> str:
    """¥1,234,567.89"""
    amount = Decimal(amount or 0)
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.2f}"


def percent(rate: Decimal | None) -> str:
    return "—" if rate is None else f"{rate * 100:.2f}%"


def count(n: int | None) -> str:
    return f"{n or 0:,}"


def local_time(moment: datetime | None) -> str:
    """In Beijing time (the project's TIME_ZONE), to the minute."""
    return "—" if moment is None else f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


def age(since: datetime | None, *, now: datetime | None = None) -> str:
    """How long something has waited: '3 days', '5 hours', 'under an hour'."""
    if since is None:
        return "—"
    waited = (now or timezone.now()) - since
    if waited >= timedelta(days=1):
        days = waited.days
        return ngettext("%(n)d day", "%(n)d days", days) % {"n": days}
    hours = int(waited.total_seconds() // 3600)
    if hours >= 1:
        return ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}
    return str(_("under an hour"))


def oldest(label, since: datetime | None) -> Figure:
    """How long the oldest item of a queue has waited ('3 days'), and since when."""
    if since is None:
        return Figure(label, "—")
    return Figure(label, age(since), detail=_("since %(time)s") % {"time": local_time(since)})


def start_of_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def share(part: Decimal, whole: Decimal) -> Decimal | None:
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001")) if whole else None


def changelist(model, query: str = "") -> str:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{query}" if query else url


# --- stored end-of-day figures -----------------------------------------------------------------


def recent_business_days(request) -> list[BusinessDay]:
    """The latest end-of-day rows, newest first: one query per page, shared by every panel
    (the collections panels read their roll rates from it too)."""
    cached = getattr(request, "_dashboard_business_days", None)
    if cached is None:
        cached = list(BusinessDay.objects.order_by("-business_date")[:HISTORY_DAYS])
        request._dashboard_business_days = cached
    return cached


def bucket_balances(day: BusinessDay) -> dict[str, Decimal]:
    return {bucket: getattr(day, balance) for bucket, _loans, balance in BUCKET_FIELDS}


def par(day: BusinessDay, buckets: tuple[str, ...]) -> Decimal | None:
    """Portfolio at risk: outstanding principal in `buckets` ÷ all outstanding principal."""
    balances = bucket_balances(day)
    return share(sum((balances[b] for b in buckets), Decimal(0)), day.outstanding_principal)


def month_ends(days: list[BusinessDay]) -> list[BusinessDay]:
    """The last stored day of each month, oldest first (the current month's is its latest)."""
    last: dict[tuple[int, int], BusinessDay] = {}
    for day in days:  # newest first: the first seen in a month is its last day
        last.setdefault((day.business_date.year, day.business_date.month), day)
    return sorted(last.values(), key=lambda d: d.business_date)
