"""The audit trail in the admin (read-only), and the staff, role and schedule pages that
record their edits in it."""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django_q.admin import ScheduleAdmin
from django_q.models import Schedule

from ..audit import ACTIONS, changes, record_event
from ..models import AuditEvent
from .auditing import AuditedAdminMixin
from .common import ReadOnlyAdmin


class _AuditedRoles(AuditedAdminMixin):
    """A staff member's groups and permissions are what they may do: a change to them is a
    role change, recorded with the names before and after."""

    role_fields = ()

    def _roles(self, obj) -> dict:
        if not obj.pk:
            return {name: [] for name in self.role_fields}
        return {name: sorted(str(v) for v in getattr(obj, name).all()) for name in self.role_fields}

    def save_related(self, request, form, formsets, change):
        before = self._roles(form.instance) if change else {}
        super().save_related(request, form, formsets, change)
        old, new = changes(before, self._roles(form.instance))
        if new:
            record_event(
                actor=request.user,
                action="role.change",
                target=form.instance,
                summary=str(form.instance),
                before=old,
                after=new,
            )


class AuditedUserAdmin(_AuditedRoles, UserAdmin):
    role_fields = ("groups", "user_permissions")


class AuditedGroupAdmin(_AuditedRoles, GroupAdmin):
    role_fields = ("permissions",)


class AuditedScheduleAdmin(AuditedAdminMixin, ScheduleAdmin):
    """The job schedules (end of day, reminders, dispatch) are business settings too."""


for model, model_admin in [
    (User, AuditedUserAdmin),
    (Group, AuditedGroupAdmin),
    (Schedule, AuditedScheduleAdmin),
]:
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)


class ActionFilter(admin.SimpleListFilter):
    title = _("action")
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return list(ACTIONS.items())

    def queryset(self, request, queryset):
        if self.value() in ACTIONS:
            return queryset.filter(action=self.value())
        return queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["when", "actor", "action_label", "record", "short_summary", "ip_address"]
    list_filter = [ActionFilter, "content_type", ("at", admin.DateFieldListFilter)]
    list_select_related = ["actor", "content_type"]
    search_fields = ["object_repr", "summary", "actor__username"]
    date_hierarchy = None
    fields = [
        "at",
        "actor",
        "ip_address",
        "action_label",
        "content_type",
        "object_id",
        "object_repr",
        "summary",
        "changes_table",
    ]
    readonly_fields = fields

    # Short cells, so the trail reads at 1400 px; the event's page has everything.
    @admin.display(description=_("at"), ordering="at")
    def when(self, obj):
        return timezone.localtime(obj.at).strftime("%Y-%m-%d %H:%M:%S")

    @admin.display(description=_("record"))
    def record(self, obj):
        return Truncator(obj.object_repr).chars(40)

    @admin.display(description=_("summary"))
    def short_summary(self, obj):
        return Truncator(obj.summary).chars(60)

    @admin.display(description=_("action"), ordering="action")
    def action_label(self, obj):
        return ACTIONS.get(obj.action, obj.action)

    @admin.display(description=_("what changed"))
    def changes_table(self, obj):
        before, after = obj.before or {}, obj.after or {}
        names = list(dict.fromkeys([*before, *after]))
        if not names:
            return "—"
        rows = format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td><td>{}</td></tr>",
            ((name, _shown(before.get(name)), _shown(after.get(name))) for name in names),
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            _("field"),
            _("before"),
            _("after"),
            rows,
        )


def _shown(value) -> str:
    return "—" if value is None or value == "" else str(value)
