"""The lending panels of the back-office home (the building blocks are in loans/panels.py).

Every installed app may have a `dashboard` module with `panels(request) -> list[Panel]`;
`loans.admin.dashboard` gathers them the way `loans.roles.declared_grants` gathers roles.
"""

from django.db.models import Count, Min, Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from . import approvals, charts
from .models import (
    Approval,
    AuditEvent,
    BusinessDay,
    CreditAssessment,
    Loan,
    LoanApplication,
    Refund,
    WriteOff,
)
from .panels import (
    BUCKET_COLOURS,
    BUCKET_FIELDS,
    BUCKET_LABELS,
    OVERSIGHT,
    PAR30_BUCKETS,
    PAR90_BUCKETS,
    PORTFOLIO_CHART_DAYS,
    RUN_END_OF_DAY,
    VIEW_AUDIT,
    VIEW_BUSINESS_DAY,
    WORK,
    Figure,
    Panel,
    Table,
    age,
    bucket_balances,
    changelist,
    count,
    local_time,
    oldest,
    par,
    percent,
    recent_business_days,
    share,
    yuan,
)

# --- panels ------------------------------------------------------------------------------------


def panels(request) -> list[Panel]:
    user = request.user
    found: list[Panel] = []
    deciders = tuple(kind.approve_permission for kind in approvals.KINDS.values())
    if any(user.has_perm(p) for p in deciders):
        found.append(_approvals(user, deciders))
    if user.has_perm("loans.override_creditassessment"):
        found.append(_review_queue())
    if user.has_perm("loans.decide_loanapplication"):
        found.append(_applications())
    if user.has_perm("loans.approve_refund"):
        found.append(_refunds())
    if user.has_perm("loans.approve_writeoff"):
        found.append(_write_offs())
    if user.has_perm(VIEW_AUDIT):
        found.append(_audit_trail())
    if user.has_perm(VIEW_BUSINESS_DAY):
        days = recent_business_days(request)
        found.append(_portfolio(days))
        if days:
            found.append(_buckets(days[0]))
        found.append(_end_of_day(days[0] if days else None, can_run=user.has_perm(RUN_END_OF_DAY)))
    return found


def _review_queue() -> Panel:
    waiting = CreditAssessment.objects.filter(
        review_requested_at__isnull=False, overridden_at__isnull=True
    ).aggregate(n=Count("id"), since=Min("review_requested_at"))
    return Panel(
        key="credit-reviews",
        title=_("Credit assessments waiting for manual review"),
        permission="loans.override_creditassessment",
        figures=[
            Figure(_("Waiting"), count(waiting["n"]), alert=bool(waiting["n"])),
            oldest(_("Oldest waiting"), waiting["since"]),
        ],
        link=changelist(CreditAssessment, "review=pending"),
        link_label=_("Open the review queue"),
        section=WORK,
        order=10,
    )


def _applications() -> Panel:
    Status = LoanApplication.Status
    review = Q(status=Status.PENDING_REVIEW)
    signing = Q(status=Status.APPROVED)
    rows = LoanApplication.objects.filter(review | signing).aggregate(
        review=Count("id", filter=review),
        amount=Sum("amount", filter=review),
        since=Min("created_at", filter=review),
        signing=Count("id", filter=signing),
    )
    return Panel(
        key="applications",
        title=_("Loan applications in manual review"),
        permission="loans.decide_loanapplication",
        figures=[
            Figure(
                _("Waiting for a decision"),
                count(rows["review"]),
                link=changelist(LoanApplication, f"status__exact={Status.PENDING_REVIEW}"),
                alert=bool(rows["review"]),
            ),
            Figure(_("Amount applied for"), yuan(rows["amount"])),
            oldest(_("Oldest waiting"), rows["since"]),
            Figure(
                _("Approved, waiting for the borrower's signature"),
                count(rows["signing"]),
                link=changelist(LoanApplication, f"status__exact={Status.APPROVED}"),
            ),
        ],
        link=changelist(LoanApplication, f"status__exact={Status.PENDING_REVIEW}"),
        link_label=_("Decide applications"),
        section=WORK,
        order=20,
    )


