"""Admin edits on record: every back-office page that saves records them in the audit trail
(`BackOfficeAdmin` carries this mixin)."""

from ..audit import changes, record_event, snapshot


class AuditedAdminMixin:
    """Records each add, change and delete made through this admin page: who, from where,
    and the before and after of every field that changed. The admin saves inside one
    transaction, so the event commits with the change or not at all."""

    def save_model(self, request, obj, form, change):
        before = snapshot(type(obj)._base_manager.get(pk=obj.pk)) if change and obj.pk else {}
        super().save_model(request, obj, form, change)
        old, new = changes(before, snapshot(obj))
        if change and not new:
            return
        record_event(
            actor=request.user,
            action="object.change" if change else "object.add",
            target=obj,
            summary=f"{obj._meta.verbose_name}: {obj}",
            before=old if change else None,
            after=new,
        )

    def delete_model(self, request, obj):
        record_event(
            actor=request.user,
            action="object.delete",
            target=obj,
            summary=f"{obj._meta.verbose_name}: {obj}",
            before=changes({}, snapshot(obj))[1],
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)
