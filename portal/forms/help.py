"""The help forms: asking for a hardship plan (协商还款) and writing a complaint or dispute
(投诉 / 异议). The limits are the services' own; the services check again."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from debt_collection.models import Complaint
from debt_collection.services.complaints import MAX_TEXT_LENGTH
from debt_collection.services.hardship import MAX_REASON_LENGTH
from loans.models.restructuring import MAX_EXTENSION_DAYS, MAX_PLAN_TERM

# Room left in the stored reason for the line saying what the borrower can pay a month, and
# in the stored complaint for the line naming the loan.
REASON_LENGTH = MAX_REASON_LENGTH - 100
COMPLAINT_LENGTH = MAX_TEXT_LENGTH - 100
MAX_MONEY = Decimal("9999999.99")


def _interpolated(message, **values):
    """A lazy message with its numbers filled in when shown, in the language of the request
    (a lazy string's own `%` would fix the language at import)."""
    return lazy(lambda: str(message) % values, str)()


class HardshipForm(forms.Form):
    """One loan, one or more of the four kinds of help, the reason and what the borrower can
    pay each month."""

    WAIVE_NONE, WAIVE_ALL, WAIVE_PART = "", "all", "part"

    loan = forms.ChoiceField(label=_("Which loan"))
    extension_days = forms.IntegerField(
        label=_("Move every remaining due date later by (days)"),
        required=False,
        min_value=1,
        max_value=MAX_EXTENSION_DAYS,
        help_text=_interpolated(
            _("1 to %(max)d days. Leave empty if you do not want this."), max=MAX_EXTENSION_DAYS
        ),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    new_term = forms.IntegerField(
        label=_("Spread what you owe over (monthly instalments)"),
        required=False,
        min_value=1,
        max_value=MAX_PLAN_TERM,
        help_text=_interpolated(
            _("1 to %(max)d months. Leave empty if you do not want this."), max=MAX_PLAN_TERM
        ),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    waiver = forms.ChoiceField(
        label=_("Waive penalty interest"),
        required=False,
        choices=[
            (WAIVE_NONE, _("No waiver")),
            (WAIVE_ALL, _("All the penalty owed")),
            (WAIVE_PART, _("Part of it: the amount below")),
        ],
        widget=forms.RadioSelect,
    )
    penalty_waiver = forms.DecimalField(
        label=_("Penalty to waive (yuan)"),
        required=False,
        min_value=Decimal("0.01"),
        max_value=MAX_MONEY,
        max_digits=9,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}),
    )
    stop_interest = forms.BooleanField(
        label=_("Stop further interest and penalty (停息挂账)"), required=False
    )
    reason = forms.CharField(
        label=_("Why you cannot pay as planned"),
        max_length=REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("Tell us why, so that we can decide.")},
    )
    can_pay_monthly = forms.DecimalField(
        label=_("What you can pay each month (yuan)"),
        min_value=0,
        max_value=MAX_MONEY,
        max_digits=9,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}),
    )

    def __init__(self, *args, loans, **kwargs):
        super().__init__(*args, **kwargs)
        self.loans = {str(loan.pk): loan for loan in loans}
        self.fields["loan"].choices = [(pk, _loan_label(loan)) for pk, loan in self.loans.items()]

    def clean_loan(self):
        return self.loans[self.cleaned_data["loan"]]  # a choice, so one of the borrower's

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise ValidationError(_("Tell us why, so that we can decide."))
        return reason

    def clean(self):
        data = super().clean()
        waiver = data.get("waiver") or self.WAIVE_NONE
        if waiver == self.WAIVE_PART and data.get("penalty_waiver") is None:
            if "penalty_waiver" not in self.errors:
                self.add_error("penalty_waiver", _("Say how much penalty to waive."))
        if waiver != self.WAIVE_PART:
            data["penalty_waiver"] = None
        asked = [
            data.get("extension_days"),
            data.get("new_term"),
            waiver or None,
            data.get("stop_interest") or None,
        ]
        failed = {"extension_days", "new_term", "penalty_waiver"} & set(self.errors)
        if not any(v is not None for v in asked) and not failed:
            raise ValidationError(
                _(
                    "Choose at least one: later due dates, a new plan, a penalty waiver, or"
                    " stopping interest and penalty."
                )
            )
        return data


class ComplaintForm(forms.Form):
    category = forms.ChoiceField(
        label=_("What it is about"), choices=Complaint.Category.choices, widget=forms.RadioSelect
    )
    description = forms.CharField(
        label=_("What happened"),
        max_length=COMPLAINT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": _("Write what happened, so that we can look into it.")},
    )
    loan = forms.ChoiceField(label=_("Which loan (optional)"), required=False)

    def __init__(self, *args, loans, **kwargs):
        super().__init__(*args, **kwargs)
        self.loans = {str(loan.pk): loan for loan in loans}
        self.fields["loan"].choices = [("", _("Not about one loan"))] + [
            (pk, _loan_label(loan)) for pk, loan in self.loans.items()
        ]

    def clean_loan(self):
        return self.loans.get(self.cleaned_data["loan"])

    def clean_description(self) -> str:
        text = self.cleaned_data["description"].strip()
        if not text:
            raise ValidationError(_("Write what happened, so that we can look into it."))
        return text


def _loan_label(loan) -> str:
    label = f"{loan.contract.number} · ¥{loan.principal:,.2f}"
    if loan.days_past_due:
        label += " · " + str(_("%(days)d days overdue") % {"days": loan.days_past_due})
    return label