def _approvals(user, deciders: tuple[str, ...]) -> Panel:
    """Every proposal this user may decide (maker-checker), by kind, oldest first."""
    waiting = approvals.awaiting(user)
    now = timezone.now()
    rows = [
        [
            str(w["label"]),
            count(w["mine_to_decide"]),
            count(w["count"]),
            age(now - w["oldest_age"], now=now),
        ]
        for w in waiting
    ]
    to_decide = sum(w["mine_to_decide"] for w in waiting)
    return Panel(
        key="approvals",
        title=_("Approvals waiting for you"),
        permission=deciders,
        figures=[Figure(_("To decide"), count(to_decide), alert=bool(to_decide))],
        table=Table([_("Kind"), _("To decide"), _("Waiting"), _("Oldest")], rows) if rows else None,
        note="" if rows else _("Nothing is waiting for a decision."),
        link=changelist(Approval, "decide=mine"),
        link_label=_("Open the approvals"),
        section=WORK,
        order=12,  # after the risk review queue, before the other work
    )


def _refunds() -> Panel:
    rows = Refund.objects.filter(
        status=Refund.Status.PENDING_APPROVAL, needs_approval=True
    ).aggregate(n=Count("id"), amount=Sum("amount"), since=Min("requested_at"))
    return Panel(
        key="refunds",
        title=_("Refunds waiting for approval"),
        permission="loans.approve_refund",
        figures=[
            Figure(_("Waiting"), count(rows["n"]), alert=bool(rows["n"])),
            Figure(_("Amount"), yuan(rows["amount"])),
            oldest(_("Oldest waiting"), rows["since"]),
        ],
        link=changelist(Refund, "status__exact=pending&needs_approval__exact=1"),
        link_label=_("Approve or reject refunds"),
        section=WORK,
        order=30,
    )


def _write_offs() -> Panel:
    rows = WriteOff.objects.filter(status=WriteOff.Status.PROPOSED).aggregate(
        n=Count("id"), since=Min("proposed_at")
    )
    return Panel(
        key="write-offs",
        title=_("Write-offs waiting for approval"),
        permission="loans.approve_writeoff",
        figures=[
            Figure(_("Proposed"), count(rows["n"]), alert=bool(rows["n"])),
            oldest(_("Oldest waiting"), rows["since"]),
        ],
        link=changelist(WriteOff, f"status__exact={WriteOff.Status.PROPOSED}"),
        link_label=_("Decide write-offs"),
        section=WORK,
        order=40,
    )


AUDIT_ROWS = 8


def _audit_trail() -> Panel:
    from .audit import ACTIONS  # the labels; a code without one is shown as it is

    events = AuditEvent.objects.select_related("actor").order_by("-at", "-id")[:AUDIT_ROWS]
    rows = [
        [
            local_time(e.at),
            e.actor.get_username() if e.actor else str(_("system")),
            str(ACTIONS.get(e.action, e.action)),
            e.object_repr or e.summary,
        ]
        for e in events
    ]
    return Panel(
        key="audit",
        title=_("Audit trail: latest events"),
        permission=VIEW_AUDIT,
        table=Table([_("At"), _("Staff member"), _("Action"), _("Record")], rows),
        note="" if rows else _("Nothing recorded yet."),
        link=changelist(AuditEvent),
        link_label=_("Open the audit trail"),
        section=OVERSIGHT,
        order=10,
    )


def _disbursed() -> dict:
    """Live, from the loans' drawdown dates (an indexed range: this month's loans only)."""
    today = timezone.localdate()
    on_today = Q(drawdown_date=today)
    return Loan.objects.filter(
        drawdown_date__gte=today.replace(day=1), drawdown_date__lte=today
    ).aggregate(
        month_n=Count("id"),
        month_amount=Sum("principal"),
        today_n=Count("id", filter=on_today),
        today_amount=Sum("principal", filter=on_today),
    )


