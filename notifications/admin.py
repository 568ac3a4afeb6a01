from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from loans.admin.common import BackOfficeAdmin, ReadOnlyAdmin
from loans.kyc import KycError, normalize_mobile
from loans.models.borrowers import mobile_index

from . import admin_jobs, services  # noqa: F401  (admin_jobs: the SMS jobs' run-now forms)
from .models import CadenceStep, SmsMessage, SmsTemplate
from .services import compose


class TemplateFilter(admin.SimpleListFilter):
    """The templates by their codes, from the small template table, not a DISTINCT over every
    message ever sent."""

    title = _("template")
    parameter_name = "template"

    def lookups(self, request, model_admin):
        return list(SmsTemplate.objects.order_by("code").values_list("code", "code").distinct())

    def queryset(self, request, queryset):
        return queryset.filter(template=self.value()) if self.value() else queryset


@admin.register(SmsMessage)
class SmsMessageAdmin(ReadOnlyAdmin):
    """The outbox: every message, what it said, and what became of it."""

    list_display = [
        "id",
        "template",
        "masked_phone",
        "purpose",
        "status",
        "attempts",
        "send_after",
        "sent_at",
        "delivered_at",
        "error",
    ]
    list_filter = [
        "status",
        "purpose",
        TemplateFilter,
        "obeys_quiet_hours",
        ("created_at", admin.DateFieldListFilter),
        "send_after",
    ]
    search_fields = ["dedupe_key"]
    search_help_text = _("Exact mobile number, or a dedupe key.")
    # No date drill-down: with a filter its MIN/MAX reads most of a big outbox; the "created"
    # filter gives the same ranges without a query.
    fields = [
        "borrower",
        "masked_phone",
        "template",
        "purpose",
        "text",
        "verification_code",
        "dedupe_key",
        "status",
        "attempts",
        "error",
        "provider_id",
        "send_after",
        "obeys_quiet_hours",
        "created_at",
        "sent_at",
        "delivered_at",
    ]
    readonly_fields = fields
    actions = ["retry"]

    @admin.display(description=_("phone"))
    def masked_phone(self, obj):
        return obj.masked_phone

    def filter_by_person_index(self, queryset, index: str):
        # A mobile's blind index (the search box sends one instead of the number, see
        # BackOfficeAdmin.search_view).
        return queryset.filter(phone_index=index)

    def search_by_term(self, request, queryset, search_term):
        term = search_term.strip()
        try:
            index = mobile_index(normalize_mobile(term))
        except KycError:
            return queryset.filter(dedupe_key=term), False
        return queryset.filter(phone_index=index), False

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("notifications.change_smsmessage")

    @admin.action(description=_("Send again now (failed messages)"), permissions=["retry"])
    def retry(self, request, queryset):
        count = services.requeue_failed(queryset)
        self.message_user(
            request, _("%(n)d messages queued again.") % {"n": count}, messages.SUCCESS
        )


@admin.register(SmsTemplate)
class SmsTemplateAdmin(BackOfficeAdmin):
    list_display = ["code", "name", "purpose", "is_active", "updated_at"]
    list_filter = ["purpose", "is_active"]
    search_fields = ["code", "name"]
    # What the sending code provides: a name outside it is refused on save (model clean).
    readonly_fields = ["sample_context", "preview"]
    fields = [
        "code",
        "name",
        "purpose",
        "is_active",
        "body_zh",
        "body_en",
        "sample_context",
        "preview",
    ]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the jobs look templates up by code; deactivate instead

    @admin.display(description=_("preview with the sample data"))
    def preview(self, obj):
        if not obj or not obj.pk:
            return "—"
        context = {**obj.common_context(), **(obj.sample_context or {})}
        rows = []
        for language, label in (("zh-hans", "中文"), ("en", "English")):
            try:
                text = compose(obj.render(context, language=language), "ABCDE", language=language)
            except Exception as exc:  # noqa: BLE001 - show the error instead of the preview
                text = f"⚠ {exc}"
            rows.append((label, text, len(text)))
        return format_html(
            "<table>{}</table>",
            format_html_join("", "<tr><th>{}</th><td>{}</td><td>{} chars</td></tr>", rows),
        )


@admin.register(CadenceStep)
class CadenceStepAdmin(BackOfficeAdmin):
    list_display = ["__str__", "kind", "offset_days", "repeat_every_days", "is_active"]
    list_editable = ["is_active"]
    list_filter = ["kind", "is_active"]
