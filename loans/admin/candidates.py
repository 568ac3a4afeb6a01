"""Ready lists in the back office: the write-off candidates and the credit-bureau report
candidates, each with its own entry in the admin index, filters, and the CSV export every list
has (loans/admin/exports.py). Each row links to its loan; a write-off candidate also to
proposing its write-off."""

from datetime import timedelta

from django.contrib import admin
from django.db.models import DecimalField, Exists, F, Min, OuterRef, Subquery, Sum, Value
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ..models import BureauReportCandidate, Instalment, WriteOff, WriteOffCandidate
from ..models.borrowers import MONEY
from ..services.write_offs import write_off_candidates
from .common import BorrowerSearchMixin, ReadOnlyAdmin

VIEW_LOAN = "loans.view_loan"
PROPOSE_WRITE_OFF = "loans.propose_writeoff"


def _of_overdue_instalments(figure, output_field=None):
    """One figure of the loan's overdue instalments, as a subquery: PostgreSQL works it out only
    for the rows a page shows (a join with GROUP BY totalled all ~50,000 candidates of a
    million loans first, over a second a page)."""
    overdue = Instalment.objects.filter(
        loan=OuterRef("pk"), status=Instalment.Status.OVERDUE
    ).order_by()
    grouped = overdue.values("loan").annotate(figure=figure).values("figure")
    return Subquery(grouped, output_field=output_field)


def _overdue(part: str):
    money = DecimalField(**MONEY)
    return _of_overdue_instalments(
        Sum(F(f"{part}_due") - F(f"{part}_paid"), output_field=money), output_field=money
    )


class CandidateAdmin(BorrowerSearchMixin, ReadOnlyAdmin):
    """A read-only list of loans, for those who work with it (not every loan viewer: a
    collector sees loans, not the lender's write-off or bureau pipeline)."""

    view_permission = VIEW_LOAN
    list_display_links = None
    list_select_related = ["borrower"]
    list_filter = ["bucket", "product"]
    # Most days past due first. The bucket follows from the days past due (M1 < M2 < M3 < M4+
    # as text too), so leading with it is the same order, and the bucket index then reads only
    # the worst bucket instead of every candidate of a million loans.
    ordering = ["-bucket", "-days_past_due", "id"]

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perms([VIEW_LOAN, self.view_permission])

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)

    def get_urls(self):
        # A list and nothing else: each row links to the loan's own page.
        keep = {
            f"{self.opts.app_label}_{self.opts.model_name}_{v}" for v in ("changelist", "search")
        }
        return [url for url in super().get_urls() if url.name in keep]

    @admin.display(description=_("loan"), ordering="id")
    def loan_link(self, obj):
        url = reverse("admin:loans_loan_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj)

    @admin.display(description=_("resident ID number"))
    def masked_id_number(self, obj):
        return obj.borrower.masked_id_number


@admin.register(WriteOffCandidate)
class WriteOffCandidateAdmin(CandidateAdmin):
    view_permission = "loans.view_writeoff"
    list_display = [
        "loan_link",
        "borrower",
        "days_past_due",
        "bucket",
        "outstanding_principal",
        "drawdown_date",
        "proposal",
    ]

    def get_queryset(self, request):
        proposed = WriteOff.objects.filter(loan=OuterRef("pk"), status=WriteOff.Status.PROPOSED)
        return (
            super()
            .get_queryset(request)
            .filter(pk__in=write_off_candidates().values("pk"))
            .annotate(
                proposed=Exists(proposed),
                # Whether to link "Propose write-off": one permission check per page.
                may_propose=Value(request.user.has_perm(PROPOSE_WRITE_OFF)),
            )
        )

    @admin.display(description=_("write-off"))
    def proposal(self, obj):
        if obj.proposed:
            return _("proposed, awaiting approval")
        if not obj.may_propose:
            return _("not proposed")
        url = reverse("admin:loans_writeoff_add")
        return format_html('<a href="{}?loan={}">{}</a>', url, obj.pk, _("Propose write-off"))


@admin.register(BureauReportCandidate)
class BureauReportCandidateAdmin(CandidateAdmin):
    """What a negative report says for each loan: who (ID number), overdue since when and for
    how many days, the bucket, and the amounts overdue and outstanding."""

    view_permission = "loans.view_creditreport"

    list_display = [
        "loan_link",
        "borrower",
        "masked_id_number",
        "overdue_since",
        "days_past_due",
        "bucket",
        "overdue_principal",
        "overdue_interest",
        "overdue_penalty",
        "overdue_total",
        "outstanding_principal",
    ]
    export_full_values = {"masked_id_number": lambda obj: obj.borrower.id_number}

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                oldest_due=_of_overdue_instalments(Min("due_date")),
                principal_overdue=_overdue("principal"),
                interest_overdue=_overdue("interest"),
                penalty_overdue=_overdue("penalty"),
            )
            .annotate(
                total_overdue=F("principal_overdue") + F("interest_overdue") + F("penalty_overdue")
            )
        )

    @admin.display(description=_("overdue since"), ordering="oldest_due")
    def overdue_since(self, obj):
        # Overdue from the day after the oldest unpaid due date, as the overdue SMS says.
        return obj.oldest_due + timedelta(days=1) if obj.oldest_due else None

    @admin.display(description=_("overdue principal"), ordering="principal_overdue")
    def overdue_principal(self, obj):
        return obj.principal_overdue

    @admin.display(description=_("overdue interest"), ordering="interest_overdue")
    def overdue_interest(self, obj):
        return obj.interest_overdue

    @admin.display(description=_("overdue penalty"), ordering="penalty_overdue")
    def overdue_penalty(self, obj):
        return obj.penalty_overdue

    @admin.display(description=_("overdue total"), ordering="total_overdue")
    def overdue_total(self, obj):
        return obj.total_overdue
