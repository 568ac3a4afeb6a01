"""Maker-checker in the back office: every proposal waiting for a second person, oldest first
with its age and who is working it, approve / reject / claim / release; and the thresholds
above which refunds and manual postings need approval (a superuser changes them). Every change
goes through `loans.approvals`; these pages only ask and report."""

from django import forms
from django.contrib import admin
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .. import approvals
from ..models import Approval, ApprovalThreshold
from .common import BackOfficeAdmin, action_with_form
from .queues import ClaimFilter, QueueAdminMixin, as_validation_error


class OptionalNoteForm(forms.Form):
    note = forms.CharField(
        label=_("Note"), max_length=300, required=False, widget=forms.TextInput(attrs={"size": 60})
    )


class RejectForm(forms.Form):
    note = forms.CharField(
        label=_("Why it is rejected"),
        max_length=300,
        widget=forms.TextInput(attrs={"size": 60}),
    )


class StatusFilter(admin.SimpleListFilter):
    """Starts on the work: proposals waiting for a decision."""

    title = _("status")
    parameter_name = "state"
    ALL = "all"

    def lookups(self, request, model_admin):
        return [(self.ALL, _("All")), *Approval.Status.choices]

    def choices(self, changelist):
        current = self.value() or Approval.Status.PROPOSED
        for value, label in self.lookup_choices:
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        value = self.value() or Approval.Status.PROPOSED
        if value == self.ALL:
            return queryset
        if value in Approval.Status.values:
            return queryset.filter(status=value)
        return queryset.none()


class KindFilter(admin.SimpleListFilter):
    title = _("kind")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [(k.code, k.label) for k in approvals.KINDS.values()]

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


class MineToDecideFilter(admin.SimpleListFilter):
    """What I can decide now: waiting, of a kind I approve, proposed by someone else, not held
    by someone else's claim."""

    title = _("to decide")
    parameter_name = "decide"

    def lookups(self, request, model_admin):
        return [("mine", _("Mine to decide"))]

    def queryset(self, request, queryset):
        if self.value() != "mine":
            return queryset
        user = request.user
        kinds = [k.code for k in approvals.KINDS.values() if user.has_perm(k.approve_permission)]
        return queryset.filter(
            Q(claimed_by__isnull=True) | Q(claimed_by=user.pk),
            status=Approval.Status.PROPOSED,
            kind__in=kinds,
        ).exclude(proposed_by=user.pk)


@admin.register(Approval)
class ApprovalAdmin(QueueAdminMixin, BackOfficeAdmin):
    queue_since = "proposed_at"
    list_display = [
        "id",
        "kind_label",
        "summary",
        "amount",
        "proposer",
        "proposed_local",
        "queue_age",
        "claim_display",
        "status",
        "decided_by",
    ]
    list_display_links = ["id", "summary"]
    list_filter = [StatusFilter, MineToDecideFilter, KindFilter, ClaimFilter]
    list_select_related = ["proposed_by", "decided_by", "claimed_by"]
    ordering = ["proposed_at", "id"]  # oldest first: a work list
    actions = ["approve", "reject", "claim", "release"]
    fields = [
        ("kind_label", "status"),
        "summary",
        ("amount", "target_link"),
        "reason",
        ("proposer", "proposed_local", "queue_age"),
        "claim_display",
        ("decided_by", "decided_local"),
        "decision_note",
    ]
    readonly_fields = [
        "kind_label",
        "status",
        "summary",
        "amount",
        "target_link",
        "reason",
        "proposer",
        "proposed_local",
        "queue_age",
        "claim_display",
        "decided_by",
        "decided_local",
        "decision_note",
    ]

    def in_queue(self, obj) -> bool:
        return obj.status == Approval.Status.PROPOSED

    def get_queryset(self, request):
        return approvals.visible_approvals(super().get_queryset(request), request.user)

    # --- Columns ---------------------------------------------------------------------------

    @admin.display(description=_("kind"), ordering="kind")
    def kind_label(self, obj):
        kind = approvals.KINDS.get(obj.kind)
        return kind.label if kind else obj.kind

    @admin.display(description=_("proposed by"))
    def proposer(self, obj):
        return obj.proposed_by.get_username() if obj.proposed_by_id else _("the borrower")

    @admin.display(description=_("proposed at"), ordering="proposed_at")
    def proposed_local(self, obj):
        return timezone.localtime(obj.proposed_at).strftime("%Y-%m-%d %H:%M")

    @admin.display(description=_("decided at"), ordering="decided_at")
    def decided_local(self, obj):
        if not obj.decided_at:
            return "—"
        return timezone.localtime(obj.decided_at).strftime("%Y-%m-%d %H:%M")

    @admin.display(description=_("record"))
    def target_link(self, obj):
        if not obj.content_type_id:
            return obj.object_repr or "—"
        opts = obj.content_type.model_class()._meta
        try:
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.object_id])
        except NoReverseMatch:
            return obj.object_repr
        return format_html('<a href="{}">{}</a>', url, obj.object_repr)

    target_link.exportable = False

    # --- Permissions -----------------------------------------------------------------------

    def has_add_permission(self, request) -> bool:
        return False  # proposals are made where the work is (a refund, a write-off, a posting)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_decide_permission(self, request) -> bool:
        return any(request.user.has_perm(k.approve_permission) for k in approvals.KINDS.values())

    has_work_queue_permission = has_decide_permission

    # --- Deciding --------------------------------------------------------------------------

    @admin.action(description=_("Approve (someone else proposed them)"), permissions=["decide"])
    def approve(self, request, queryset):
        return action_with_form(
            self,
            request,
            queryset,
            form_class=OptionalNoteForm,
            title=_("Approve proposals: each is carried out at once"),
            apply_one=as_validation_error(
                lambda approval, data: approvals.approve(
                    approval=approval, actor=request.user, note=data["note"]
                )
            ),
        )

    @admin.action(description=_("Reject"), permissions=["decide"])
    def reject(self, request, queryset):
        return action_with_form(
            self,
            request,
            queryset,
            form_class=RejectForm,
            title=_("Reject proposals"),
            apply_one=as_validation_error(
                lambda approval, data: approvals.reject(
                    approval=approval, actor=request.user, note=data["note"]
                )
            ),
        )


@admin.register(ApprovalThreshold)
class ApprovalThresholdAdmin(BackOfficeAdmin):
    """A superuser sets how large a refund or a manual posting may be before a second person
    must approve it. Write-offs, waivers and hardship plans always need one."""

    list_display = ["kind", "amount", "updated_at"]
    fields = ["kind", "amount", "updated_at"]
    readonly_fields = ["kind", "updated_at"]

    def has_add_permission(self, request) -> bool:
        return False  # one row per kind, made by the migration

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser
