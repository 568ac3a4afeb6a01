from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .services.borrowers import clean_identity


class CreditApplicationForm(forms.Form):
    name = forms.CharField(label=_("Name (as on your ID card)"), max_length=50)
    id_number = forms.CharField(label=_("Resident ID number"), max_length=20)
    mobile = forms.CharField(label=_("Mobile number"), max_length=20)
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

    def clean(self):
        data = super().clean()
        if data.get("id_number") and data.get("mobile"):
            try:
                data["id_number"], data["mobile"] = clean_identity(
                    id_number=data["id_number"], mobile=data["mobile"]
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    self.add_error(field, errors)
        return data


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
