from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from .. import queues, scorecard
from ..models import CreditAssessment, CreditLine, CreditLineEvent, Decision
from ..reasons import RULE_LABELS, reason_message
from ..services import credit as credit_services
from ..validators import lazy_interpolate
from .common import (
    BackOfficeAdmin,
    BorrowerSearchMixin,
    ReadOnlyAdmin,
    ReasonForm,
    action_with_form,
)
from .queues import ClaimFilter, QueueAdminMixin


class ReviewQueueFilter(admin.SimpleListFilter):
    title = _("manual review")
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("pending", _("Waiting for review")), ("done", _("Reviewed by staff"))]

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(review_requested_at__isnull=False, overridden_at__isnull=True)
        if self.value() == "done":
            return queryset.filter(overridden_at__isnull=False)
        return queryset


class OverrideForm(forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), choices=Decision.choices)
    credit_limit = forms.DecimalField(
        label=_("Credit limit (yuan)"),
        required=False,
        max_digits=9,
        decimal_places=0,
        help_text=lazy_interpolate(
            _("A multiple of %(step)s between %(min)s and %(max)s; empty keeps the scored limit."),
            credit_services.LINE_BAND_TEXT,
        ),
    )
    daily_rate_percent = forms.DecimalField(
        label=_("Daily rate (%)"),
        required=False,
        max_digits=6,
        decimal_places=4,
        help_text=lazy_interpolate(
            _("Between %(min)s and %(max)s; empty keeps the scored rate."),
            credit_services.RATE_BAND_PERCENT_TEXT,
        ),
    )
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))


