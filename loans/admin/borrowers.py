from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.log import log_response
from django.utils.translation import gettext_lazy as _
from stdnum import numdb

from .. import kyc, selectors
from ..audit import record_event
from ..models import Borrower, Consent, CreditReport, PiiAccessLog
from ..services import borrowers as borrower_services
from ..services import credit as credit_services
from .common import BackOfficeAdmin, ReadOnlyAdmin, ReasonForm, add_form_errors
from .timeline import BorrowerTimelineMixin

REVEAL_PERMISSION = "loans.reveal_pii"
# Parts of the ID number itself (region = its first 6 digits, then the birth date): shown, and
# searchable, only with the reveal permission, or they would rebuild the masked number.
ID_NUMBER_PARTS = ("birth_date", "region_code")


def may_reveal(request) -> bool:
    return request.user.has_perm(REVEAL_PERMISSION)


def province_of(region_code: str) -> str:
    """The province (省) of a region code: what its first two digits say, which the masked ID
    number shows anyway."""
    parts = numdb.get("cn/loc").info(region_code or "")
    return parts[0][1].get("province", "—") if parts else "—"


class RegistrationRefused(Exception):
    """The registration service refused what the form had accepted (say, the same ID number
    registered a moment earlier by someone else); carries the service's ValidationError."""

    def __init__(self, error: ValidationError):
        super().__init__(error)
        self.error = error