def _portfolio(days: list[BusinessDay]) -> Panel:
    disbursed = _disbursed()
    figures = [
        Figure(
            _("Disbursed today"),
            f"{yuan(disbursed['today_amount'])} · {count(disbursed['today_n'])}",
        ),
        Figure(
            _("Disbursed this month"),
            f"{yuan(disbursed['month_amount'])} · {count(disbursed['month_n'])}",
        ),
    ]
    panel = Panel(
        key="portfolio",
        title=_("Portfolio"),
        permission=VIEW_BUSINESS_DAY,
        figures=figures,
        order=10,
    )
    if not days:
        panel.note = _("No end-of-day run yet: the portfolio figures appear after the first one.")
        return panel
    latest = days[0]
    figures[:0] = [
        Figure(_("Outstanding principal"), yuan(latest.outstanding_principal)),
        Figure(_("Active loans"), count(latest.active_loans)),
        Figure(_("PAR30 (over 30 days past due)"), percent(par(latest, PAR30_BUCKETS))),
        Figure(_("PAR90 (over 90 days past due)"), percent(par(latest, PAR90_BUCKETS))),
    ]
    panel.note = _(
        "Balances as of the end-of-day run for %(date)s; PAR is balance-weighted (outstanding "
        "principal). Disbursements are live."
    ) % {"date": latest.business_date}
    history = list(reversed(days[:PORTFOLIO_CHART_DAYS]))
    title = str(_("Outstanding principal by business date"))
    panel.chart = mark_safe(  # noqa: S308 - charts escapes every label
        charts.line_chart(
            [f"{d.business_date:%m-%d}" for d in history],
            [
                charts.Series(
                    str(_("Outstanding principal")), [d.outstanding_principal for d in history]
                )
            ],
            title=title,
            empty=str(_("No data")),
        )
    )
    return panel


def _buckets(day: BusinessDay) -> Panel:
    balances = bucket_balances(day)
    total = day.outstanding_principal
    rows, labels, values = [], [], []
    for bucket, loans_field, _balance in BUCKET_FIELDS:
        label = str(BUCKET_LABELS.get(bucket, bucket))
        rows.append(
            [
                label,
                count(getattr(day, loans_field)),
                yuan(balances[bucket]),
                percent(share(balances[bucket], total)),
            ]
        )
        labels.append(bucket)
        values.append(balances[bucket])
    chart = charts.bar_chart(
        labels,
        values,
        title=str(_("Outstanding principal by bucket")),
        value_labels=[charts.short_number(float(v)) for v in values],
        colours=BUCKET_COLOURS,
        empty=str(_("No outstanding principal")),
    )
    return Panel(
        key="buckets",
        title=_("Loans and balances by bucket"),
        permission=VIEW_BUSINESS_DAY,
        table=Table([_("Bucket"), _("Loans"), _("Balance"), _("Share")], rows),
        chart=mark_safe(chart),  # noqa: S308 - charts escapes every label
        note=_("As of the end-of-day run for %(date)s.") % {"date": day.business_date},
        order=20,
    )


def _end_of_day(day: BusinessDay | None, *, can_run: bool) -> Panel:
    panel = Panel(
        key="end-of-day",
        title=_("Last end-of-day run"),
        permission=VIEW_BUSINESS_DAY,
        link=changelist(BusinessDay),
        link_label=_("All end-of-day runs"),
        order=30,
    )
    if can_run:
        panel.figures.append(
            Figure(
                _("Run a job now"), str(_("End of day, reminders, SMS")), link=reverse("jobs:index")
            )
        )
    if day is None:
        panel.note = _("No end-of-day run yet.")
        return panel
    stale = day.business_date < timezone.localdate()
    panel.figures[:0] = [
        Figure(_("Business date"), str(day.business_date), alert=stale),
        Figure(_("Finished"), local_time(day.finished_at)),
        Figure(_("Took"), _("%(s).1f s") % {"s": day.seconds}),
        Figure(_("Loans newly overdue"), count(day.newly_overdue)),
        Figure(_("Loans cured"), count(day.newly_cured)),
        Figure(_("Penalty accrued"), yuan(day.penalty_accrued)),
        Figure(_("Overdue principal"), yuan(day.overdue_principal)),
        Figure(_("Write-off candidates"), count(day.write_off_candidates)),
        Figure(
            _("Disbursed the day before"),
            f"{yuan(day.disbursed_amount)} · {count(day.disbursed_loans)}",
        ),
    ]
    if stale:
        panel.note = _("Today's end of day has not run yet.")
    return panel
