"""借款 (lending) in the back office, after disbursement: loans with their instalments and
ledger, repayments and the ledger itself. Every change goes through `loans.services`; these
pages only ask for input and report what the services said."""

from decimal import Decimal
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .. import approvals, selectors
from ..models import Channel, Instalment, Loan, LoanTransaction, Repayment
from ..services import repayments as repayment_services
from .common import (
    BorrowerSearchMixin,
    ReadOnlyAdmin,
    ReasonForm,
    action_with_form,
    short_bucket,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _yuan(amount: Decimal) -> str:
    return f"{amount:.2f}"


# --- Loans --------------------------------------------------------------------------------


def _today_in_shanghai():
    return timezone.localdate(timezone=SHANGHAI)


class PostPaymentForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount (yuan)"), max_digits=14, decimal_places=2, min_value=Decimal("0.01")
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    external_id = forms.CharField(
        label=_("External transaction id"),
        max_length=64,
        help_text=_("The channel's own id: the same id is never posted twice."),
    )
    value_date = forms.DateField(
        label=_("Value date"), initial=_today_in_shanghai, help_text=_("YYYY-MM-DD")
    )


class ReadOnlyTabularInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class InstalmentInline(ReadOnlyTabularInline):
    model = Instalment
    fields = [
        "number",
        "due_date",
        "principal_due",
        "interest_due",
        "penalty_due",
        "principal_paid",
        "interest_paid",
        "penalty_paid",
        "status",
        "paid_on",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("loan")  # each row's title names it


class LoanTransactionInline(ReadOnlyTabularInline):
    model = LoanTransaction
    fields = [
        "created_at",
        "kind",
        "instalment_number",
        "principal",
        "interest",
        "penalty",
        "fee",
        "value_date",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("instalment")

    @admin.display(description=_("instalment"))
    def instalment_number(self, obj):
        return obj.instalment.number if obj.instalment_id else "—"


@admin.register(Loan)
class LoanAdmin(BorrowerSearchMixin, ReadOnlyAdmin):
    list_display = [
        "id",
        "borrower",
        "principal",
        "term_display",
        "balance",
        "status",
        "dpd",
        short_bucket,
        "drawn",
    ]
    list_display_links = ["id", "borrower"]
    list_filter = ["status", "bucket", "method", "write_off_candidate", "drawdown_date"]
    list_select_related = ["borrower", "product"]
    inlines = [InstalmentInline, LoanTransactionInline]
    actions = ["post_payment"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "borrower",
                    ("application", "contract"),
                    ("product", "credit_line"),
                    ("principal", "term", "method"),
                    ("daily_rate", "apr_percent"),
                    ("penalty_multiplier", "grace_days"),
                    "drawdown_date",
                ]
            },
        ),
        (
            _("Balance"),
            {
                "fields": [
                    ("outstanding_principal", "status", "settled_on"),
                    ("last_prepayment_date", "prepayment_interest_base"),
                    ("days_past_due", "bucket", "write_off_candidate"),
                    "repayments_link",
                ]
            },
        ),
    ]
    readonly_fields = ["repayments_link"]

    @admin.display(description=_("drawn"), ordering="drawdown_date")
    def drawn(self, obj):
        return obj.drawdown_date

    @admin.display(description=_("outstanding"), ordering="outstanding_principal")
    def balance(self, obj):
        # The daily rate is on the loan's page: the list keeps to what a queue needs.
        return obj.outstanding_principal

    # Short columns, so the list fits 1400 px with status, DPD and bucket in view.
    @admin.display(description=_("term"), ordering="term")
    def term_display(self, obj):
        return format_html('<span title="{}">{}</span>', obj.get_method_display(), obj.term)

    @admin.display(description=_("DPD"), ordering="days_past_due")
    def dpd(self, obj):
        return obj.days_past_due

    @admin.display(description=_("repayments"))
    def repayments_link(self, obj):
        url = reverse("admin:loans_repayment_changelist")
        return format_html('<a href="{}?loan__id__exact={}">{}</a>', url, obj.pk, _("Repayments"))

    def has_post_repayment_permission(self, request) -> bool:
        return request.user.has_perm("loans.post_repayment_loan")

    @admin.action(description=_("Post a payment"), permissions=["post_repayment"])
    def post_payment(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(
                request, _("Select exactly one loan to post a payment to."), messages.WARNING
            )
            return None

        def apply_one(loan, data):
            # Above the manual-posting threshold this becomes a proposal for a second person.
            outcome, repayment, created = approvals.post_manual_repayment(
                loan=loan,
                amount=data["amount"],
                channel=data["channel"],
                external_id=data["external_id"],
                value_date=data["value_date"],
                actor=request.user,
            )
            if outcome == "proposed":
                self.message_user(
                    request,
                    _(
                        "%(loan)s: ¥%(amount)s is above ¥%(threshold)s, so it waits for a "
                        "second person's approval (proposal #%(id)s); nothing is posted yet."
                    )
                    % {
                        "loan": loan,
                        "amount": _yuan(data["amount"]),
                        "threshold": _yuan(approvals.threshold("manual_posting")),
                        "id": repayment.pk,
                    },
                    messages.WARNING,
                )
                return
            if not created:
                raise ValidationError(
                    _(
                        "Transaction %(id)s was already posted on %(date)s (¥%(amount)s); "
                        "nothing changed."
                    )
                    % {
                        "id": repayment.external_id,
                        "date": repayment.value_date,
                        "amount": repayment.amount,
                    }
                )
            self.message_user(
                request,
                _(
                    "%(loan)s: ¥%(amount)s posted — penalty ¥%(penalty)s, interest "
                    "¥%(interest)s, principal ¥%(principal)s (of which prepaid ¥%(prepaid)s), "
                    "to refund ¥%(unapplied)s."
                )
                % {
                    "loan": loan,
                    "amount": _yuan(repayment.amount),
                    "penalty": _yuan(repayment.penalty),
                    "interest": _yuan(repayment.interest),
                    "principal": _yuan(repayment.principal),
                    "prepaid": _yuan(repayment.prepaid_principal),
                    "unapplied": _yuan(repayment.unapplied),
                }
                + (" " + str(_("The loan is settled.")) if repayment.settled_loan else ""),
                messages.SUCCESS,
            )

        loan = queryset.get()
        figures = selectors.repayment_figures(loan=loan, on=timezone.localdate())
        owed = [
            _("Pay this bill: ¥%(amount)s (overdue ¥%(overdue)s%(bill)s).")
            % {
                "amount": _yuan(figures.pay_bill),
                "overdue": _yuan(figures.overdue),
                "bill": _(", instalment %(number)s due %(date)s ¥%(bill)s")
                % {
                    "number": figures.bill.number,
                    "date": figures.bill.due_date,
                    "bill": _yuan(figures.bill_amount),
                }
                if figures.bill
                else "",
            },
            _("Settle today: ¥%(amount)s.") % {"amount": _yuan(figures.settle)},
            _("A payment above ¥%(threshold)s waits for a second person's approval.")
            % {"threshold": _yuan(approvals.threshold("manual_posting"))},
        ]
        return action_with_form(
            self,
            request,
            queryset,
            form_class=PostPaymentForm,
            title=_("Post a payment"),
            apply_one=apply_one,
            notes=owed,
        )


# --- Repayments and the ledger ------------------------------------------------------------


@admin.register(Repayment)
class RepaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "external_id",
        "loan",
        "amount",
        "channel",
        "value_date",
        "status",
        "principal",
        "interest",
        "penalty",
        "prepaid_principal",
        "unapplied",
        "settled_loan",
        "posted_at",
    ]
    list_filter = ["status", "channel", "value_date"]
    list_select_related = ["loan"]
    search_fields = ["=external_id"]
    search_help_text = _("Exact external transaction id.")
    actions = ["reverse"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("external_id", "channel"),
                    "loan",
                    ("amount", "value_date", "status"),
                    ("posted_at", "posted_by"),
                ]
            },
        ),
        (
            _("Allocation"),
            {
                "fields": [
                    ("penalty", "interest", "fee", "principal"),
                    ("prepaid_principal", "unapplied", "settled_loan"),
                ]
            },
        ),
        (
            _("Reversal"),
            {"fields": [("reversed_at", "reversed_by"), "reversal_reason", "before"]},
        ),
    ]

    def has_post_repayment_permission(self, request) -> bool:
        return request.user.has_perm("loans.post_repayment_loan")

    @admin.action(description=_("Reverse (a bounced payment)"), permissions=["post_repayment"])
    def reverse(self, request, queryset):
        return action_with_form(
            self,
            request,
            queryset,
            form_class=ReasonForm,
            title=_("Reverse repayments"),
            apply_one=lambda repayment, data: repayment_services.reverse_repayment(
                repayment=repayment, reason=data["reason"], actor=request.user
            ),
        )


