"""Staff login throttling with django-axes (settings: AXES_*): how failures are counted, the
page a locked-out person sees, and who may unlock (delete an access attempt): superusers only.
"""

import axes.admin  # noqa: F401  (registers axes' admin pages, replaced below)
from axes.conf import settings
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.db.models import Sum
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _


class StaffLoginHandler(AxesDatabaseHandler):
    """Locks a username after AXES_FAILURE_LIMIT failures and an IP address after
    AXES_IP_FAILURE_LIMIT, counted within the cool-off. Needs AXES_LOCKOUT_PARAMETERS =
    ["username", "ip_address"], in that order."""

    def get_failures(self, request, credentials=None) -> int:
        by_username, by_address = (
            attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        # Axes compares one count with AXES_FAILURE_LIMIT, so the address's count is put on
        # that scale: it reaches the limit exactly when it reaches AXES_IP_FAILURE_LIMIT.
        per_address = getattr(settings, "AXES_IP_FAILURE_LIMIT", settings.AXES_FAILURE_LIMIT)
        scaled = by_address * settings.AXES_FAILURE_LIMIT // per_address
        return max(by_username, scaled)


def lockout_response(request, original_response=None, credentials=None):
    cool_off = get_cool_off(request)
    context = {
        **admin.site.each_context(request),
        "title": _("Sign-in locked"),
        "minutes": int(cool_off.total_seconds() // 60) if cool_off else None,
    }
    return render(
        request, "admin/locked_out.html", context, status=settings.AXES_HTTP_RESPONSE_CODE
    )


admin.site.unregister(AccessAttempt)
admin.site.unregister(AccessLog)
admin.site.unregister(AccessFailureLog)


@admin.register(AccessAttempt)
class AccessAttemptAdmin(axes.admin.AccessAttemptAdmin):
    """Current failures per username and address. Deleting one unlocks it: superusers only,
    whatever permissions a group was given."""

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser


@admin.register(AccessLog)
class AccessLogAdmin(axes.admin.AccessLogAdmin):
    """Successful staff logins: a record, so nobody edits or deletes it here."""

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AccessFailureLog)
class AccessFailureLogAdmin(axes.admin.AccessFailureLogAdmin):
    """Every failed staff login, kept after an unlock."""

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
