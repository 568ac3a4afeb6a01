"""还款 (repaying) from the portal: pay this bill, pay an amount, or settle today.

Only the choice, a typed amount and the form's one-time token come from the borrower; the
bill and settlement figures are the lending selector's, recomputed when the form is posted.
"""

import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from loans.money import MAX_AMOUNT
from loans.selectors import RepaymentFigures
from loans.services.payments import PORTAL_TOKEN

BILL, AMOUNT, SETTLE = "bill", "amount", "settle"
# Yuan with up to 2 decimals after cleaning; anything else is refused with a message.
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")


class RepayForm(forms.Form):
    choice = forms.ChoiceField(
        label=_("What to pay"),
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose what to pay.")},
    )
    amount = forms.CharField(
        label=_("Amount (yuan)"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    token = forms.CharField(widget=forms.HiddenInput, max_length=32)

    def __init__(self, *args, figures: RepaymentFigures, **kwargs):
        super().__init__(*args, **kwargs)
        self.figures = figures
        choices = []
        if figures.pay_bill > 0:
            choices.append((BILL, _("Pay this bill: ¥%(amount)s") % {"amount": figures.pay_bill}))
        choices.append((AMOUNT, _("Pay an amount")))
        choices.append((SETTLE, _("Settle today: ¥%(amount)s") % {"amount": figures.settle}))
        self.fields["choice"].choices = choices
        if not self.is_bound:
            self.fields["choice"].initial = BILL if figures.pay_bill > 0 else AMOUNT

    def clean_token(self) -> str:
        token = self.cleaned_data["token"]
        if not PORTAL_TOKEN.fullmatch(token):
            raise ValidationError(_("This payment form is no longer valid. Please start again."))
        return token

    def clean(self):
        data = super().clean()
        choice = data.get("choice")
        if choice == BILL:
            data["to_pay"] = self.figures.pay_bill
        elif choice == SETTLE:
            data["to_pay"] = self.figures.settle
        elif choice == AMOUNT and "amount" not in self.errors:
            try:
                data["to_pay"] = self._typed_amount(data.get("amount", ""))
            except ValidationError as exc:
                self.add_error("amount", exc)
        return data

    def _typed_amount(self, raw: str) -> Decimal:
        text = raw.strip().removeprefix("¥").strip()
        if not text:
            raise ValidationError(_("Enter the amount you want to pay."))
        if text.startswith("-"):
            raise ValidationError(_("The amount must be more than ¥0."))
        if not _NUMBER.fullmatch(text):
            raise ValidationError(_("Enter the amount in yuan, for example 500 or 500.50."))
        if len(text.partition(".")[2]) > 2:
            raise ValidationError(_("Enter at most 2 decimal places (fen)."))
        value = Decimal(text)
        if value <= 0:
            raise ValidationError(_("The amount must be more than ¥0."))
        settle = self.figures.settle
        if value > settle or value > MAX_AMOUNT:
            raise ValidationError(
                _(
                    "¥%(amount)s is more than this loan owes: ¥%(settle)s settles it today. "
                    "To pay it off, choose to settle today."
                )
                % {"amount": f"{value:.2f}", "settle": settle}
            )
        return value.quantize(Decimal("0.01"))