class BorrowerCreationForm(forms.ModelForm):
    """The only place staff type a full name, ID number and mobile."""

    name = forms.CharField(label=_("name"), max_length=50)
    id_number = forms.CharField(label=_("resident ID number"), max_length=20)
    mobile = forms.CharField(label=_("mobile"), max_length=20)
    consents = forms.MultipleChoiceField(
        label=_("consents given"),
        choices=Consent.Kind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = Borrower
        fields = [
            "name",
            "id_number",
            "mobile",
            "id_expiry_date",
            "employer",
            "occupation",
            "monthly_income",
            "monthly_debt_payments",
            "civil_capacity",
            "account_activity_score",
        ]

    def clean(self):
        data = super().clean()
        if data.get("id_number") and data.get("mobile"):
            try:
                data["id_number"], data["mobile"] = borrower_services.clean_identity(
                    id_number=data["id_number"], mobile=data["mobile"]
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    self.add_error(field, errors)
        return data

    def _post_clean(self):
        # The registration service builds and saves the borrower; running the model's checks
        # here too (min/max of income and activity score and the like) shows a mistake beside
        # its field instead of letting the service refuse it after the form said yes.
        super()._post_clean()
        refused = getattr(self, "registration_refused", None)
        if refused is not None:
            add_form_errors(self, refused)


class BorrowerChangeForm(forms.ModelForm):
    """The residential address is written here and never read back: the page shows it masked,
    and seeing it in full is a logged reveal like the other personal data."""

    new_address = forms.CharField(
        label=_("new residential address"),
        max_length=200,
        required=False,
        help_text=_("Leave empty to keep the recorded address."),
    )

    class Meta:
        model = Borrower
        fields: list[str] = []


class ConsentInline(admin.TabularInline):
    model = Consent
    extra = 0
    fields = ["kind", "text_version", "consented_at", "withdrawn_at", "ip_address"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class CreditReportInline(ConsentInline):
    model = CreditReport
    fields = ["pulled_at", "source", "current_overdue_accounts", "worst_dpd_24m", "inquiries_3m"]
    readonly_fields = fields


@admin.register(Borrower)
class BorrowerAdmin(BorrowerTimelineMixin, BackOfficeAdmin):
    list_display = [
        "id",
        "masked_name",
        "masked_mobile",
        "masked_id_number",
        "sex",
        "age",
        "monthly_income",
        "civil_capacity",
        "credit_line_status",
        "created_at",
    ]
    list_filter = [
        "credit_line__status",
        "civil_capacity",
        "mainland_resident",
        "sex",
        "created_at",
    ]
    list_select_related = ["credit_line"]
    search_fields = ["id_number_index"]  # searched through the blind index, see below
    search_help_text = _("Exact resident ID number or mobile.")
    readonly_fields = [
        "masked_name",
        "masked_id_number",
        "masked_mobile",
        "masked_address",
        "reveal_links",
        "sex",
        "age",
        "birth_date",
        "province",
        "region_code",
        "mainland_resident",
        "credit_line_link",
        "created_at",
        "updated_at",
    ]
    # With the reveal permission; without it, see `get_fieldsets`.
    fieldsets = [
        (
            _("Identity"),
            {
                "fields": [
                    ("masked_name", "masked_mobile"),
                    "masked_id_number",
                    ("masked_address", "new_address"),
                    "reveal_links",
                    ("sex", "age", "birth_date"),
                    ("province", "region_code", "mainland_resident"),
                    "id_expiry_date",
                    "civil_capacity",
                ]
            },
        ),
        (
            _("Work and finances"),
            {
                "fields": [
                    ("employer", "occupation"),
                    ("monthly_income", "monthly_debt_payments"),
                    "account_activity_score",
                ]
            },
        ),
        (_("Credit"), {"fields": ["credit_line_link", ("created_at", "updated_at")]}),
    ]
    inlines = [ConsentInline, CreditReportInline]
    actions = ["assess_credit"]
    form = BorrowerChangeForm

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = BorrowerCreationForm
            kwargs["fields"] = None
        form = super().get_form(request, obj, change=change, **kwargs)
        refused = getattr(request, "registration_refused", None)
        if refused is not None:
            form = type(form.__name__, (form,), {"registration_refused": refused})
        return form

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": BorrowerCreationForm.Meta.fields + ["consents"]})]
        hidden = set()
        if not may_reveal(request):
            # No reveal links, and no part of the ID number beside its mask: age, not birth
            # date; province, not region code.
            hidden |= {"reveal_links", *ID_NUMBER_PARTS}
        if not self.has_change_permission(request, obj):
            hidden.add("new_address")
        if not hidden:
            return super().get_fieldsets(request, obj)
        masked = []
        for title, options in self.fieldsets:
            rows = []
            for row in options["fields"]:
                names = row if isinstance(row, tuple) else (row,)
                kept = tuple(f for f in names if f not in hidden)
                if kept:
                    rows.append(kept if len(kept) > 1 else kept[0])
            masked.append((title, {**options, "fields": rows}))
        return masked

    def lookup_allowed(self, lookup, value, request):
        # `?birth_date__year=1992&id=5` would tell the birth date row by row just the same.
        if lookup.split("__")[0] in ID_NUMBER_PARTS and not may_reveal(request):
            return False
        return super().lookup_allowed(lookup, value, request)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except RegistrationRefused as refused:
            # The add was rolled back; show the same form again, with what was typed and why.
            request.registration_refused = refused.error
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else []

    def get_inlines(self, request, obj):
        return self.inlines if obj else []

    def save_model(self, request, obj, form, change):
        if change:
            if form.cleaned_data.get("new_address"):
                obj.address = form.cleaned_data["new_address"]
            super().save_model(request, obj, form, change)
            return
        data = {k: v for k, v in form.cleaned_data.items() if k != "consents"}
        try:
            borrower = borrower_services.register_borrower(
                **data,
                consents=form.cleaned_data["consents"],
                consent_ip=request.META.get("REMOTE_ADDR"),
            )
        except ValidationError as exc:
            raise RegistrationRefused(exc) from exc
        record_event(
            actor=request.user,
            action="object.add",
            target=borrower,
            summary=f"{borrower._meta.verbose_name}: {borrower}",
        )
        obj.pk = borrower.pk
        obj._state.adding = False
        obj.refresh_from_db()

    def filter_by_person_index(self, queryset, index: str):
        return queryset.filter(Q(id_number_index=index) | Q(mobile_index=index))

    def search_by_term(self, request, queryset, search_term):
        return selectors.search_borrowers(queryset=queryset, term=search_term), False

    @admin.display(description=_("name"))
    def masked_name(self, obj):
        return obj.masked_name

    @admin.display(description=_("mobile"))
    def masked_mobile(self, obj):
        return obj.masked_mobile

    @admin.display(description=_("resident ID number"))
    def masked_id_number(self, obj):
        return obj.masked_id_number

    @admin.display(description=_("residential address"))
    def masked_address(self, obj):
        return obj.masked_address or "—"

    @admin.display(description=_("age"))
    def age(self, obj):
        return kyc.age_on(obj.birth_date, timezone.localdate())

    @admin.display(description=_("province"))
    def province(self, obj):
        return province_of(obj.region_code)

    @admin.display(description=_("credit line"), ordering="credit_line__status")
    def credit_line_status(self, obj):
        line = getattr(obj, "credit_line", None)
        return line.get_status_display() if line else "—"

    @admin.display(description=_("credit line"))
    def credit_line_link(self, obj):
        line = getattr(obj, "credit_line", None)
        if not line:
            return "—"
        url = reverse("admin:loans_creditline_change", args=[line.pk])
        return format_html('<a href="{}">¥{} · {}</a>', url, line.limit, line.get_status_display())

    @admin.display(description=_("full values"))
    def reveal_links(self, obj):
        links = [
            format_html(
                '<a href="{}">{}</a>',
                reverse("admin:loans_borrower_reveal", args=[obj.pk, field]),
                label,
            )
            for field, label in [
                ("name", _("name")),
                ("id_number", _("ID number")),
                ("mobile", _("mobile")),
                ("address", _("residential address")),
            ]
            if field in borrower_services.REVEALABLE_FIELDS
        ]
        return format_html(
            "{} {}",
            _("Reveal (logged):"),
            format_html(" · ".join(["{}"] * len(links)), *links),
        )

    @admin.action(description=_("Assess credit now"), permissions=["assess"])
    def assess_credit(self, request, queryset):
        for borrower in queryset:
            assessment = credit_services.assess_credit(borrower=borrower, actor=request.user)
            self.message_user(
                request,
                _("%(borrower)s: %(decision)s, score %(score)s")
                % {
                    "borrower": borrower,
                    "decision": assessment.get_final_decision_display(),
                    "score": assessment.score if assessment.score is not None else "—",
                },
                messages.SUCCESS if assessment.final_decision == "approved" else messages.WARNING,
            )

    def has_assess_permission(self, request) -> bool:
        return request.user.has_perm("loans.add_creditassessment")

    def get_urls(self):
        return [
            path(
                "<int:pk>/reveal/<str:field>/",
                self.admin_site.admin_view(self.reveal_view),
                name="loans_borrower_reveal",
            )
        ] + super().get_urls()

    def reveal_view(self, request, pk: int, field: str):
        borrower = get_object_or_404(Borrower, pk=pk)
        if field not in borrower_services.REVEALABLE_FIELDS:
            raise Http404
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reveal personal data"),
            "opts": self.model._meta,
            "original": borrower,
            "field_label": Borrower._meta.get_field(field).verbose_name,
        }
        if not may_reveal(request):
            # An ordinary refusal, answered as a page and logged as one line (raising
            # PermissionDenied would log it with a traceback).
            response = TemplateResponse(
                request, "admin/loans/reveal.html", {**context, "denied": True}, status=403
            )
            log_response(
                "Reveal refused (no %s permission): %s of borrower #%s for %s",
                REVEAL_PERMISSION,
                field,
                borrower.pk,
                request.user.get_username(),
                response=response,
                request=request,
            )
            return response
        form = ReasonForm(request.POST or None)
        value = None
        if request.method == "POST" and form.is_valid():
            value = borrower_services.reveal_pii(
                borrower=borrower,
                field=field,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                ip_address=request.META.get("REMOTE_ADDR"),
            )
        return TemplateResponse(
            request, "admin/loans/reveal.html", {**context, "form": form, "value": value}
        )


@admin.register(CreditReport)
class CreditReportAdmin(BackOfficeAdmin):
    list_display = [
        "id",
        "borrower",
        "pulled_at",
        "source",
        "current_overdue_accounts",
        "worst_dpd_24m",
        "inquiries_3m",
    ]
    list_filter = ["source", "pulled_at"]
    list_select_related = ["borrower"]
    raw_id_fields = ["borrower"]
    fields = ["borrower", "source", "current_overdue_accounts", "worst_dpd_24m", "inquiries_3m"]
    date_hierarchy = "pulled_at"

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        report = borrower_services.record_credit_report(**form.cleaned_data)
        obj.pk = report.pk
        obj._state.adding = False
        obj.refresh_from_db()

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class ConsentCheckedForm(form):
            def clean(self):
                data = super().clean()
                if data.get("borrower"):
                    # The service's own check, so the form refuses what the save would.
                    borrower_services.check_credit_query_consent(borrower=data["borrower"])
                return data

        return ConsentCheckedForm


@admin.register(PiiAccessLog)
class PiiAccessLogAdmin(ReadOnlyAdmin):
    list_display = ["at", "user", "borrower_id", "field", "reason", "ip_address"]
    list_filter = ["field", "at", "user"]
    list_select_related = ["user"]
    date_hierarchy = "at"
