"""The queues of the help a borrower gets: home visits waiting for approval (上门), complaints
and disputes against their 15-day target (投诉 / 异议), hardship plans waiting for a decision
(协商还款). Every decision goes through its service; these pages only ask and report."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from loans.admin.common import BackOfficeAdmin, BorrowerSearchMixin, ReasonForm, bad_request
from loans.models import Borrower

from .. import selectors
from ..models import Complaint, HardshipPlan, HomeVisit
from ..models.help import COMPLAINT_TARGET_DAYS
from ..services import complaints as complaint_services
from ..services import hardship as hardship_services
from ..services import visits as visit_services
from .common import (
    DefaultChoiceFilter,
    MaskedBorrowerMixin,
    OwnCasesMixin,
    ask_then_apply,
    form_page,
    nul_in,
    run_service,
)
from .forms import ComplaintForm, NoteOnlyForm, ReportForm, ResolutionForm


class ReadOnlyFieldsMixin:
    """Every field shown, none edited: the services change these rows."""

    def get_readonly_fields(self, request, obj=None):
        return [f for row in self.fields for f in (row if isinstance(row, tuple) else [row])]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- Home visits ------------------------------------------------------------------------------


class VisitQueueFilter(DefaultChoiceFilter):
    title = _("queue")
    parameter_name = "queue"
    default = "waiting"
    labels = {"waiting": _("Waiting for approval"), "to_report": _("Report to write")}
    filters = {
        "waiting": Q(status=HomeVisit.Status.REQUESTED),
        "to_report": Q(status=HomeVisit.Status.APPROVED),
    }


@admin.register(HomeVisit)
class HomeVisitAdmin(OwnCasesMixin, ReadOnlyFieldsMixin, BorrowerSearchMixin, BackOfficeAdmin):
    borrower_path = "case__borrower"
    list_display = [
        "visit_date",
        "__str__",
        "case",
        "visitor",
        "status",
        "requested_by",
        "decided_by",
        "purpose",
    ]
    list_filter = [VisitQueueFilter, "status", "visit_date"]
    list_select_related = ["case__loan", "visitor__user", "requested_by", "decided_by"]
    ordering = ["visit_date", "window_start"]
    actions = ["approve", "reject", "report"]
    fields = [
        "case",
        ("visit_date", "window_start", "window_end"),
        ("visitor", "purpose"),
        ("requested_by", "requested_at"),
        "status",
        ("decided_by", "decided_at", "notice"),
        ("report", "reported_at"),
    ]

    def has_approve_permission(self, request) -> bool:
        return request.user.has_perm("collections.approve_homevisit")

    def has_report_permission(self, request) -> bool:
        return request.user.has_perm(selectors.WORK_CASE)

    @admin.action(description=_("Approve (someone else requested them)"), permissions=["approve"])
    def approve(self, request, queryset):
        return ask_then_apply(
            self,
            request,
            queryset,
            form_class=NoteOnlyForm,
            title=_("Approve home visits: the visit notice SMS goes to the borrower"),
            apply_one=lambda visit, data: visit_services.decide_visit(
                visit=visit, staff=request.user, approve=True, note=data["note"]
            ),
        )

    @admin.action(description=_("Reject"), permissions=["approve"])
    def reject(self, request, queryset):
        return ask_then_apply(
            self,
            request,
            queryset,
            form_class=ReasonForm,
            title=_("Reject home visits"),
            apply_one=lambda visit, data: visit_services.decide_visit(
                visit=visit, staff=request.user, approve=False, note=data["reason"]
            ),
        )

    @admin.action(description=_("Write the visit report"), permissions=["report"])
    def report(self, request, queryset):
        return ask_then_apply(
            self,
            request,
            queryset,
            form_class=ReportForm,
            title=_("Visit report"),
            apply_one=lambda visit, data: visit_services.report_visit(
                visit=visit, staff=request.user, report=data["report"]
            ),
        )


# --- Complaints and disputes ------------------------------------------------------------------


class ComplaintQueueFilter(DefaultChoiceFilter):
    title = _("queue")
    parameter_name = "queue"
    default = "open"
    labels = {"open": _("Open"), "resolved": _("Resolved")}
    filters = {"open": Q(resolved_at__isnull=True), "resolved": Q(resolved_at__isnull=False)}


class ComplaintAddForm(ComplaintForm):
    borrower = forms.ModelChoiceField(label=_("Borrower"), queryset=Borrower.objects.all())
    field_order = ["borrower", "kind", "category", "description"]

    def __init__(self, *args, admin_site, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["borrower"].widget = ForeignKeyRawIdWidget(
            Complaint._meta.get_field("borrower").remote_field, admin_site
        )


@admin.register(Complaint)
class ComplaintAdmin(
    MaskedBorrowerMixin, BorrowerSearchMixin, ReadOnlyFieldsMixin, BackOfficeAdmin
):
    list_display = [
        "reference",
        "received_at",
        "kind",
        "category",
        "borrower_masked",
        "case",
        "source",
        "age_days",
        "against_target",
        "resolved_at",
    ]
    list_filter = [ComplaintQueueFilter, "kind", "category", "source", "received_at"]
    list_select_related = ["borrower", "case__loan"]
    ordering = ["received_at"]
    actions = ["resolve"]
    fields = [
        ("reference", "kind", "category", "source"),
        ("borrower_masked", "case"),
        "description",
        ("received_at", "registered_by", "acknowledgement"),
        "resolution",
        ("resolved_at", "resolved_by"),
    ]

    @admin.display(description=_("age (days)"), ordering="-received_at")
    def age_days(self, obj):
        return obj.days_open

    @admin.display(description=_("15-day target"))
    def against_target(self, obj):
        left = COMPLAINT_TARGET_DAYS - obj.days_open
        if obj.resolved_at:
            return gettext("met") if not obj.overdue_against_target else gettext("missed")
        if left < 0:
            return ngettext("%(n)d day over", "%(n)d days over", -left) % {"n": -left}
        return ngettext("%(n)d day left", "%(n)d days left", left) % {"n": left}

    def has_add_permission(self, request) -> bool:
        return request.user.has_perm("collections.add_complaint")

    def has_resolve_permission(self, request) -> bool:
        return request.user.has_perm("collections.resolve_complaint")

    def add_view(self, request, form_url="", extra_context=None):
        """Registered by staff for the borrower (the portal uses the same service)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        if nul_in(request):
            return bad_request()
        form = ComplaintAddForm(request.POST or None, admin_site=self.admin_site)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            done, _complaint = run_service(
                request,
                lambda: complaint_services.register_complaint(
                    borrower=data["borrower"],
                    kind=data["kind"],
                    category=data["category"],
                    description=data["description"],
                    source=Complaint.Source.STAFF,
                    staff=request.user,
                ),
                form=form,
            )
            if done:
                messages.success(
                    request,
                    gettext("Registered and acknowledged by SMS; collection contacts are paused."),
                )
                url = "admin:collections_complaint_changelist"
                if not self.has_view_permission(request):
                    url = "admin:index"
                return HttpResponseRedirect(reverse(url))
        return form_page(
            self,
            request,
            form=form,
            title=_("Register a complaint or dispute"),
            intro=_(
                "While it is open, every collection contact with the borrower is paused. It is "
                "answered in writing within %(days)d days."
            )
            % {"days": COMPLAINT_TARGET_DAYS},
        )

    @admin.action(description=_("Resolve in writing"), permissions=["resolve"])
    def resolve(self, request, queryset):
        return ask_then_apply(
            self,
            request,
            queryset.filter(resolved_at__isnull=True),
            form_class=ResolutionForm,
            title=_("Resolve complaints and disputes"),
            apply_one=lambda complaint, data: complaint_services.resolve_complaint(
                complaint=complaint, staff=request.user, resolution=data["resolution"]
            ),
        )


