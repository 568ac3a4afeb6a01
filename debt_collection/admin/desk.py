"""A case's page: its timeline with the actions beside it. Each action is a small form posting
to its own URL; the view calls one service and reports what it said. A refusal is shown on
the form (keeping what was typed) and as a message; nothing here decides a rule."""

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from loans.admin.common import bad_request

from .. import selectors
from ..models import CallOutcome, Channel, Complaint, ContactAttempt
from ..services import cases as case_services
from ..services import complaints as complaint_services
from ..services import contacts as contact_services
from ..services import hardship as hardship_services
from ..services import visits as visit_services
from . import forms
from .common import nul_in, run_service

CASE_TEMPLATE = "admin/collections/case.html"
CALL_TEMPLATE = "admin/collections/call.html"
# Calls allowed but without a recorded outcome, offered for recording on the case page.
PENDING_CALLS_SHOWN = 5


@dataclass(frozen=True)
class Action:
    title: Any
    form_class: type
    permission: str
    run: Any  # (case, staff, cleaned_data) -> result
    done: Any


def _complaint(case, staff, data):
    return complaint_services.register_complaint(
        borrower=case.borrower,
        kind=data["kind"],
        category=data["category"],
        description=data["description"],
        source=Complaint.Source.STAFF,
        staff=staff,
        case=case,
    )


def _plan(case, staff, data):
    return hardship_services.propose_plan(
        loan=case.loan,
        extension_days=data["extension_days"],
        new_term=data["new_term"],
        penalty_waiver=data["penalty_waiver"],
        stop_interest=data["stop_interest"],
        reason=data["reason"],
        staff=staff,
    )


class _Blocked(Exception):
    """The guard said no: shown as the rule's message, not as an error of the form."""

    def __init__(self, decision):
        super().__init__(decision.message)
        self.decision = decision


def _sms(case, staff, data):
    attempt, decision = contact_services.send_collection_sms(
        case=case, staff=staff, template_code=data["template_code"]
    )
    if not decision.allowed:
        raise _Blocked(decision)
    return attempt


ACTIONS: dict[str, Action] = {
    "sms": Action(_("Send an SMS"), forms.SmsForm, selectors.WORK_CASE, _sms, _("SMS queued.")),
    "note": Action(
        _("Add an internal note"),
        forms.NoteForm,
        selectors.WORK_CASE,
        lambda case, staff, d: case_services.add_note(case=case, staff=staff, text=d["text"]),
        _("Note added."),
    ),
    "promise": Action(
        _("Promise to pay"),
        forms.PromiseForm,
        "collections.add_promisetopay",
        lambda case, staff, d: case_services.make_promise(
            case=case, amount=d["amount"], promised_on=d["promised_on"], staff=staff
        ),
        _("Promise recorded."),
    ),
    "visit": Action(
        _("Request a home visit"),
        forms.VisitForm,
        "collections.add_homevisit",
        lambda case, staff, d: visit_services.request_visit(case=case, staff=staff, **d),
        _("Visit requested; a supervisor other than you approves it."),
    ),
    "hardship": Action(
        _("Propose a hardship plan"),
        forms.HardshipForm,
        "collections.add_hardshipplan",
        _plan,
        _("Hardship plan proposed; a supervisor other than you decides it."),
    ),
    "complaint": Action(
        _("Register a complaint or dispute"),
        forms.ComplaintForm,
        "collections.add_complaint",
        _complaint,
        _("Registered and acknowledged by SMS; collection contacts are paused."),
    ),
    "restrict": Action(
        _("Record a contact restriction"),
        forms.RestrictionForm,
        "collections.add_contactrestriction",
        lambda case, staff, d: contact_services.restrict_contact(
            borrower=case.borrower, scope=d["scope"], staff=staff, reason=d["reason"]
        ),
        _("Restriction recorded; the guard applies it from now on."),
    ),
    "escalate": Action(
        _("Escalate"),
        forms.EscalateForm,
        selectors.WORK_CASE,
        lambda case, staff, d: case_services.escalate(case=case, staff=staff, text=d["text"]),
        _("Case escalated."),
    ),
}
ACTION_NAMES = ["call", *ACTIONS]


def may_work(user) -> bool:
    return user.has_perm(selectors.WORK_CASE) or user.has_perm(selectors.SUPERVISE_CASE)


def may_act(user, name: str) -> bool:
    if not may_work(user):
        return False
    return name == "call" or user.has_perm(ACTIONS[name].permission)


def _case_url(case) -> str:
    return reverse("admin:collections_collectioncase_change", args=[case.pk])


def _outcome_prefix(attempt) -> str:
    return f"outcome-{attempt.pk}"


