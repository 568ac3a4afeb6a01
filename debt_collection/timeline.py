"""Collections' part of a borrower's timeline (loans/timeline.py describes the contract): case
events, contact attempts (allowed, or blocked with the rule) and call outcomes, promises to
pay, home visits, complaints and hardship plans.

A collector sees only what belongs to their own cases, and a borrower without one of their
cases not at all (`allows`); supervisors and read-only oversight see every case."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loans.timeline import Entry, admin_link, end_of, name_of, newest

from .models import CaseEvent, Complaint, ContactAttempt, HardshipPlan, HomeVisit, PromiseToPay
from .selectors import WORK_CASE, sees_every_case, visible_cases
from .selectors.timeline import plan_terms, rule_message

KINDS = {
    "case": gettext_lazy("Collection cases"),
    "contact": gettext_lazy("Collection contacts"),
    "promise": gettext_lazy("Promises to pay"),
    "visit": gettext_lazy("Home visits"),
    "complaint": gettext_lazy("Complaints"),
    "hardship": gettext_lazy("Hardship plans"),
}
VIEW_CASE = "collections.view_collectioncase"
PERMISSIONS = {
    "case": VIEW_CASE,
    "contact": VIEW_CASE,
    "promise": "collections.view_promisetopay",
    "visit": "collections.view_homevisit",
    "complaint": "collections.view_complaint",
    "hardship": "collections.view_hardshipplan",
}


def _own_cases_only(user) -> bool:
    return user.has_perm(WORK_CASE) and not sees_every_case(user)


def allows(borrower, *, user) -> bool:
    """A collector opens the timeline of a borrower of one of their own cases only."""
    if not _own_cases_only(user):
        return True
    return visible_cases(user=user).filter(borrower=borrower).exists()


def kinds(*, user) -> dict[str, str]:
    return {kind: label for kind, label in KINDS.items() if user.has_perm(PERMISSIONS[kind])}


def entries(borrower, *, user, kinds) -> list[Entry]:
    cases = visible_cases(user=user).filter(borrower=borrower).values("pk")
    every = not _own_cases_only(user)
    found: list[Entry] = []
    for kind in kinds:
        if kind in SOURCES and user.has_perm(PERMISSIONS[kind]):
            found.extend(SOURCES[kind](borrower, cases, every))
    return found


def _case_link(case_id) -> str:
    return admin_link("collections_collectioncase_change", case_id) if case_id else ""


def _events(borrower, cases, every):
    def each(event):
        title = str(event.get_kind_display())
        if event.kind == CaseEvent.Kind.ASSIGNED and event.collector_id:
            title = f"{title}: {event.collector.staff_number}"
        elif event.status:
            title = f"{title}: {event.get_status_display()}"
        yield Entry(
            at=event.at,
            kind="case",
            title=_("Case %(case)s: %(event)s") % {"case": event.case_id, "event": title},
            detail=event.text,
            link=_case_link(event.case_id),
            by=name_of(event.actor),
        )

    return newest(
        CaseEvent.objects.filter(case__in=cases)
        .select_related("actor", "collector")
        .order_by("-at", "-id"),
        kind="case",
        link=admin_link("collections_collectioncase_changelist"),
        each=each,
    )


def _contacts(borrower, cases, every):
    """Attempts on the viewer's cases; with every case in sight, the automated SMS logged
    without a case too."""
    attempts = ContactAttempt.objects.filter(case__in=cases)
    if every:
        attempts = attempts | ContactAttempt.objects.filter(borrower=borrower, case__isnull=True)

    def each(attempt):
        channel = attempt.get_channel_display()
        if attempt.allowed:
            title, detail = str(channel), attempt.template_code
        else:
            title = _("%(channel)s blocked") % {"channel": channel}
            detail = rule_message(attempt.blocked_rule)
        yield Entry(
            at=attempt.at,
            kind="contact",
            title=title,
            detail=detail,
            link=_case_link(attempt.case_id),
            by=name_of(attempt.staff),
        )
        outcome = getattr(attempt, "outcome", None)
        if outcome is not None:
            yield Entry(
                at=outcome.recorded_at,
                kind="contact",
                title=_("Call outcome: %(outcome)s") % {"outcome": outcome.get_outcome_display()},
                detail=outcome.note,
                link=_case_link(attempt.case_id),
                by=name_of(outcome.recorded_by),
            )

    return newest(
        attempts.select_related("staff", "outcome__recorded_by").order_by("-at", "-id"),
        kind="contact",
        link=admin_link("collections_contactattempt_changelist"),
        each=each,
    )


def _promises(borrower, cases, every):
    def each(promise):
        yield Entry(
            at=end_of(promise.made_on),
            kind="promise",
            title=_("Promise to pay by %(day)s") % {"day": promise.promised_on},
            detail=str(promise.get_status_display()),
            link=_case_link(promise.case_id),
            amount=promise.amount,
            by=name_of(promise.made_by),
        )

    return newest(
        PromiseToPay.objects.filter(case__in=cases)
        .select_related("made_by")
        .order_by("-made_on", "-id"),
        kind="promise",
        link=admin_link("collections_promisetopay_changelist"),
        each=each,
    )


def _visits(borrower, cases, every):
    def each(visit):
        yield Entry(
            at=visit.requested_at,
            kind="visit",
            title=_("Home visit %(when)s, visitor %(staff_number)s")
            % {"when": visit, "staff_number": visit.visitor.staff_number},
            detail=str(visit.get_status_display()),
            link=_case_link(visit.case_id),
            by=name_of(visit.requested_by),
        )

    return newest(
        HomeVisit.objects.filter(case__in=cases)
        .select_related("visitor", "requested_by")
        .order_by("-requested_at", "-id"),
        kind="visit",
        link=admin_link("collections_homevisit_changelist"),
        each=each,
    )


def _complaints(borrower, cases, every):
    def each(complaint):
        yield Entry(
            at=complaint.received_at,
            kind="complaint",
            title=f"{complaint.reference} {complaint.get_kind_display()}: "
            f"{complaint.get_category_display()}",
            detail=_("Resolved") if complaint.resolved_at else _("Open"),
            link=admin_link("collections_complaint_change", complaint.pk),
            by=name_of(complaint.registered_by),
        )

    return newest(
        Complaint.objects.filter(borrower=borrower)
        .select_related("registered_by")
        .order_by("-received_at", "-id"),
        kind="complaint",
        link=admin_link("collections_complaint_changelist"),
        each=each,
    )


def _plans(borrower, cases, every):
    plans = HardshipPlan.objects.filter(loan__borrower=borrower)
    if not every:
        plans = plans.filter(case__in=cases)

    def each(plan):
        yield Entry(
            at=plan.proposed_at,
            kind="hardship",
            title=_("Hardship plan proposed: %(terms)s") % {"terms": plan_terms(plan)},
            detail=str(plan.get_status_display()),
            link=admin_link("collections_hardshipplan_change", plan.pk),
            by=_("the borrower") if plan.proposed_by_borrower else name_of(plan.proposed_by),
        )

    return newest(
        plans.select_related("proposed_by").order_by("-proposed_at", "-id"),
        kind="hardship",
        link=admin_link("collections_hardshipplan_changelist"),
        each=each,
    )


SOURCES = {
    "case": _events,
    "contact": _contacts,
    "promise": _promises,
    "visit": _visits,
    "complaint": _complaints,
    "hardship": _plans,
}
