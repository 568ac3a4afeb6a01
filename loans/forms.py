from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import kyc
from .validators import kyc_message


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
    consent_data = forms.BooleanField(
        label=_("I agree that my personal data is processed to assess my application."),
        error_messages={"required": _("We cannot assess an application without this consent.")},
    )
    consent_credit = forms.BooleanField(
        label=_("I authorise a query of my credit report at the credit reference centre."),
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


def add_errors(form: forms.Form, exc: Exception) -> None:
    """Show a service's refusal on the form: field errors on their fields, the rest on top."""
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, list(getattr(exc, "messages", None) or [str(exc)]))
