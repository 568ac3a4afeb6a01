"""催收员 (collectors): staff number, queue (bucket), active and on leave. Supervisors keep
them; a collector on leave or inactive receives no new case."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from loans.admin.common import BackOfficeAdmin

from ..models import CaseStatus, Collector


@admin.register(Collector)
class CollectorAdmin(BackOfficeAdmin):
    list_display = ["staff_number", "user", "queue", "is_active", "on_leave", "open_cases"]
    list_editable = ["is_active", "on_leave"]
    list_filter = ["queue", "is_active", "on_leave"]
    list_select_related = ["user"]
    search_fields = ["staff_number", "user__username"]
    search_help_text = _("Staff number or login name.")
    fields = ["user", "staff_number", "queue", "is_active", "on_leave"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(open_count=Count("cases", filter=~Q(cases__status=CaseStatus.CLOSED)))
        )

    @admin.display(description=_("open cases"), ordering="open_count")
    def open_cases(self, obj):
        return obj.open_count

    def get_readonly_fields(self, request, obj=None):
        return ["user"] if obj else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = get_user_model().objects.filter(
                is_staff=True, is_active=True, collector__isnull=True
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # their cases and visits point at them; make them inactive instead
