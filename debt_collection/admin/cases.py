"""催收案件 (collection cases) in the back office. A collector's list is their work queue: their
open cases in the order to work them. A case's page is its timeline with the actions beside
it (admin/desk.py); no case field is edited through a form. Another collector's case answers
404, by list, page or action URL alike."""

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import unquote
from django.http import Http404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from loans.admin.common import BackOfficeAdmin, BorrowerSearchMixin, bad_request, short_bucket

from .. import selectors
from ..models import CaseStatus, CollectionCase, Collector
from ..services import cases as case_services
from . import desk, figures
from .common import (
    MaskedBorrowerMixin,
    PageFirstPaginator,
    action_form_page,
    nul_in,
    run_service,
)
from .forms import CollectorChoiceForm

UNSHOWN_BORROWER_FIELDS = ("id_number", "mobile", "address")


class CaseStateFilter(admin.SimpleListFilter):
    """Open cases unless asked otherwise: the queue."""

    title = _("open or closed")
    parameter_name = "state"
    OPEN, CLOSED, ALL = "open", "closed", "all"

    def lookups(self, request, model_admin):
        return [(self.OPEN, _("Open")), (self.CLOSED, _("Closed")), (self.ALL, _("All"))]

    def value(self):
        return super().value() or self.OPEN

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        if self.value() == self.ALL:
            return queryset
        if self.value() == self.CLOSED:
            return queryset.filter(status=CaseStatus.CLOSED)
        return queryset.open()


class CollectorFilter(admin.RelatedFieldListFilter):
    """The collectors to filter by, each named with its login in the same query (Django's own
    filter would read each collector's user on its own)."""

    def field_choices(self, field, request, model_admin):
        return [
            (collector.pk, str(collector))
            for collector in Collector.objects.select_related("user").order_by(
                "queue", "staff_number"
            )
        ]


