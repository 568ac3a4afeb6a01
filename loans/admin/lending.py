"""借款 (lending) in the back office: products, the application review queue and contracts.
Loans, repayments and the ledger are in `loans.admin.loans`. Every change goes through
`loans.services`; these pages only ask for input and report what the services said."""

import functools
import re
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db.models import Case, F, IntegerField, Value, When
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import content_disposition_header
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from .. import pricing, queues
from ..models import Contract, LoanApplication, LoanProduct
from ..models.products import METHOD_LABELS
from ..reasons import RULE_LABELS
from ..scorecard import MAX_DAILY_RATE
from ..services import lending as lending_services
from ..services.credit import RATE_BAND_PERCENT_TEXT
from ..validators import lazy_interpolate
from .common import (
    BackOfficeAdmin,
    BorrowerSearchMixin,
    ReadOnlyAdmin,
    action_with_form,
    format_percent,
)
from .queues import ClaimFilter, QueueAdminMixin

# --- Products -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _worst_apr(
    methods: tuple[str, ...],
    terms: tuple[int, ...],
    amounts: frozenset[Decimal],
    daily_rate: Decimal,
    fee_percent: Decimal,
) -> Decimal:
    """`pricing.worst_case_apr`, remembered: the product list shows it on every row."""
    return pricing.worst_case_apr(
        methods=methods,
        terms=terms,
        amounts=amounts,
        daily_rate=daily_rate,
        fee_percent=fee_percent,
    ).apr


class TermsField(forms.Field):
    """Terms typed as "5, 10, 20", kept as [5, 10, 20]."""

    widget = forms.TextInput(attrs={"size": 20, "placeholder": "5, 10, 20"})
    default_error_messages = {
        "invalid": _("Enter whole months separated by commas, e.g. 5, 10, 20."),
    }

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        return value

    def to_python(self, value):
        text = (value or "").strip() if isinstance(value, str) else value
        if text in self.empty_values:
            return []
        if isinstance(text, list):  # the stored value, when comparing with the initial one
            return text
        parts = [p for p in re.split(r"[,，;；\s]+", text) if p]
        if not parts or not all(re.fullmatch(r"[0-9]{1,6}", p) for p in parts):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return sorted({int(p) for p in parts})


class LoanProductForm(forms.ModelForm):
    methods = forms.MultipleChoiceField(
        label=_("repayment methods"), choices=METHOD_LABELS, widget=forms.CheckboxSelectMultiple
    )
    terms = TermsField(
        label=_("terms (months)"), help_text=_("Whole months separated by commas, e.g. 5, 10, 20.")
    )

    class Meta:
        model = LoanProduct
        fields = [
            "code",
            "name",
            "methods",
            "terms",
            "min_amount",
            "max_amount",
            "amount_step",
            "max_daily_rate",
            "penalty_multiplier",
            "grace_days",
            "upfront_fee_percent",
            "auto_approve_max_amount",
            "is_active",
        ]
        help_texts = {
            "max_daily_rate": lazy_interpolate(
                _("As a fraction: %(rate)s is %(percent)s %% a day."),
                {"rate": MAX_DAILY_RATE, "percent": RATE_BAND_PERCENT_TEXT["max"]},
            )
        }

    def clean_upfront_fee_percent(self):
        # A fee of the whole amount leaves the borrower nothing: no APR can be computed, so
        # refuse it here before the model's APR check sees it.
        fee = self.cleaned_data["upfront_fee_percent"]
        if fee is not None and fee >= 100:
            # xgettext:no-python-format
            raise ValidationError(_("The upfront fee must be below 100 % of the amount."))
        return fee