# --- Hardship plans ---------------------------------------------------------------------------


class PlanQueueFilter(DefaultChoiceFilter):
    title = _("queue")
    parameter_name = "queue"
    default = "waiting"
    labels = {"waiting": _("Waiting for a decision"), "kept": _("Being kept")}
    filters = {
        "waiting": Q(status=HardshipPlan.Status.PROPOSED),
        "kept": Q(status=HardshipPlan.Status.APPROVED),
    }


MAKER_CHECKER = _("A plan is decided by a supervisor who did not propose it.")


@admin.register(HardshipPlan)
class HardshipPlanAdmin(OwnCasesMixin, ReadOnlyFieldsMixin, BorrowerSearchMixin, BackOfficeAdmin):
    borrower_path = "loan__borrower"
    list_display = [
        "__str__",
        "proposed_at",
        "loan",
        "case",
        "terms",
        "proposer",
        "status",
        "decided_by",
        "apr_percent",
    ]
    list_filter = [PlanQueueFilter, "status", "proposed_by_borrower", "proposed_at"]
    list_select_related = ["loan", "case__loan", "proposed_by", "decided_by"]
    ordering = ["proposed_at"]
    actions = ["approve", "reject"]
    fields = [
        ("loan", "case"),
        "terms",
        "reason",
        ("proposer", "proposed_at"),
        "status",
        ("decided_by", "decided_at", "decision_note"),
        ("revision_id", "apr_percent", "ended_on"),
    ]

    @admin.display(description=_("offer"))
    def terms(self, obj):
        return selectors.plan_terms(obj)

    @admin.display(description=_("proposed by"))
    def proposer(self, obj):
        if obj.proposed_by_borrower:
            return gettext("the borrower")
        return obj.proposed_by.get_username() if obj.proposed_by_id else "—"

    def has_decide_permission(self, request) -> bool:
        return request.user.has_perm("collections.decide_hardshipplan")

    def _decide(self, request, queryset, *, approve: bool, form_class, note_field: str, title):
        def apply_one(plan, data):
            try:
                return hardship_services.decide_plan(
                    plan=plan, staff=request.user, approve=approve, note=data[note_field]
                )
            except PermissionDenied as exc:
                raise PermissionDenied(str(exc) or MAKER_CHECKER) from exc

        return ask_then_apply(
            self,
            request,
            queryset.filter(status=HardshipPlan.Status.PROPOSED),
            form_class=form_class,
            title=title,
            apply_one=apply_one,
        )

    @admin.action(description=_("Approve (someone else proposed them)"), permissions=["decide"])
    def approve(self, request, queryset):
        return self._decide(
            request,
            queryset,
            approve=True,
            form_class=NoteOnlyForm,
            note_field="note",
            title=_("Approve hardship plans: the loan is re-scheduled"),
        )

    @admin.action(description=_("Reject"), permissions=["decide"])
    def reject(self, request, queryset):
        return self._decide(
            request,
            queryset,
            approve=False,
            form_class=ReasonForm,
            note_field="reason",
            title=_("Reject hardship plans"),
        )