class ReviewRequestForm(forms.Form):
    note = forms.CharField(
        label=_("What the borrower said"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class GradeFilter(admin.SimpleListFilter):
    """The grades the scorecards know, listed without asking the table (a DISTINCT over a
    million assessments on every page view)."""

    title = _("grade")
    parameter_name = "grade"

    def lookups(self, request, model_admin):
        names = {g.name for card in scorecard.SCORECARDS.values() for g in card.grades}
        names |= {card.decline_grade for card in scorecard.SCORECARDS.values()}
        return [(name, name) for name in sorted(names)]

    def queryset(self, request, queryset):
        return queryset.filter(grade=self.value()) if self.value() else queryset


class ScorecardVersionFilter(admin.SimpleListFilter):
    title = _("scorecard version")
    parameter_name = "scorecard"

    def lookups(self, request, model_admin):
        return [(version, version) for version in sorted(scorecard.SCORECARDS)]

    def queryset(self, request, queryset):
        return queryset.filter(scorecard_version=self.value()) if self.value() else queryset


@admin.register(CreditAssessment)
class CreditAssessmentAdmin(QueueAdminMixin, BorrowerSearchMixin, ReadOnlyAdmin):
    queue_since = "review_requested_at"
    queue_permission = "loans.override_creditassessment"  # who reviews
    list_display = [
        "id",
        "borrower",
        "as_of",
        "scorecard_version",
        "score",
        "grade",
        "decision",
        "final_decision_display",
        "credit_limit",
        "daily_rate_percent",
        "review_pending_display",
        "queue_age",
        "claim_display",
    ]
    list_filter = [
        ReviewQueueFilter,
        ClaimFilter,
        "decision",
        "override_decision",
        GradeFilter,
        ScorecardVersionFilter,
        "as_of",
    ]
    list_select_related = ["borrower", "claimed_by"]
    # No date drill-down: on a million assessments its MIN/MAX under a filter reads most of
    # the table; the "as of" filter above gives the same date ranges without a query.
    actions = ["override", "claim", "release", "record_review_request", "rerun"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "borrower",
                    ("as_of", "created_at", "requested_by"),
                    ("scorecard_version", "score", "grade"),
                    ("decision", "credit_limit", "daily_rate"),
                    "rules_table",
                    "points_table",
                    "inputs_table",
                ]
            },
        ),
        (
            _("Staff override"),
            {
                "fields": [
                    ("override_decision", "override_limit", "override_daily_rate"),
                    "override_reason",
                    ("overridden_by", "overridden_at"),
                ]
            },
        ),
        (_("Manual review"), {"fields": ["review_requested_at", "review_request_note"]}),
    ]
    readonly_fields = [
        f
        for fs in fieldsets
        for row in fs[1]["fields"]
        for f in (row if isinstance(row, tuple) else (row,))
    ]

    @admin.display(description=_("final decision"))
    def final_decision_display(self, obj):
        label = obj.get_final_decision_display()
        return format_html("<strong>{}</strong> ✎", label) if obj.override_decision else label

    @admin.display(description=_("daily rate"), ordering="daily_rate")
    def daily_rate_percent(self, obj):
        return f"{obj.daily_rate * 100:.4f}%" if obj.daily_rate is not None else "—"

    @admin.display(description=_("review pending"), boolean=True)
    def review_pending_display(self, obj):
        return obj.review_pending

    def in_queue(self, obj) -> bool:
        return obj.review_pending

    def get_ordering(self, request):
        if request.GET.get(ReviewQueueFilter.parameter_name) == "pending":
            return ["review_requested_at", "id"]  # the review queue: oldest first
        return super().get_ordering(request)

    @admin.display(description=_("eligibility rules"))
    def rules_table(self, obj):
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            (
                (
                    RULE_LABELS.get(r["code"], r["code"]),
                    "✔" if r["passed"] else "✘",
                    r["detail"],
                    "" if r["passed"] else reason_message(r["code"]),
                )
                for r in obj.rule_results
            ),
        )
        return format_html("<table>{}</table>", rows)

    @admin.display(description=_("scorecard points"))
    def points_table(self, obj):
        points = obj.points or {}
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td></tr>",
            ((k.replace("_", " "), v) for k, v in points.items()),
        )
        total = format_html("<tr><th>{}</th><th>{}</th></tr>", _("total"), sum(points.values()))
        return format_html("<table>{}{}</table>", rows, total) if points else "—"

    @admin.display(description=_("what the rules were given"))
    def inputs_table(self, obj):
        return format_html(
            "<table>{}</table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", _readable_inputs(obj.inputs)),
        )

    def has_override_permission(self, request) -> bool:
        return request.user.has_perm("loans.override_creditassessment")

    def has_request_review_permission(self, request) -> bool:
        return request.user.has_perm("loans.request_review_creditassessment")

    @admin.action(description=_("Override the decision"), permissions=["override"])
    def override(self, request, queryset):
        def apply_one(assessment, data):
            rate = data["daily_rate_percent"]
            queues.decide_queue_item(
                item=assessment,
                actor=request.user,
                decide=lambda: credit_services.override_assessment(
                    assessment=assessment,
                    decision=data["decision"],
                    reason=data["reason"],
                    actor=request.user,
                    credit_limit=data["credit_limit"],
                    daily_rate=(rate / Decimal(100)).quantize(Decimal("0.000001"))
                    if rate is not None
                    else None,
                ),
            )

        return action_with_form(
            self,
            request,
            queryset,
            form_class=OverrideForm,
            title=_("Override credit decision"),
            apply_one=apply_one,
        )

    @admin.action(
        description=_("Record a borrower's request for manual review"),
        permissions=["request_review"],
    )
    def record_review_request(self, request, queryset):
        return action_with_form(
            self,
            request,
            queryset,
            form_class=ReviewRequestForm,
            title=_("Request manual review"),
            apply_one=lambda a, data: credit_services.request_manual_review(
                assessment=a, note=data["note"]
            ),
        )

    @admin.action(
        description=_("Re-run with the stored inputs and scorecard"), permissions=["view"]
    )
    def rerun(self, request, queryset):
        for assessment in queryset:
            result = credit_services.rerun_assessment(assessment=assessment)
            same = (result.score, result.grade or "", result.credit_limit) == (
                assessment.score,
                assessment.grade,
                assessment.credit_limit,
            )
            self.message_user(
                request,
                _("#%(id)s re-run: score %(score)s, grade %(grade)s — %(verdict)s")
                % {
                    "id": assessment.pk,
                    "score": result.score,
                    "grade": result.grade or "—",
                    "verdict": _("same result") if same else _("DIFFERENT result"),
                },
                messages.SUCCESS if same else messages.ERROR,
            )


