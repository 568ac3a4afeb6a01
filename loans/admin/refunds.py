"""退款 (refunds) in the back office: every refund with who asked for it and who approved it, a
form to request one for a loan with money to refund, and approve / reject / send again. Every
change goes through `loans.services.refunds`; these pages only ask and report."""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ..models import Loan, Refund
from ..services import refunds as refund_services
from .common import (
    BorrowerSearchMixin,
    ReadOnlyAdmin,
    ReasonForm,
    action_with_form,
    bad_request,
    has_nul,
)
from .queues import as_validation_error

# How many loans with money to refund the request form lists to pick from.
SHOWN_CANDIDATES = 20


def show_errors(form, exc: ValidationError) -> None:
    """A service's refusal on the form, by field where it names one of the form's."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


class RefundRequestForm(forms.Form):
    loan = forms.ModelChoiceField(label=_("Loan"), queryset=Loan.objects.all())
    amount = forms.DecimalField(
        label=_("Amount (yuan)"),
        required=False,
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        help_text=_("Leave empty to refund everything the loan has to refund."),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"size": 60}),
    )
    # Made when the form is shown: the same form posted twice makes one refund.
    reference = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, admin_site, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["loan"].widget = ForeignKeyRawIdWidget(
            Refund._meta.get_field("loan").remote_field, admin_site
        )


@admin.register(Refund)
class RefundAdmin(BorrowerSearchMixin, ReadOnlyAdmin):
    borrower_path = "loan__borrower"
    list_display = [
        "reference",
        "loan",
        "amount",
        "status",
        "needs_approval",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
        "bank_card",
        "completed_at",
    ]
    list_filter = ["status", "needs_approval", "requested_at"]
    list_select_related = ["loan", "requested_by", "decided_by", "bank_card"]
    search_fields = ["=reference"]
    search_help_text = _("Refund reference (RF-…), or exact ID number or mobile of the borrower.")
    date_hierarchy = "requested_at"
    actions = ["approve", "reject", "send_again"]
    fields = [
        "reference",
        "loan",
        "amount",
        "reason",
        "status",
        "needs_approval",
        ("requested_by", "requested_at"),
        ("decided_by", "decided_at"),
        "decision_note",
        ("bank_card", "sent_at"),
        ("completed_at", "failure_reason"),
        "notification",
        "ledger_entry",
    ]
    readonly_fields = [f for row in fields for f in (row if isinstance(row, tuple) else [row])]

    def search_by_term(self, request, queryset, search_term):
        term = search_term.strip()
        if term.upper().startswith("RF-"):
            return queryset.filter(reference=term.upper()), False
        return super().search_by_term(request, queryset, term)

    # --- Permissions ---------------------------------------------------------------------

    def has_add_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("loans.request_refund")

    def has_request_permission(self, request) -> bool:
        return request.user.has_perm("loans.request_refund")

    def has_approve_permission(self, request) -> bool:
        return request.user.has_perm("loans.approve_refund")

    # --- Requesting ----------------------------------------------------------------------

    def add_view(self, request, form_url="", extra_context=None):
        """ "Request a refund": the loan (typed or picked), the amount (all it has to refund,
        unless less is asked for) and why."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        if has_nul(request.POST):  # in the address: config.middleware
            return bad_request()
        if request.method == "POST":
            form = RefundRequestForm(request.POST, admin_site=self.admin_site)
            if form.is_valid():
                refund = self._request(request, form)
                if refund is not None:
                    url = reverse("admin:loans_refund_change", args=[refund.pk])
                    return HttpResponseRedirect(url)
        else:
            form = RefundRequestForm(initial=self._initial(request), admin_site=self.admin_site)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Request a refund"),
            "form": form,
            "opts": self.opts,
            "media": self.media + form.media,
            "candidates": refund_services.loans_with_money_to_refund()[:SHOWN_CANDIDATES],
            "threshold": refund_services.approval_threshold(),
        }
        return TemplateResponse(request, "admin/loans/refund_request.html", context)

    def _initial(self, request) -> dict:
        initial = {"reference": refund_services.new_reference()}
        loan_id = request.GET.get("loan", "")  # isdigit() alone passes "²", int() does not
        loan = (
            Loan.objects.filter(pk=int(loan_id)).first()
            if loan_id.isascii() and loan_id.isdigit()
            else None
        )
        if loan is not None:
            initial["loan"] = loan.pk
            initial["amount"] = refund_services.refundable_amount(loan=loan)
        return initial

    def _request(self, request, form) -> Refund | None:
        data = form.cleaned_data
        loan = data["loan"]
        amount = data["amount"] or refund_services.refundable_amount(loan=loan)
        already = Refund.objects.filter(reference=data["reference"]).exists()
        try:
            refund = refund_services.request_refund(
                loan=loan,
                amount=amount,
                actor=request.user,
                reason=data["reason"],
                reference=data["reference"],
            )
        except ValidationError as exc:
            show_errors(form, exc)
            return None
        if already:
            self.message_user(
                request,
                _("This form was already sent: refund %(ref)s was made then; nothing changed.")
                % {"ref": refund.reference},
                messages.WARNING,
            )
            return refund
        self.log_addition(request, refund, [{"added": {}}])
        if refund.status == Refund.Status.PENDING_APPROVAL:
            text = _(
                "Refund %(ref)s of ¥%(amount)s requested. It is above ¥%(threshold)s and waits "
                "for a second person's approval."
            )
        else:
            text = _("Refund %(ref)s of ¥%(amount)s sent to the gateway.")
        self.message_user(
            request,
            text
            % {
                "ref": refund.reference,
                "amount": f"{refund.amount:.2f}",
                "threshold": f"{refund_services.approval_threshold():.2f}",
            },
            messages.SUCCESS,
        )
        return refund

    # --- Deciding ------------------------------------------------------------------------

    @admin.action(description=_("Approve (someone else requested them)"), permissions=["approve"])
    def approve(self, request, queryset):
        self._each(
            request,
            queryset,
            as_validation_error(
                lambda refund: refund_services.approve_refund(refund=refund, actor=request.user)
            ),
        )

    @admin.action(description=_("Reject"), permissions=["approve"])
    def reject(self, request, queryset):
        return action_with_form(
            self,
            request,
            queryset,
            form_class=ReasonForm,
            title=_("Reject refunds"),
            apply_one=as_validation_error(
                lambda refund, data: refund_services.reject_refund(
                    refund=refund, actor=request.user, note=data["reason"]
                )
            ),
        )

    @admin.action(
        description=_("Send again (no answer from the gateway; the same reference pays once)"),
        permissions=["request"],
    )
    def send_again(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda refund: refund_services.resend_refund(refund=refund, actor=request.user),
        )

    def _each(self, request, queryset, apply_one) -> None:
        done = 0
        for refund in queryset:
            try:
                apply_one(refund)
                done += 1
            except ValidationError as exc:
                self.message_user(request, f"{refund}: {' '.join(exc.messages)}", messages.ERROR)
        if done:
            self.message_user(request, _("%(count)d done.") % {"count": done}, messages.SUCCESS)