@admin.register(LoanProduct)
class LoanProductAdmin(BackOfficeAdmin):
    form = LoanProductForm
    list_display = [
        "code",
        "name",
        "methods_display",
        "terms_display",
        "min_amount",
        "max_amount",
        "max_daily_rate_percent",
        "worst_apr",
        "penalty_multiplier",
        "grace_days",
        "fee_percent",
        "is_active",
    ]
    list_display_links = ["code", "name"]
    list_filter = ["is_active"]
    search_fields = ["code", "name"]
    fieldsets = [
        (None, {"fields": [("code", "name"), "is_active"]}),
        (
            _("What can be borrowed"),
            {"fields": ["methods", "terms", ("min_amount", "max_amount"), "amount_step"]},
        ),
        (
            _("Price"),
            {
                "fields": [
                    "max_daily_rate",
                    "upfront_fee_percent",
                    ("penalty_multiplier", "grace_days"),
                ],
                "description": lazy_interpolate(
                    _(
                        "A product whose APR (fees included) could exceed %(cap)s %% "
                        "cannot be saved."
                    ),
                    {"cap": pricing.APR_CAP_PERCENT},
                ),
            },
        ),
        (_("Review"), {"fields": ["auto_approve_max_amount"]}),
    ]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # loans point at their product; retire one by unticking "active"

    @admin.display(description=_("repayment methods"))
    def methods_display(self, obj):
        labels = dict(METHOD_LABELS)
        return ", ".join(str(labels.get(m, m)) for m in obj.methods or [])

    @admin.display(description=_("terms (months)"))
    def terms_display(self, obj):
        return ", ".join(str(t) for t in obj.terms or [])

    @admin.display(description=_("highest daily rate"), ordering="max_daily_rate")
    def max_daily_rate_percent(self, obj):
        return format_percent(obj.max_daily_rate)

    @admin.display(description=_("worst-case APR"))
    def worst_apr(self, obj):
        try:
            apr = _worst_apr(
                tuple(obj.methods),
                tuple(obj.terms),
                frozenset({obj.min_amount, obj.max_amount}),
                obj.max_daily_rate,
                obj.upfront_fee_percent,
            )
        except (TypeError, ValueError):  # a row saved around the form's checks
            return "—"
        if apr > pricing.APR_CAP_PERCENT:
            return format_html('<strong class="apr-over-cap">{}%</strong>', apr)
        return f"{apr}%"

    @admin.display(description=_("upfront fee"), ordering="upfront_fee_percent")
    def fee_percent(self, obj):
        return f"{obj.upfront_fee_percent}%"


# --- Applications -------------------------------------------------------------------------


class OptionalNoteForm(forms.Form):
    note = forms.CharField(
        label=_("Note"), required=False, max_length=300, widget=forms.Textarea(attrs={"rows": 3})
    )


class NoteForm(forms.Form):
    note = forms.CharField(
        label=_("Note"), max_length=300, widget=forms.Textarea(attrs={"rows": 3})
    )


