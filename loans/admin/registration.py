from django.contrib import admin

from ..models.borrowers import RegistrationAttempt
from .common import ReadOnlyAdmin


@admin.register(RegistrationAttempt)
class RegistrationAttemptAdmin(ReadOnlyAdmin):
    """Why each portal application ended as it did: the portal itself gives every refusal
    the same answer. Blind indexes only; nothing here can be searched by a clear value."""

    list_display = ["at", "outcome", "identity_result", "identity_source", "borrower", "ip_address"]
    list_filter = ["outcome", "identity_result", "at"]
    list_select_related = ["borrower"]
    date_hierarchy = "at"
    fields = [
        "at",
        "outcome",
        "identity_result",
        "identity_source",
        "identity_reference",
        "borrower",
        "ip_address",
    ]
    readonly_fields = fields
