"""Review queues as work lists: the columns (age, claim), the filter (unclaimed / mine) and the
claim / release actions shared by the approvals, the credit assessments waiting for review
and the loan applications in manual review. Every change goes through `loans.approvals`."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .. import queues


class ClaimFilter(admin.SimpleListFilter):
    title = _("claim")
    parameter_name = "claim"

    def lookups(self, request, model_admin):
        return [
            ("unclaimed", _("Not claimed")),
            ("mine", _("Claimed by me")),
            ("others", _("Claimed by someone else")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "unclaimed":
            return queryset.filter(claimed_by__isnull=True)
        if value == "mine":
            return queryset.filter(claimed_by=request.user.pk)
        if value == "others":
            return queryset.filter(~Q(claimed_by=request.user.pk), claimed_by__isnull=False)
        return queryset


def as_validation_error(apply):
    """A service's PermissionDenied reported like its other refusals: by row, not as a 403."""

    def wrapped(*args, **kwargs):
        try:
            return apply(*args, **kwargs)
        except PermissionDenied as exc:
            raise ValidationError(str(exc) or _("You may not do this.")) from exc

    return wrapped


class QueueAdminMixin:
    """For a ModelAdmin whose model has claimed_by / claimed_at and a row in
    `queues.QUEUES`. `queue_since` names the field the age counts from; `queue_permission`
    the permission that works the queue (shows the claim / release actions)."""

    queue_since = "created_at"
    queue_permission = ""

    def in_queue(self, obj) -> bool:
        """Whether the row still waits (the list's own fields: no query per row)."""
        raise NotImplementedError

    @admin.display(description=_("waiting"))
    def queue_age(self, obj):
        return queues.age_text(getattr(obj, self.queue_since)) if self.in_queue(obj) else "—"

    @admin.display(description=_("claim"))
    def claim_display(self, obj):
        return (queues.claimed_text(obj) if self.in_queue(obj) else "") or "—"

    def has_work_queue_permission(self, request) -> bool:
        return request.user.has_perm(self.queue_permission)

    @admin.action(description=_("Claim (I work on it)"), permissions=["work_queue"])
    def claim(self, request, queryset):
        self._each_claim(request, queryset, queues.claim)

    @admin.action(description=_("Release the claim"), permissions=["work_queue"])
    def release(self, request, queryset):
        self._each_claim(request, queryset, queues.release)

    def _each_claim(self, request, queryset, service) -> None:
        done = 0
        for item in queryset:
            try:
                as_validation_error(service)(item=item, actor=request.user)
                done += 1
            except ValidationError as exc:
                self.message_user(request, f"{item}: {' '.join(exc.messages)}", messages.ERROR)
        if done:
            self.message_user(request, _("%(count)d done.") % {"count": done}, messages.SUCCESS)
