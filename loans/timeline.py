"""A borrower's timeline: the shape of its entries, and what the loans app contributes.

Every app may contribute entries through its own `<app>/timeline.py` (found the way
`loans.roles.declared_grants` finds `roles` modules, gathered by loans/admin/timeline.py):

- `kinds(*, user) -> dict[str, str]`: the kinds of entry it has that `user` may see (code:
  label), in the order the filter shows them;
- `entries(borrower, *, user, kinds) -> list[Entry]`: its entries of those kinds (a subset of
  what `kinds` returned), each kind bounded to the newest `LIMIT` rows with a "more" entry
  after them, one query per kind whatever the number of rows;
- optionally `allows(borrower, *, user) -> bool`: False when `user` may not see this borrower
  at all (a collector without one of their cases; the page is then a 404).

Entries show personal data masked, never in full.
"""

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField
from django.db.models.functions import Cast
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .audit import ACTIONS
from .models import (
    AuditEvent,
    BankCard,
    Borrower,
    CreditAssessment,
    CreditLineEvent,
    Loan,
    LoanApplication,
    PiiAccessLog,
    Repayment,
)

# The newest rows of each kind a timeline shows; older ones are a link away.
LIMIT = 200


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str
    title: str
    detail: str = ""
    link: str = ""
    amount: Decimal | None = None
    by: str = ""
    # Marks the note "older entries of this kind are not shown" (link: the full list).
    more: bool = False


def end_of(day: date) -> datetime:
    """A record that carries only a date is placed at the end of that day (Beijing time)."""
    return timezone.make_aware(datetime.combine(day, time(23, 59, 59)))


def name_of(user) -> str:
    return user.get_username() if user is not None else ""


def admin_link(name: str, *args, query: str = "") -> str:
    """The admin page, or "" when that list has no admin page (nothing to link to)."""
    try:
        url = reverse(f"admin:{name}", args=args)
    except NoReverseMatch:
        return ""
    return f"{url}?{query}" if query else url


def newest(queryset, *, kind: str, link: str, each, limit: int | None = None) -> list[Entry]:
    """The entries of the newest `limit` (LIMIT) rows of an ordered queryset, `each(row)`
    giving a row's entries, then the "more" entry that says older rows exist and links to
    them, if they do. One query."""
    limit = LIMIT if limit is None else limit
    rows = list(queryset[: limit + 1])
    found = [entry for row in rows[:limit] for entry in each(row)]
    if len(rows) > limit:
        found.append(
            Entry(
                at=timezone.make_aware(datetime.min.replace(year=1970)),
                kind=kind,
                title=_("Only the newest %(limit)d are shown here.") % {"limit": limit},
                link=link,
                more=True,
            )
        )
    return found


KINDS = {
    "assessment": gettext_lazy("Credit assessments"),
    "credit_line": gettext_lazy("Credit line events"),
    "application": gettext_lazy("Applications"),
    "loan": gettext_lazy("Loans"),
    "repayment": gettext_lazy("Repayments"),
    "bank_card": gettext_lazy("Bank cards"),
    "pii": gettext_lazy("Personal data reveals"),
    "audit": gettext_lazy("Audit trail"),
}
PERMISSIONS = {
    "assessment": "loans.view_creditassessment",
    "credit_line": "loans.view_creditlineevent",
    "application": "loans.view_loanapplication",
    "loan": "loans.view_loan",
    "repayment": "loans.view_repayment",
    "bank_card": "loans.view_bankcard",
    "pii": "loans.view_piiaccesslog",
    "audit": "loans.view_auditevent",
}


def kinds(*, user) -> dict[str, str]:
    return {kind: label for kind, label in KINDS.items() if user.has_perm(PERMISSIONS[kind])}


def entries(borrower: Borrower, *, user, kinds) -> list[Entry]:
    found: list[Entry] = []
    for kind in kinds:
        if kind in SOURCES and user.has_perm(PERMISSIONS[kind]):
            found.extend(SOURCES[kind](borrower))
    return found


def _assessments(borrower):
    query = f"borrower__id__exact={borrower.pk}"

    def each(a):
        yield Entry(
            at=a.created_at,
            kind="assessment",
            title=_("Credit assessment: %(decision)s")
            % {"decision": a.get_final_decision_display()},
            detail=_("score %(score)s, grade %(grade)s")
            % {"score": a.score if a.score is not None else "—", "grade": a.grade or "—"},
            link=admin_link("loans_creditassessment_change", a.pk),
            amount=a.credit_limit,
        )

    return newest(
        CreditAssessment.objects.filter(borrower=borrower).order_by("-created_at", "-id"),
        kind="assessment",
        link=admin_link("loans_creditassessment_changelist", query=query),
        each=each,
    )


def _credit_line_events(borrower):
    def each(e):
        limits = ""
        if e.new_limit is not None:
            limits = _("limit %(old)s → %(new)s") % {"old": e.old_limit or "—", "new": e.new_limit}
        yield Entry(
            at=e.at,
            kind="credit_line",
            title=_("Credit line: %(event)s") % {"event": e.get_kind_display()},
            detail=" · ".join(p for p in (e.reason, limits) if p),
            by=name_of(e.actor),
        )

    return newest(
        CreditLineEvent.objects.filter(credit_line__borrower=borrower)
        .select_related("actor")
        .order_by("-at", "-id"),
        kind="credit_line",
        link=admin_link("loans_creditlineevent_changelist"),
        each=each,
    )