class CreditLineEventInline(admin.TabularInline):
    model = CreditLineEvent
    extra = 0
    can_delete = False
    fields = ["at", "kind", "actor", "reason", "old_limit", "new_limit", "new_daily_rate"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CreditLine)
class CreditLineAdmin(BorrowerSearchMixin, BackOfficeAdmin):
    list_display = [
        "id",
        "borrower",
        "limit",
        "available",
        "daily_rate_percent",
        "status",
        "expires_on",
        "updated_at",
    ]
    list_filter = ["status", "expires_on"]
    list_select_related = ["borrower"]
    readonly_fields = [
        "borrower",
        "assessment",
        "limit",
        "outstanding_principal",
        "available",
        "daily_rate",
        "status",
        "status_reason",
        "expires_on",
        "opened_at",
        "updated_at",
    ]
    fields = readonly_fields
    inlines = [CreditLineEventInline]
    actions = ["freeze", "unfreeze", "reassess"]

    def has_add_permission(self, request) -> bool:
        return False  # lines are opened by an approved assessment

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("available"))
    def available(self, obj):
        return obj.available_amount

    @admin.display(description=_("daily rate"), ordering="daily_rate")
    def daily_rate_percent(self, obj):
        return f"{obj.daily_rate * 100:.4f}%"

    def has_freeze_permission(self, request) -> bool:
        return request.user.has_perm("loans.freeze_creditline")

    def has_assess_permission(self, request) -> bool:
        return request.user.has_perm("loans.add_creditassessment")

    @admin.action(description=_("Freeze"), permissions=["freeze"])
    def freeze(self, request, queryset):
        return action_with_form(
            self,
            request,
            queryset,
            form_class=ReasonForm,
            title=_("Freeze credit lines"),
            apply_one=lambda line, data: credit_services.freeze_credit_line(
                credit_line=line, reason=data["reason"], actor=request.user
            ),
        )

    @admin.action(description=_("Unfreeze"), permissions=["freeze"])
    def unfreeze(self, request, queryset):
        return action_with_form(
            self,
            request,
            queryset,
            form_class=ReasonForm,
            title=_("Unfreeze credit lines"),
            apply_one=lambda line, data: credit_services.unfreeze_credit_line(
                credit_line=line, reason=data["reason"], actor=request.user
            ),
        )

    @admin.action(description=_("Re-assess now"), permissions=["assess"])
    def reassess(self, request, queryset):
        for line in queryset.select_related("borrower"):
            a = credit_services.assess_credit(borrower=line.borrower, actor=request.user)
            self.message_user(
                request,
                _("%(line)s: %(decision)s")
                % {"line": line, "decision": a.get_final_decision_display()},
            )


@admin.register(CreditLineEvent)
class CreditLineEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "credit_line", "kind", "actor", "reason", "old_limit", "new_limit"]
    list_filter = ["kind", "at"]
    list_select_related = ["credit_line__borrower", "actor"]
    date_hierarchy = "at"


def _readable_inputs(inputs: dict, prefix: str = ""):
    """(label, value) rows of an assessment's inputs, nested ones flattened. The birth date is
    shown as the year only: beside a masked ID number the full date would help rebuild it."""
    for key, value in (inputs or {}).items():
        label = f"{prefix}{key.replace('_', ' ')}"
        if isinstance(value, dict):
            yield from _readable_inputs(value, prefix=f"{label}: ")
        elif key == "birth_date" and value:
            yield _("birth year"), str(value)[:4]
        else:
            yield label, "—" if value is None else value