@admin.register(LoanApplication)
class LoanApplicationAdmin(QueueAdminMixin, BorrowerSearchMixin, ReadOnlyAdmin):
    queue_permission = "loans.decide_loanapplication"  # the manual review queue's workers
    list_display = [
        "id",
        "borrower",
        "product",
        "amount",
        "term",
        "method",
        "daily_rate_percent",
        "apr",
        "status",
        "review_reason",
        "created_at",
        "queue_age",
        "claim_display",
    ]
    list_display_links = ["id", "borrower"]
    # "Waiting for review" is the first choice of the status filter.
    list_filter = ["status", ClaimFilter, "method", "product", "created_at"]
    list_select_related = ["borrower", "product", "claimed_by"]
    actions = ["approve", "reject", "claim", "release", "cancel", "disburse"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "borrower",
                    ("product", "credit_line"),
                    ("amount", "term", "method"),
                    ("daily_rate", "apr_percent"),
                    ("status", "created_at"),
                    ("contract_link", "loan_link"),
                ]
            },
        ),
        (
            _("Decision"),
            {
                "fields": [
                    "review_reason",
                    "reasons_failed",
                    "decision_note",
                    ("decided_by", "decided_at"),
                ]
            },
        ),
    ]
    readonly_fields = ["contract_link", "loan_link", "reasons_failed"]

    @admin.display(description=_("why not eligible"))
    def reasons_failed(self, obj):
        return "; ".join(str(RULE_LABELS.get(code, code)) for code in obj.reason_codes) or "–"

    def in_queue(self, obj) -> bool:
        return obj.status == LoanApplication.Status.PENDING_REVIEW

    def get_ordering(self, request):
        # The review queue first, oldest first (a work list), then the rest newest first.
        pending = LoanApplication.Status.PENDING_REVIEW
        return [
            Case(
                When(status=pending, then=Value(0)), default=Value(1), output_field=IntegerField()
            ).asc(),
            Case(When(status=pending, then=F("created_at"))).asc(nulls_last=True),
            "-created_at",
            "-id",
        ]

    @admin.display(description=_("daily rate"), ordering="daily_rate")
    def daily_rate_percent(self, obj):
        return format_percent(obj.daily_rate)

    @admin.display(description=_("APR"), ordering="apr_percent")
    def apr(self, obj):
        return f"{obj.apr_percent}%"

    @admin.display(description=_("contract"))
    def contract_link(self, obj):
        try:
            contract = obj.contract
        except ObjectDoesNotExist:
            return "—"
        url = reverse("admin:loans_contract_change", args=[contract.pk])
        return format_html(
            '<a href="{}">{}</a> ({})', url, contract.number, contract.get_status_display()
        )

    @admin.display(description=_("loan"))
    def loan_link(self, obj):
        try:
            loan = obj.loan
        except ObjectDoesNotExist:
            return "—"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:loans_loan_change", args=[loan.pk]), loan
        )

    def has_decide_permission(self, request) -> bool:
        return request.user.has_perm("loans.decide_loanapplication")

    def has_operate_permission(self, request) -> bool:
        return request.user.has_perm("loans.change_loanapplication")

    @admin.action(description=_("Approve"), permissions=["decide"])
    def approve(self, request, queryset):
        return action_with_form(
            self,
            request,
            queryset,
            form_class=OptionalNoteForm,
            title=_("Approve loan applications"),
            apply_one=lambda app, data: queues.decide_queue_item(
                item=app,
                actor=request.user,
                decide=lambda: lending_services.approve_application(
                    application=app, actor=request.user, note=data["note"]
                ),
            ),
        )

    @admin.action(description=_("Reject"), permissions=["decide"])
    def reject(self, request, queryset):
        return action_with_form(
            self,
            request,
            queryset,
            form_class=NoteForm,
            title=_("Reject loan applications"),
            apply_one=lambda app, data: queues.decide_queue_item(
                item=app,
                actor=request.user,
                decide=lambda: lending_services.reject_application(
                    application=app, actor=request.user, note=data["note"]
                ),
            ),
        )

    @admin.action(description=_("Cancel for the borrower"), permissions=["operate"])
    def cancel(self, request, queryset):
        return action_with_form(
            self,
            request,
            queryset,
            form_class=NoteForm,
            title=_("Cancel loan applications"),
            apply_one=lambda app, data: lending_services.cancel_application(
                application=app, actor=request.user, note=data["note"]
            ),
        )

    @admin.action(description=_("Disburse (signed contracts only)"), permissions=["operate"])
    def disburse(self, request, queryset):
        for application in queryset:
            try:
                loan = lending_services.disburse_loan(application=application, actor=request.user)
            except ValidationError as exc:
                self.message_user(
                    request, f"{application}: {' '.join(exc.messages)}", messages.ERROR
                )
                continue
            self.message_user(
                request,
                _("%(application)s: disbursed as %(loan)s.")
                % {"application": application, "loan": loan},
                messages.SUCCESS,
            )


# --- Contracts ----------------------------------------------------------------------------


@admin.register(Contract)
class ContractAdmin(ReadOnlyAdmin):
    list_display = ["number", "application", "status", "created_at", "signed_at"]
    list_filter = ["status"]
    list_select_related = ["application"]
    search_fields = ["=number"]
    search_help_text = _("Exact contract number.")
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("number", "template_version"),
                    "application",
                    ("status", "created_at"),
                ]
            },
        ),
        (
            _("Signature evidence"),
            {
                "fields": [
                    "signed_at",
                    "signed_ip",
                    "signed_user_agent",
                    "body_sha256",
                    "download_link",
                ]
            },
        ),
        (_("Text"), {"fields": ["body_display"]}),
    ]
    readonly_fields = ["download_link", "body_display"]

    @admin.display(description=_("download"))
    def download_link(self, obj):
        url = reverse("admin:loans_contract_download", args=[obj.pk])
        return format_html(
            '<a href="{}" download>{}</a> contract-{}.html', url, _("Download"), obj.number
        )

    @admin.display(description=_("text"))
    def body_display(self, obj):
        # The body is our own output: `render_contract` renders templates/contracts/
        # loan_contract.html with autoescaping (borrower data is escaped there) and the result
        # is stored once, at creation, under its SHA-256. Nobody can edit it afterwards, so it
        # is shown as the HTML the borrower saw.
        return format_html(
            '<div class="contract-text">{}</div>',
            mark_safe(obj.body),
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/download/",
                self.admin_site.admin_view(self.download_view),
                name="loans_contract_download",
            )
        ] + super().get_urls()

    def download_view(self, request, pk: int):
        contract = get_object_or_404(Contract, pk=pk)
        if not self.has_view_permission(request, contract):
            raise PermissionDenied
        # The exact stored text, so its SHA-256 is the one the borrower signed.
        response = HttpResponse(contract.body.encode(), content_type="text/html; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=f"contract-{contract.number}.html"
        )
        return response