@admin.register(LoanTransaction)
class LoanTransactionAdmin(BorrowerSearchMixin, ReadOnlyAdmin):
    borrower_path = "loan__borrower"
    list_display = [
        "id",
        "loan",
        "instalment_number",
        "kind",
        "value_date",
        "principal",
        "interest",
        "penalty",
        "fee",
        "repayment",
        "created_at",
    ]
    list_filter = ["kind", "value_date"]
    list_select_related = ["loan", "instalment", "repayment"]

    @admin.display(description=_("instalment"), ordering="instalment__number")
    def instalment_number(self, obj):
        return obj.instalment.number if obj.instalment_id else "—"


@admin.register(Instalment)
class InstalmentAdmin(BorrowerSearchMixin, ReadOnlyAdmin):
    """Every instalment of every loan, to find what falls due or is overdue across the book;
    one loan's instalments are on its own page."""

    borrower_path = "loan__borrower"
    list_display = [
        "loan",
        "number",
        "due_date",
        "principal_due",
        "interest_due",
        "penalty_due",
        "outstanding",
        "status",
        "paid_on",
    ]
    list_filter = ["status", "due_date"]
    list_select_related = ["loan"]
    fields = [
        "loan",
        ("number", "due_date", "status"),
        ("principal_due", "interest_due", "fee_due", "penalty_due"),
        ("principal_paid", "interest_paid", "fee_paid", "penalty_paid"),
        ("penalty_accrued_through", "paid_on"),
    ]
    readonly_fields = ["loan"]

    @admin.display(description=_("outstanding"))
    def outstanding(self, obj):
        return _yuan(obj.total_outstanding)
