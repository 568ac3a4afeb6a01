from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ..models import BankCard, DebitAttempt, GatewayNotification
from ..services import cards as card_services
from .common import (
    BackOfficeAdmin,
    BorrowerSearchMixin,
    ReadOnlyAdmin,
    filter_by_borrower_index,
    search_by_borrower,
)


@admin.register(BankCard)
class BankCardAdmin(BorrowerSearchMixin, BackOfficeAdmin):
    """Cards are bound by the borrower through the gateway, never typed here; staff can only
    look and unbind. The gateway token is never shown."""

    list_display = ["id", "borrower", "masked", "is_default", "bound_at", "unbound_at"]
    list_filter = ["is_default", "unbound_at", "bound_at"]
    list_select_related = ["borrower"]
    fields = ["borrower", "masked", "is_default", "bound_at", "unbound_at"]
    readonly_fields = fields
    actions = ["unbind"]

    @admin.display(description=_("card"))
    def masked(self, obj):
        return obj.masked

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(
        description=_("Unbind (stop auto-debit from these cards)"), permissions=["change"]
    )
    def unbind(self, request, queryset):
        done = 0
        for card in queryset:
            try:
                card_services.unbind_bank_card(card=card)
                done += 1
            except ValidationError as exc:
                self.message_user(request, f"{card}: {' '.join(exc.messages)}", messages.ERROR)
        if done:
            self.message_user(request, _("%(count)d done.") % {"count": done}, messages.SUCCESS)


@admin.register(DebitAttempt)
class DebitAttemptAdmin(ReadOnlyAdmin):
    list_display = [
        "gateway_ref",
        "loan",
        "bank_card",
        "amount",
        "business_date",
        "slot",
        "status",
        "failure_reason",
        "requested_at",
        "completed_at",
        "repayment",
    ]
    list_filter = ["status", "slot", "business_date"]
    list_select_related = ["loan", "bank_card", "repayment"]
    search_fields = ["gateway_ref"]
    search_help_text = _("Gateway reference (DA-…), or exact ID number or mobile of the borrower.")
    date_hierarchy = "business_date"

    def filter_by_person_index(self, queryset, index: str):
        return filter_by_borrower_index(queryset, index, borrower_path="loan__borrower")

    def search_by_term(self, request, queryset, search_term):
        term = search_term.strip()
        if term.upper().startswith("DA-"):
            return queryset.filter(gateway_ref=term), False
        return search_by_borrower(queryset, term, borrower_path="loan__borrower"), False


@admin.register(GatewayNotification)
class GatewayNotificationAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "outcome", "event_id", "debit_attempt", "remote_ip", "detail"]
    list_filter = ["outcome", "received_at"]
    list_select_related = ["debit_attempt"]
    search_fields = ["=event_id", "=debit_attempt__gateway_ref"]
    search_help_text = _("Exact event id or gateway reference.")
    fields = [
        "received_at",
        "outcome",
        "detail",
        "event_id",
        "debit_attempt",
        "remote_ip",
        "headers",
        "body",
    ]
    readonly_fields = fields
