"""The collections panels of the back-office home (gathered by loans.admin.dashboard): open
complaints and hardship requests with their ages, a collector's own queue, the supervisor's
team, money recovered this month and roll rates. Each is one or two grouped counts; the roll
rates come from the stored end-of-day balances (no loan is read)."""

from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Min, Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from loans import charts
from loans.panels import (
    FIGURES,
    PAR30_BUCKETS,
    PAR90_BUCKETS,
    VIEW_BUSINESS_DAY,
    WORK,
    Figure,
    Panel,
    Table,
    bucket_balances,
    changelist,
    count,
    month_ends,
    oldest,
    par,
    percent,
    recent_business_days,
    share,
    start_of_day,
    yuan,
)

from .models import CaseStatus, CollectionCase, Collector, Complaint, HardshipPlan
from .models.help import COMPLAINT_TARGET_DAYS
from .selectors import ROLL_PAIRS, SUPERVISE_CASE, WORK_CASE, QueueRank, sees_every_case
from .selectors.figures import _recovered
from .selectors.queue import ranked_cases

VIEW_COMPLAINT = "collections.view_complaint"
DECIDE_PLAN = "collections.decide_hardshipplan"
VIEW_PLAN = "collections.view_hardshipplan"
ROLL_MONTHS = 6


def panels(request) -> list[Panel]:
    user = request.user
    found: list[Panel] = []
    if user.has_perm(VIEW_COMPLAINT):
        acts = user.has_perm("collections.resolve_complaint") or user.has_perm(
            "collections.add_complaint"
        )
        found.append(_complaints(section=WORK if acts else FIGURES))
    # Counts across every case: for those who decide plans or see every case, not a collector.
    if user.has_perm(DECIDE_PLAN) or (user.has_perm(VIEW_PLAN) and sees_every_case(user)):
        found.append(_hardship(section=WORK if user.has_perm(DECIDE_PLAN) else FIGURES))
    if user.has_perm(WORK_CASE) and Collector.objects.filter(user=user).exists():
        found.append(_my_queue(user))
    if user.has_perm(SUPERVISE_CASE):
        found.append(_team())
    if user.has_perm(SUPERVISE_CASE) or user.has_perm(VIEW_BUSINESS_DAY):
        panel = _recovery(recent_business_days(request))
        if user.has_perm(SUPERVISE_CASE):
            panel.link, panel.link_label = (
                reverse("admin:collections_figures"),
                _("Supervisor figures"),
            )
        found.append(panel)
    return found


def _complaints(*, section: str) -> Panel:
    today = timezone.localdate()
    late = Q(received_at__lt=start_of_day(today - timedelta(days=COMPLAINT_TARGET_DAYS)))
    rows = Complaint.objects.open().aggregate(
        n=Count("id"),
        disputes=Count("id", filter=Q(kind=Complaint.Kind.DISPUTE)),
        late=Count("id", filter=late),
        since=Min("received_at"),
    )
    return Panel(
        key="complaints",
        title=_("Open complaints and disputes"),
        permission=VIEW_COMPLAINT,
        figures=[
            Figure(_("Open"), count(rows["n"])),
            Figure(_("of which disputes"), count(rows["disputes"])),
            Figure(
                _("Past the %(days)d-day answer target") % {"days": COMPLAINT_TARGET_DAYS},
                count(rows["late"]),
                alert=bool(rows["late"]),
            ),
            oldest(_("Oldest open"), rows["since"]),
        ],
        note=_("Collection contacts on the borrower's cases stay paused while one is open."),
        link=changelist(Complaint),
        link_label=_("Open the complaints queue"),
        section=section,
        order=15,
    )


def _hardship(*, section: str) -> Panel:
    rows = HardshipPlan.objects.filter(status=HardshipPlan.Status.PROPOSED).aggregate(
        n=Count("id"),
        borrower=Count("id", filter=Q(proposed_by_borrower=True)),
        since=Min("proposed_at"),
    )
    return Panel(
        key="hardship",
        title=_("Hardship requests waiting for a decision"),
        permission=(DECIDE_PLAN, VIEW_PLAN),
        figures=[
            Figure(_("Waiting"), count(rows["n"]), alert=bool(rows["n"])),
            Figure(_("asked for by the borrower"), count(rows["borrower"])),
            oldest(_("Oldest waiting"), rows["since"]),
        ],
        link=changelist(HardshipPlan),
        link_label=_("Decide hardship plans"),
        section=section,
        order=16,
    )


