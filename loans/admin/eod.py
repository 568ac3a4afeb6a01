from django.contrib import admin
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ..models import BusinessDay
from .common import ReadOnlyAdmin


@admin.register(BusinessDay)
class BusinessDayAdmin(ReadOnlyAdmin):
    """The figures of each end-of-day run, newest first."""

    # A "run now" link (loans.admin.jobs) for staff who may run end of day.
    change_list_template = "admin/dashboard/businessday_change_list.html"

    def changelist_view(self, request, extra_context=None):
        if request.user.has_perm("loans.run_end_of_day"):
            extra_context = {**(extra_context or {}), "run_now_url": reverse("jobs:index")}
        return super().changelist_view(request, extra_context)

    list_display = [
        "business_date",
        "loans_current",
        "loans_m1",
        "loans_m2",
        "loans_m3",
        "loans_m4_plus",
        "newly_overdue",
        "newly_cured",
        "overdue_principal",
        "penalty_accrued",
        "write_off_candidates",
        "seconds",
    ]
    date_hierarchy = "business_date"
    fieldsets = [
        (None, {"fields": ["business_date", ("started_at", "finished_at", "seconds")]}),
        (
            _("Loans by bucket"),
            {"fields": [("loans_current", "loans_m1", "loans_m2", "loans_m3", "loans_m4_plus")]},
        ),
        (
            _("Movement"),
            {"fields": [("instalments_overdue", "newly_overdue", "newly_cured")]},
        ),
        (
            _("Amounts"),
            {
                "fields": [
                    ("overdue_principal", "overdue_interest", "overdue_penalty"),
                    "penalty_accrued",
                    "write_off_candidates",
                ]
            },
        ),
    ]
