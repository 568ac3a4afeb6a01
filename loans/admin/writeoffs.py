"""核销 (write-offs) in the back office: proposals with who proposed and who decided, a form to
propose one for a loan past the threshold, the candidates ready to pick, and approve / reject.
Every change goes through `loans.services.write_offs`; these pages only ask and report."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .. import delinquency
from ..models import Loan, WriteOff
from ..services import write_offs as write_off_services
from .common import (
    BorrowerSearchMixin,
    ReadOnlyAdmin,
    ReasonForm,
    action_with_form,
    bad_request,
    has_nul,
)
from .queues import as_validation_error
from .refunds import show_errors

SHOWN_CANDIDATES = 20
# The loan list filtered to the candidates (filters LoanAdmin offers).
CANDIDATES_QUERY = "status__exact=active&write_off_candidate__exact=1"


class ProposeWriteOffForm(forms.Form):
    loan = forms.ModelChoiceField(label=_("Loan"), queryset=Loan.objects.all())
    reason = forms.CharField(
        label=_("Why write it off"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )

    def __init__(self, *args, admin_site, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["loan"].widget = ForeignKeyRawIdWidget(
            WriteOff._meta.get_field("loan").remote_field, admin_site
        )


class ApprovalForm(forms.Form):
    note = forms.CharField(
        label=_("Note"), max_length=300, required=False, widget=forms.TextInput(attrs={"size": 60})
    )


@admin.register(WriteOff)
class WriteOffAdmin(BorrowerSearchMixin, ReadOnlyAdmin):
    borrower_path = "loan__borrower"
    change_list_template = "admin/loans/writeoff/change_list.html"
    list_display = [
        "loan",
        "status",
        "days_past_due",
        "proposed_by",
        "proposed_at",
        "decided_by",
        "decided_at",
        "written_off_on",
        "total_written_off",
    ]
    list_filter = ["status", "proposed_at", "written_off_on"]
    list_select_related = ["loan", "proposed_by", "decided_by"]
    actions = ["approve", "reject"]
    fields = [
        "loan",
        "status",
        "reason",
        "days_past_due",
        ("proposed_by", "proposed_at"),
        ("decided_by", "decided_at"),
        "decision_note",
        "written_off_on",
        ("principal", "interest", "penalty", "fee"),
    ]
    readonly_fields = [f for row in fields for f in (row if isinstance(row, tuple) else [row])]

    @admin.display(description=_("written off (yuan)"))
    def total_written_off(self, obj):
        return f"{obj.total:.2f}" if obj.status == WriteOff.Status.APPROVED else "—"

    # --- Permissions ---------------------------------------------------------------------

    def has_add_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("loans.propose_writeoff")

    def has_approve_permission(self, request) -> bool:
        return request.user.has_perm("loans.approve_writeoff")

    def changelist_view(self, request, extra_context=None):
        url = reverse("admin:loans_loan_changelist")
        extra_context = {**(extra_context or {}), "candidates_url": f"{url}?{CANDIDATES_QUERY}"}
        return super().changelist_view(request, extra_context)

    # --- Proposing -----------------------------------------------------------------------

    def add_view(self, request, form_url="", extra_context=None):
        """ "Propose a write-off" of an active loan more than WRITE_OFF_DPD days past due."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        if has_nul(request.POST):  # in the address: config.middleware
            return bad_request()
        if request.method == "POST":
            form = ProposeWriteOffForm(request.POST, admin_site=self.admin_site)
            if form.is_valid():
                try:
                    write_off = write_off_services.propose_write_off(
                        loan=form.cleaned_data["loan"],
                        actor=request.user,
                        reason=form.cleaned_data["reason"],
                    )
                except ValidationError as exc:
                    show_errors(form, exc)
                else:
                    self.log_addition(request, write_off, [{"added": {}}])
                    self.message_user(
                        request,
                        _("Write-off of %(loan)s proposed; someone else must approve it.")
                        % {"loan": write_off.loan},
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(reverse("admin:loans_writeoff_changelist"))
        else:
            loan_id = request.GET.get("loan", "")  # isdigit() alone passes "²", int() does not
            form = ProposeWriteOffForm(
                initial={"loan": int(loan_id)} if loan_id.isascii() and loan_id.isdigit() else {},
                admin_site=self.admin_site,
            )
        candidates = (
            write_off_services.write_off_candidates()
            .exclude(write_offs__status=WriteOff.Status.PROPOSED)
            .order_by("-days_past_due", "pk")[:SHOWN_CANDIDATES]
        )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Propose a write-off"),
            "form": form,
            "opts": self.opts,
            "media": self.media + form.media,
            "candidates": candidates,
            "threshold": delinquency.WRITE_OFF_DPD,
        }
        return TemplateResponse(request, "admin/loans/writeoff_propose.html", context)

    # --- Deciding ------------------------------------------------------------------------

    @admin.action(description=_("Approve (someone else proposed them)"), permissions=["approve"])
    def approve(self, request, queryset):
        return action_with_form(
            self,
            request,
            queryset,
            form_class=ApprovalForm,
            title=_("Approve write-offs"),
            apply_one=as_validation_error(
                lambda write_off, data: write_off_services.approve_write_off(
                    write_off=write_off, actor=request.user, note=data["note"]
                )
            ),
        )

    @admin.action(description=_("Reject"), permissions=["approve"])
    def reject(self, request, queryset):
        return action_with_form(
            self,
            request,
            queryset,
            form_class=ReasonForm,
            title=_("Reject write-offs"),
            apply_one=as_validation_error(
                lambda write_off, data: write_off_services.reject_write_off(
                    write_off=write_off, actor=request.user, note=data["reason"]
                )
            ),
        )