def _my_queue(user) -> Panel:
    mine = CollectionCase.objects.open().for_collector(user)
    by_rank = dict(
        ranked_cases(mine)
        .order_by()
        .values("queue_rank")
        .annotate(n=Count("id"))
        .values_list("queue_rank", "n")
    )
    figures = [
        Figure(str(label), count(by_rank.get(rank, 0)), alert=rank == QueueRank.BROKEN_PROMISE)
        for rank, label in QueueRank.LABELS.items()
    ]
    return Panel(
        key="my-queue",
        title=_("My collection queue"),
        permission=WORK_CASE,
        figures=figures,
        link=changelist(CollectionCase),
        link_label=_("Work my queue"),
        section=WORK,
        order=5,
    )


def _team() -> Panel:
    broken = Q(status=CaseStatus.BROKEN_PROMISE)
    groups = {
        g["assigned_to"]: g
        for g in CollectionCase.objects.open()
        .order_by()
        .values("assigned_to")
        .annotate(n=Count("id"), overdue=Sum("overdue_total"), broken=Count("id", filter=broken))
    }
    rows = []
    collectors = Collector.objects.select_related("user").order_by("queue", "staff_number")
    for collector in collectors:
        g = groups.get(collector.pk, {})
        state = (
            _("on leave") if collector.on_leave else "" if collector.is_active else _("inactive")
        )
        rows.append(
            [
                f"{collector} {state}".strip(),
                collector.queue,
                count(g.get("n")),
                count(g.get("broken")),
                yuan(g.get("overdue")),
            ]
        )
    unassigned = groups.get(None, {})
    rows.append(
        [
            str(_("Unassigned")),
            "",
            count(unassigned.get("n")),
            count(unassigned.get("broken")),
            yuan(unassigned.get("overdue")),
        ]
    )
    return Panel(
        key="team",
        title=_("My team: open cases"),
        permission=SUPERVISE_CASE,
        table=Table(
            [_("Collector"), _("Queue"), _("Open cases"), _("Broken promises"), _("Overdue")],
            rows,
        ),
        link=changelist(CollectionCase),
        link_label=_("All cases"),
        section=WORK,
        order=50,
    )


def _roll_rates(days) -> list[tuple[str, dict]]:
    """(month, {(from, to): rate}) for each month end after the first, oldest first:
    balance in bucket N+1 at this month end ÷ balance in bucket N at the previous one."""
    ends = month_ends(days)[-(ROLL_MONTHS + 1) :]
    result = []
    for before, after in zip(ends, ends[1:], strict=False):
        low, high = bucket_balances(before), bucket_balances(after)
        rates = {pair: share(high[pair[1]], low[pair[0]]) for pair in ROLL_PAIRS}
        result.append((f"{after.business_date:%Y-%m}", rates))
    return result


def _recovery(days) -> Panel:
    today = timezone.localdate()
    recovered = sum(
        (
            g["recovered"] or Decimal(0)
            for g in _recovered(start=today.replace(day=1), through=today)
        ),
        Decimal(0),
    )
    panel = Panel(
        key="recovery",
        title=_("Recovery and roll rates"),
        permission=(SUPERVISE_CASE, VIEW_BUSINESS_DAY),
        figures=[Figure(_("Recovered this month"), yuan(recovered))],
        order=60,
    )
    if days and days[0].outstanding_principal:
        # Collections watch delinquency as a share of the book, without the book's size.
        panel.figures += [
            Figure(_("PAR30 (over 30 days past due)"), percent(par(days[0], PAR30_BUCKETS))),
            Figure(_("PAR90 (over 90 days past due)"), percent(par(days[0], PAR90_BUCKETS))),
        ]
    months = _roll_rates(days)
    if not months:
        panel.note = _("Roll rates need end-of-day figures for two month ends.")
        return panel
    month, latest = months[-1]
    for (low, high), rate in latest.items():
        panel.figures.append(Figure(f"{low} → {high} ({month})", percent(rate)))
    series = [
        charts.Series(
            f"{low}→{high}",
            [
                None if rates[(low, high)] is None else float(rates[(low, high)]) * 100
                for _m, rates in months
            ],
        )
        for low, high in ROLL_PAIRS
    ]
    chart = charts.line_chart(
        [m for m, _rates in months],
        series,
        title=str(_("Roll rates by month (%)")),
        fmt=lambda v: f"{v:.0f}%",
        empty=str(_("No data")),
    )
    panel.chart = mark_safe(chart)  # noqa: S308 - charts escapes every label
    panel.note = _(
        "Roll rate: balance in bucket N+1 at a month end ÷ balance in bucket N at the month end "
        "before, from the stored end-of-day balances of all active loans (the current month: "
        "its latest run). Recovered: as on the supervisor figures page."
    )
    return panel