def _applications(borrower):
    def each(a):
        link = admin_link("loans_loanapplication_change", a.pk)
        yield Entry(
            at=a.created_at,
            kind="application",
            title=_("Applied for %(term)d months") % {"term": a.term},
            detail=str(a.get_status_display()),
            link=link,
            amount=a.amount,
        )
        if a.decided_at:
            yield Entry(
                at=a.decided_at,
                kind="application",
                title=_("Application decided: %(status)s") % {"status": a.get_status_display()},
                detail=a.decision_note,
                link=link,
                by=name_of(a.decided_by),
            )

    return newest(
        LoanApplication.objects.filter(borrower=borrower)
        .select_related("decided_by")
        .order_by("-created_at", "-id"),
        kind="application",
        link=admin_link(
            "loans_loanapplication_changelist", query=f"borrower__id__exact={borrower.pk}"
        ),
        each=each,
    )


def _loans(borrower):
    def each(loan):
        link = admin_link("loans_loan_change", loan.pk)
        yield Entry(
            at=loan.created_at,
            kind="loan",
            title=_("Loan L%(id)s drawn over %(term)d months") % {"id": loan.pk, "term": loan.term},
            detail=str(loan.get_status_display()),
            link=link,
            amount=loan.principal,
        )
        if loan.settled_on:
            yield Entry(
                at=end_of(loan.settled_on),
                kind="loan",
                title=_("Loan L%(id)s settled") % {"id": loan.pk},
                link=link,
            )
        if loan.written_off_on:
            yield Entry(
                at=end_of(loan.written_off_on),
                kind="loan",
                title=_("Loan L%(id)s written off") % {"id": loan.pk},
                link=link,
            )

    return newest(
        Loan.objects.filter(borrower=borrower).order_by("-created_at", "-id"),
        kind="loan",
        link=admin_link("loans_loan_changelist", query=f"borrower__id__exact={borrower.pk}"),
        each=each,
    )


def _repayments(borrower):
    def each(r):
        link = admin_link("loans_repayment_change", r.pk)
        yield Entry(
            at=r.posted_at,
            kind="repayment",
            title=_("Payment to %(loan)s") % {"loan": f"L{r.loan_id}"},
            detail=_("%(channel)s, value date %(day)s")
            % {"channel": r.get_channel_display(), "day": r.value_date},
            link=link,
            amount=r.amount,
            by=name_of(r.posted_by),
        )
        if r.reversed_at:
            yield Entry(
                at=r.reversed_at,
                kind="repayment",
                title=_("Payment to %(loan)s reversed") % {"loan": f"L{r.loan_id}"},
                detail=r.reversal_reason,
                link=link,
                amount=-r.amount,
                by=name_of(r.reversed_by),
            )

    return newest(
        Repayment.objects.filter(loan__borrower=borrower)
        .select_related("loan", "posted_by", "reversed_by")
        .order_by("-posted_at", "-id"),
        kind="repayment",
        link=admin_link("loans_repayment_changelist"),
        each=each,
    )


def _bank_cards(borrower):
    def each(card):
        yield Entry(
            at=card.bound_at,
            kind="bank_card",
            title=_("Card bound: %(card)s") % {"card": card.masked},
            link=admin_link("loans_bankcard_change", card.pk),
        )
        if card.unbound_at:
            yield Entry(
                at=card.unbound_at,
                kind="bank_card",
                title=_("Card removed: %(card)s") % {"card": card.masked},
            )

    return newest(
        BankCard.objects.filter(borrower=borrower).order_by("-bound_at", "-id"),
        kind="bank_card",
        link=admin_link("loans_bankcard_changelist", query=f"borrower__id__exact={borrower.pk}"),
        each=each,
    )


def _reveals(borrower):
    def each(log):
        yield Entry(
            at=log.at,
            kind="pii",
            title=_("Revealed: %(field)s") % {"field": log.field},
            detail=log.reason,
            by=name_of(log.user),
        )

    return newest(
        PiiAccessLog.objects.filter(borrower=borrower)
        .select_related("user")
        .order_by("-at", "-id"),
        kind="pii",
        link=admin_link("loans_piiaccesslog_changelist"),
        each=each,
    )


def _audit(borrower):
    """Events recorded about the borrower or one of their loans."""
    types = ContentType.objects.get_for_models(Borrower, Loan)
    loan_ids = (
        Loan.objects.filter(borrower=borrower)
        .annotate(text_id=Cast("id", CharField()))
        .values("text_id")
    )

    def each(event):
        yield Entry(
            at=event.at,
            kind="audit",
            title=f"{ACTIONS.get(event.action, event.action)}: {event.object_repr}",
            detail=event.summary,
            by=name_of(event.actor),
        )

    return newest(
        (
            AuditEvent.objects.filter(content_type=types[Borrower], object_id=str(borrower.pk))
            | AuditEvent.objects.filter(content_type=types[Loan], object_id__in=loan_ids)
        )
        .select_related("actor")
        .order_by("-at", "-id"),
        kind="audit",
        link=admin_link("loans_auditevent_changelist"),
        each=each,
    )


SOURCES = {
    "assessment": _assessments,
    "credit_line": _credit_line_events,
    "application": _applications,
    "loan": _loans,
    "repayment": _repayments,
    "bank_card": _bank_cards,
    "pii": _reveals,
    "audit": _audit,
}
