"""The forms borrowers fill in. A service's refusal is shown on them with `add_errors`."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loans import kyc
from loans.consents import shown_text
from loans.models import Consent, LoanProduct
from loans.models.products import METHOD_LABELS
from loans.validators import kyc_message

# The banks a card can be bound from: the stored name is the Chinese one the gateway uses.
BANKS = [
    ("中国工商银行", "中国工商银行 ICBC"),
    ("中国建设银行", "中国建设银行 China Construction Bank"),
    ("中国农业银行", "中国农业银行 Agricultural Bank of China"),
    ("中国银行", "中国银行 Bank of China"),
    ("交通银行", "交通银行 Bank of Communications"),
    ("中国邮政储蓄银行", "中国邮政储蓄银行 Postal Savings Bank of China"),
    ("招商银行", "招商银行 China Merchants Bank"),
    ("中信银行", "中信银行 China CITIC Bank"),
    ("浦发银行", "浦发银行 SPD Bank"),
    ("兴业银行", "兴业银行 Industrial Bank"),
    ("中国民生银行", "中国民生银行 China Minsheng Bank"),
    ("中国光大银行", "中国光大银行 China Everbright Bank"),
    ("平安银行", "平安银行 Ping An Bank"),
    ("华夏银行", "华夏银行 Hua Xia Bank"),
    ("广发银行", "广发银行 China Guangfa Bank"),
    ("微众银行", "微众银行 WeBank"),
]


class MobileCodeForm(forms.Form):
    """A mobile, and the code we texted to it (empty until it has been sent)."""

    mobile = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    code = forms.CharField(
        label=_("6-digit code"),
        max_length=6,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class CreditApplicationForm(forms.Form):
    """Who the applicant is. No mobile: the one they proved with a texted code is used."""

    name = forms.CharField(label=_("Name (as on your ID card)"), max_length=50)
    id_number = forms.CharField(label=_("Resident ID number"), max_length=20)
    id_expiry_date = forms.DateField(
        label=_("ID card valid until"),
        required=False,
        help_text=_("Leave empty if your ID card is long-term (长期)."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    employer = forms.CharField(label=_("Employer"), max_length=200, required=False)
    occupation = forms.CharField(label=_("Occupation"), max_length=100, required=False)
    monthly_income = forms.DecimalField(
        label=_("Monthly income (yuan)"), min_value=0, max_digits=12, decimal_places=2
    )
    monthly_debt_payments = forms.DecimalField(
        label=_("Monthly repayments on other debts (yuan)"),
        min_value=0,
        max_digits=12,
        decimal_places=2,
        initial=0,
    )
    # The full text of each consent, the version recorded with it, is shown beside its box.
    consent_data = forms.BooleanField(
        label=_("I agree that my personal data is processed to assess my application."),
        help_text=shown_text(Consent.Kind.DATA_PROCESSING),
        error_messages={"required": _("We cannot assess an application without this consent.")},
    )
    consent_credit = forms.BooleanField(
        label=_("I authorise a query of my credit report at the credit reference centre."),
        help_text=shown_text(Consent.Kind.CREDIT_QUERY),
        error_messages={"required": _("We cannot assess an application without this consent.")},
    )

    def clean_id_number(self) -> str:
        # The number's form only: whether it is already a borrower's is never said here.
        try:
            return kyc.parse_resident_id(
                self.cleaned_data["id_number"], today=timezone.localdate()
            ).number
        except kyc.KycError as exc:
            raise ValidationError(kyc_message(exc.code)) from exc


class ReviewRequestForm(forms.Form):
    note = forms.CharField(
        label=_("Anything we should know (optional)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class BorrowForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount (yuan)"), min_value=1, max_digits=9, decimal_places=0
    )
    term = forms.TypedChoiceField(label=_("Months"), coerce=int)
    method = forms.ChoiceField(label=_("Repayment method"), choices=METHOD_LABELS)

    def __init__(self, *args, product: LoanProduct, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["term"].choices = [(t, str(t)) for t in product.terms]
        self.fields["method"].choices = product.method_choices


class BindCardForm(forms.Form):
    """绑卡 (binding a bank card), step 1: the card, in the borrower's own name."""

    card_number = forms.CharField(
        label=_("Card number"),
        max_length=30,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "cc-number"}),
    )
    bank_name = forms.ChoiceField(label=_("Bank"), choices=BANKS)
    make_default = forms.BooleanField(
        label=_("Use it for loans and repayments (default card)"),
        required=False,
        initial=True,
    )


class CardCodeForm(forms.Form):
    code = forms.CharField(
        label=_("6-digit code"),
        max_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


def add_errors(form: forms.Form, exc: Exception) -> None:
    """Show a service's refusal on the form: field errors on their fields, the rest on top."""
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, list(getattr(exc, "messages", None) or [str(exc)]))