def case_page(modeladmin, request, case, *, bound=None):
    """The timeline and, for someone who may work the case, the action forms (`bound`: the
    one just posted and refused, shown with what was typed)."""
    bound = bound or {}
    actions = []
    pending = []
    if case.is_open and may_work(request.user):
        for name, action in ACTIONS.items():
            if may_act(request.user, name):
                form = bound.get(name) or action.form_class(prefix=name)
                url = reverse(f"admin:collections_collectioncase_{name}", args=[case.pk])
                actions.append({"name": name, "title": action.title, "form": form, "url": url})
        calls = ContactAttempt.objects.filter(
            case=case, staff=request.user, channel=Channel.CALL, allowed=True, outcome__isnull=True
        ).order_by("-at")[:PENDING_CALLS_SHOWN]
        for attempt in calls:
            prefix = _outcome_prefix(attempt)
            pending.append(
                {
                    "attempt": attempt,
                    "form": bound.get(prefix) or forms.OutcomeForm(prefix=prefix),
                    "url": reverse(
                        "admin:collections_collectioncase_outcome", args=[case.pk, attempt.pk]
                    ),
                }
            )
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": gettext("Case #%(number)s") % {"number": case.pk},
        "opts": modeladmin.model._meta,
        "case": case,
        "borrower": case.borrower,
        "loan": case.loan,
        "timeline": selectors.case_timeline(case=case),
        "actions": actions,
        "pending_calls": pending,
        "may_call": case.is_open and may_work(request.user),
        "call_url": reverse("admin:collections_collectioncase_call", args=[case.pk]),
    }
    return TemplateResponse(request, CASE_TEMPLATE, context)


def _posted_case(modeladmin, request, pk: int, name: str):
    """The case behind an action URL: 404 unless the user may see it, 403 unless they may
    do this to it."""
    case = modeladmin.visible_case(request, pk)
    if not may_act(request.user, name):
        raise PermissionDenied
    return case


def action_view(modeladmin, name: str):
    def view(request, pk: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if nul_in(request):
            return bad_request()
        case = _posted_case(modeladmin, request, pk, name)
        if name == "call":
            return _call(modeladmin, request, case)
        action = ACTIONS[name]
        form = action.form_class(request.POST, prefix=name)
        if form.is_valid():
            try:
                done, _result = run_service(
                    request, lambda: action.run(case, request.user, form.cleaned_data), form=form
                )
            except _Blocked as blocked:
                messages.error(request, _blocked_text(blocked.decision))
                return HttpResponseRedirect(_case_url(case))
            if done:
                messages.success(request, action.done)
                return HttpResponseRedirect(_case_url(case))
        return case_page(modeladmin, request, case, bound={name: form})

    return view


def _blocked_text(decision) -> str:
    return gettext("Blocked by the rule “%(rule)s”: %(message)s") % {
        "rule": decision.rule,
        "message": decision.message,
    }


def _call(modeladmin, request, case):
    """Ask the guard; if it allows the call, show the borrower's own mobile for this one
    call (the reveal is logged with the attempt) and the outcome form."""
    done, result = run_service(
        request, lambda: contact_services.call_borrower(case=case, staff=request.user)
    )
    if not done:
        return HttpResponseRedirect(_case_url(case))
    attempt, decision, mobile = result
    if not decision.allowed:
        messages.error(request, _blocked_text(decision))
        return HttpResponseRedirect(_case_url(case))
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": gettext("Call for case #%(number)s") % {"number": case.pk},
        "opts": modeladmin.model._meta,
        "case": case,
        "mobile": mobile,
        "attempt": attempt,
        "form": forms.OutcomeForm(prefix=_outcome_prefix(attempt)),
        "outcome_url": reverse(
            "admin:collections_collectioncase_outcome", args=[case.pk, attempt.pk]
        ),
    }
    return TemplateResponse(request, CALL_TEMPLATE, context)


def outcome_view(modeladmin):
    def view(request, pk: int, attempt_pk: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if nul_in(request):
            return bad_request()
        case = _posted_case(modeladmin, request, pk, "call")
        attempt = get_object_or_404(
            ContactAttempt, pk=attempt_pk, case=case, channel=Channel.CALL, allowed=True
        )
        if CallOutcome.objects.filter(attempt=attempt).exists():
            messages.warning(request, gettext("This call's outcome is already recorded."))
            return HttpResponseRedirect(_case_url(case))
        prefix = _outcome_prefix(attempt)
        form = forms.OutcomeForm(request.POST, prefix=prefix)
        if form.is_valid():
            data = form.cleaned_data
            done, _result = run_service(
                request,
                lambda: contact_services.record_call_outcome(
                    attempt=attempt,
                    outcome=data["outcome"],
                    staff=request.user,
                    note=data["note"],
                    promise_amount=data["promise_amount"],
                    promise_date=data["promise_date"],
                ),
                form=form,
            )
            if done:
                messages.success(request, gettext("Call outcome recorded."))
                return HttpResponseRedirect(_case_url(case))
        # Back to the case page, never the call page: the mobile is shown once.
        return case_page(modeladmin, request, case, bound={prefix: form})

    return view
