"""The contact log (read only for everyone, superusers included: PostgreSQL refuses changes
to it as well), banned phrases (compliance edits them) and contact restrictions (recorded and
lifted through the contact services)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from loans.admin.common import BackOfficeAdmin, BorrowerSearchMixin, ReadOnlyAdmin, bad_request
from loans.models import Borrower

from .. import guard
from ..models import BannedPhrase, CallOutcome, ContactAttempt, ContactRestriction
from ..services import contacts as contact_services
from .common import MaskedBorrowerMixin, apply_each, form_page, nul_in, run_service


class RuleFilter(admin.SimpleListFilter):
    """The guard rule that blocked an attempt, in the order the guard checks them (from the
    guard's list, not the log: a DISTINCT over the whole log would read all of it)."""

    title = _("blocked by rule")
    parameter_name = "blocked_rule"

    def lookups(self, request, model_admin):
        return [(rule, rule) for rule in guard.ORDER]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(blocked_rule=self.value())
        return queryset


@admin.register(ContactAttempt)
class ContactAttemptAdmin(MaskedBorrowerMixin, BorrowerSearchMixin, ReadOnlyAdmin):
    list_display = [
        "at",
        "channel",
        "allowed",
        "blocked_rule",
        "case",
        "borrower_masked",
        "staff",
        "template_code",
        "mobile_revealed",
        "call_outcome",
    ]
    list_filter = ["channel", "allowed", RuleFilter, "mobile_revealed", "at"]
    list_select_related = ["borrower", "case__loan", "staff", "outcome"]
    date_hierarchy = "at"
    fields = [
        ("at", "channel", "allowed", "blocked_rule"),
        ("case", "borrower_masked", "staff"),
        ("template_code", "sms", "mobile_revealed"),
        "call_outcome",
    ]
    readonly_fields = [
        "at",
        "channel",
        "allowed",
        "blocked_rule",
        "case",
        "borrower_masked",
        "staff",
        "template_code",
        "sms",
        "mobile_revealed",
        "call_outcome",
    ]

    @admin.display(description=_("call outcome"))
    def call_outcome(self, obj):
        outcome = getattr(obj, "outcome", None)
        return outcome.get_outcome_display() if outcome is not None else "—"


@admin.register(CallOutcome)
class CallOutcomeAdmin(ReadOnlyAdmin):
    list_display = ["recorded_at", "outcome", "attempt", "case", "recorded_by"]
    list_filter = ["outcome", "recorded_at"]
    list_select_related = ["attempt__case__loan", "recorded_by"]
    date_hierarchy = "recorded_at"
    fields = ["attempt", "case", "outcome", "note", "recorded_at", "recorded_by"]
    readonly_fields = fields

    @admin.display(description=_("case"))
    def case(self, obj):
        return obj.attempt.case or "—"


@admin.register(BannedPhrase)
class BannedPhraseAdmin(BackOfficeAdmin):
    """Kept, never deleted: a phrase no longer banned is made inactive, so what the guard
    refused before stays explainable."""

    list_display = ["phrase", "category", "is_active"]
    list_filter = ["category", "is_active"]
    search_fields = ["phrase"]
    fields = ["phrase", "category", "is_active"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class RestrictionAddForm(forms.Form):
    borrower = forms.ModelChoiceField(label=_("Borrower"), queryset=Borrower.objects.all())
    scope = forms.ChoiceField(
        label=_("The borrower asked for"), choices=ContactRestriction.Scope.choices
    )
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    def __init__(self, *args, admin_site, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["borrower"].widget = ForeignKeyRawIdWidget(
            ContactRestriction._meta.get_field("borrower").remote_field, admin_site
        )


@admin.register(ContactRestriction)
class ContactRestrictionAdmin(MaskedBorrowerMixin, BorrowerSearchMixin, BackOfficeAdmin):
    list_display = [
        "borrower_masked",
        "scope",
        "reason",
        "since",
        "recorded_by",
        "by_borrower",
        "lifted_at",
    ]
    list_filter = ["scope", "since", "lifted_at"]
    list_select_related = ["borrower", "recorded_by"]
    actions = ["lift"]
    fields = [
        "borrower_masked",
        "scope",
        "reason",
        ("since", "recorded_by"),
        ("lifted_at", "lifted_by"),
    ]
    readonly_fields = [f for row in fields for f in (row if isinstance(row, tuple) else [row])]

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # lifted through the action, never edited

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_lift_permission(self, request) -> bool:
        return request.user.has_perm("collections.change_contactrestriction")

    def add_view(self, request, form_url="", extra_context=None):
        """Recorded through the contact service, which the guard reads from then on."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        if nul_in(request):
            return bad_request()
        form = RestrictionAddForm(request.POST or None, admin_site=self.admin_site)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            done, _restriction = run_service(
                request,
                lambda: contact_services.restrict_contact(
                    borrower=data["borrower"],
                    scope=data["scope"],
                    staff=request.user,
                    reason=data["reason"],
                ),
                form=form,
            )
            if done:
                messages.success(
                    request, gettext("Restriction recorded; the guard applies it from now on.")
                )
                url = "admin:collections_contactrestriction_changelist"
                if not self.has_view_permission(request):
                    url = "admin:index"
                return HttpResponseRedirect(reverse(url))
        return form_page(
            self,
            request,
            form=form,
            title=_("Record a contact restriction"),
            intro=_(
                "What the borrower asked for: no calls, no collection SMS, or written contact "
                "only. The guard refuses every contact it forbids until it is lifted."
            ),
        )

    @admin.action(description=_("Lift the restriction"), permissions=["lift"])
    def lift(self, request, queryset):
        apply_each(
            self,
            request,
            list(queryset.filter(lifted_at__isnull=True)),
            lambda restriction: contact_services.lift_restriction(
                restriction=restriction, staff=request.user
            ),
        )
