"""The borrower's own choices (language, auto-debit, reminders) and the public loan calculator."""

from decimal import Decimal

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from loans.models import LoanProduct
from loans.schedules import INTEREST_FIRST_MAX_TERM, RepaymentMethod


class LanguageForm(forms.Form):
    """中文 / EN: one of settings.LANGUAGES, exactly (where to go back to is the view's)."""

    language = forms.ChoiceField(choices=settings.LANGUAGES)


class CardPreferencesForm(forms.Form):
    """自动扣款 (auto-debit) and the early due reminders. An unticked box is not posted: off."""

    auto_debit = forms.BooleanField(
        label=_("Collect what is due from my default card on the due date (auto-debit)"),
        required=False,
    )
    early_reminders = forms.BooleanField(
        label=_("Text me a reminder 3 days and 1 day before each due date"),
        required=False,
    )


class YuanField(forms.DecimalField):
    """An amount as people type it: "10,000", "10 000" and "10，000" are 10000."""

    def to_python(self, value):
        if isinstance(value, str):
            value = value.replace(",", "").replace("，", "").replace(" ", "")
        return super().to_python(value)


class CalculatorForm(forms.Form):
    """Amount, term and method, within what the product offers. Read by GET (a quote changes
    nothing), so it is bound to request.GET and needs no CSRF token."""

    amount = YuanField(
        label=_("Amount (yuan)"),
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    term = forms.TypedChoiceField(label=_("Months"), coerce=int)
    method = forms.ChoiceField(label=_("Repayment method"))

    def __init__(self, *args, product: LoanProduct, **kwargs):
        super().__init__(*args, **kwargs)
        self.product = product
        self.fields["term"].choices = [(t, str(t)) for t in product.terms]
        self.fields["method"].choices = product.method_choices

    def clean_amount(self) -> Decimal:
        amount = self.cleaned_data["amount"]
        product = self.product
        if (
            amount < product.min_amount
            or amount > product.max_amount
            or amount % product.amount_step
        ):
            raise ValidationError(
                _("Borrow between ¥%(min)s and ¥%(max)s, in multiples of ¥%(step)s.")
                % {
                    "min": product.min_amount,
                    "max": product.max_amount,
                    "step": product.amount_step,
                }
            )
        return amount

    def clean(self):
        data = super().clean()
        method, term = data.get("method"), data.get("term")
        if method == RepaymentMethod.INTEREST_FIRST and term and term > INTEREST_FIRST_MAX_TERM:
            self.add_error(
                "term",
                _("Interest first (先息后本) is only allowed for terms of at most %(max)s months.")
                % {"max": INTEREST_FIRST_MAX_TERM},
            )
        return data