@admin.register(CollectionCase)
class CollectionCaseAdmin(MaskedBorrowerMixin, BorrowerSearchMixin, BackOfficeAdmin):
    change_list_template = "admin/collections/collectioncase/change_list.html"
    list_display = [
        "case_number",
        "to_do",
        "borrower_masked",
        "loan_number",
        "status",
        short_bucket,
        "dpd",
        "overdue",
        "promise_due",
        "next_action",
        "collector",
    ]
    list_display_links = ["case_number"]
    paginator = PageFirstPaginator
    list_filter = [CaseStateFilter, "status", "bucket", ("assigned_to", CollectorFilter)]
    list_select_related = ["borrower", "loan", "assigned_to__user"]
    search_help_text = _(
        "Case number, loan number (L123), or the borrower's exact resident ID number or mobile."
    )
    actions = ["reassign"]

    # --- Who sees what ---------------------------------------------------------------------

    def get_queryset(self, request):
        # The list shows the masked name only: the other encrypted fields stay undecrypted.
        return (
            selectors.ranked_cases(selectors.visible_cases(user=request.user))
            .select_related(*self.list_select_related)
            .defer(*(f"borrower__{name}" for name in UNSHOWN_BORROWER_FIELDS))
        )

    def get_ordering(self, request):
        return ["queue_rank", "-overdue_total"]

    def get_list_display(self, request):
        if selectors.sees_every_case(request.user):
            return self.list_display
        return [name for name in self.list_display if name != "collector"]

    def get_list_filter(self, request):
        if selectors.sees_every_case(request.user):
            return self.list_filter
        return [f for f in self.list_filter if not isinstance(f, tuple)]  # not by collector

    def lookup_allowed(self, lookup, value, request):
        if lookup.startswith("assigned_to") and not selectors.sees_every_case(request.user):
            return False
        return super().lookup_allowed(lookup, value, request)

    def has_add_permission(self, request) -> bool:
        return False  # the case sync opens cases

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # statuses change through the actions, never a form

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_supervise_permission(self, request) -> bool:
        return request.user.has_perm(selectors.SUPERVISE_CASE)

    def visible_case(self, request, object_id) -> CollectionCase:
        """The case if this user may see it; otherwise 404, as if it did not exist."""
        text = unquote(str(object_id))
        if not text.isascii() or not text.isdigit() or len(text) > 18:  # 18 digits fit bigint
            raise Http404(gettext("No such case."))
        case = (
            selectors.visible_cases(user=request.user)
            .select_related("loan", "borrower", "assigned_to__user")
            .filter(pk=int(text))
            .first()
        )
        if case is None:
            raise Http404(gettext("No such case."))
        return case

    # --- Search ----------------------------------------------------------------------------

    def search_by_term(self, request, queryset, search_term):
        """#123 or 123: the case; L123: the loan's case; else the borrower's exact ID number
        or mobile (through the blind index)."""
        term = search_term.strip().upper().lstrip("#")
        number = term[1:] if term.startswith("L") else term
        if number.isascii() and number.isdigit() and len(number) <= 18:
            field = "loan_id" if term.startswith("L") else "pk"
            return queryset.filter(**{field: int(number)}), False
        return super().search_by_term(request, queryset, search_term)

    # --- Columns ---------------------------------------------------------------------------

    def action_checkbox(self, obj):
        """Django's row checkbox written out directly: rendering a form widget through the
        template engine for each of 50 rows costs more than the rest of the row."""
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            ACTION_CHECKBOX_NAME,
            obj.pk,
            format_html(gettext("Select this object for an action - {}"), str(obj)),
        )

    @admin.display(description=_("case"), ordering="pk")
    def case_number(self, obj):
        return f"#{obj.pk}"

    @admin.display(description=_("DPD"), ordering="days_past_due")
    def dpd(self, obj):
        return obj.days_past_due

    @admin.display(description=_("to do"), ordering="queue_rank")
    def to_do(self, obj):
        label = selectors.QueueRank.LABELS.get(getattr(obj, "queue_rank", None), "")
        if obj.status == CaseStatus.CLOSED:
            return obj.get_close_reason_display() or obj.get_status_display()
        return format_html('<span class="queue-rank-{}">{}</span>', obj.queue_rank, label)

    @admin.display(description=_("promise due"), ordering="promise_due_on")
    def promise_due(self, obj):
        return obj.promise_due_on.isoformat() if obj.promise_due_on else "—"

    # Short headers and ISO dates: the queue fits 1400 px beside the admin's side bars.
    @admin.display(description=_("loan"), ordering="loan_id")
    def loan_number(self, obj):
        return format_html('<span title="{}">L{}</span>', obj.loan, obj.loan_id)

    @admin.display(description=_("overdue"), ordering="overdue_total")
    def overdue(self, obj):
        return obj.overdue_total

    @admin.display(description=_("next"), ordering="next_action_on")
    def next_action(self, obj):
        return obj.next_action_on.isoformat() if obj.next_action_on else "—"

    @admin.display(description=_("collector"), ordering="assigned_to__staff_number")
    def collector(self, obj):
        return obj.assigned_to.staff_number if obj.assigned_to_id else "—"

    # --- Pages -----------------------------------------------------------------------------

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "figures_url": reverse("admin:collections_figures")
            if figures.may_see_figures(request.user)
            else "",
        }
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if nul_in(request):
            return bad_request()
        return desk.case_page(self, request, self.visible_case(request, object_id))

    def history_view(self, request, object_id, extra_context=None):
        self.visible_case(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        self.visible_case(request, object_id)
        return super().delete_view(request, object_id, extra_context)

    def get_urls(self):
        view = self.admin_site.admin_view
        actions = [
            path(
                f"<int:pk>/{name}/",
                view(desk.action_view(self, name)),
                name=f"collections_collectioncase_{name}",
            )
            for name in desk.ACTION_NAMES
        ]
        return [
            path(
                "<int:pk>/outcome/<int:attempt_pk>/",
                view(desk.outcome_view(self)),
                name="collections_collectioncase_outcome",
            ),
            path("figures/", view(figures.figures_view(self)), name="collections_figures"),
            *actions,
        ] + super().get_urls()

    # --- Supervisors: reassign in bulk -----------------------------------------------------

    @admin.action(description=_("Reassign to…"), permissions=["supervise"])
    def reassign(self, request, queryset):
        posted = "apply" in request.POST
        form = CollectorChoiceForm(request.POST if posted else None)
        if posted and form.is_valid():
            collector = form.cleaned_data["collector"]
            done, count = run_service(
                request,
                lambda: case_services.reassign_cases(
                    cases=queryset, collector=collector, staff=request.user
                ),
            )
            if done:
                self.message_user(
                    request,
                    gettext("%(count)d cases reassigned to %(collector)s.")
                    % {"count": count, "collector": collector},
                    messages.SUCCESS,
                )
            return None
        return action_form_page(
            self, request, form=form, title=_("Reassign cases"), objects=queryset
        )
