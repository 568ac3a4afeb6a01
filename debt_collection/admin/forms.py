"""The small forms beside a case's timeline, one per action. They only collect input; the
services decide (and refuse, with a message shown on the form)."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from notifications.models import Purpose, SmsTemplate

from ..models import CallOutcome, Collector, Complaint, ContactRestriction
from ..models.help import MAX_EXTENSION_DAYS, MAX_PLAN_TERM

MONEY = {"max_digits": 14, "decimal_places": 2, "min_value": Decimal("0.01")}
DATE = forms.DateInput(attrs={"type": "date"})
TIME = forms.TimeInput(attrs={"type": "time"})


def text_area(rows=3):
    return forms.Textarea(attrs={"rows": rows, "cols": 40})


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=CallOutcome.Outcome.choices)
    note = forms.CharField(label=_("Note"), required=False, max_length=1000, widget=text_area())
    promise_amount = forms.DecimalField(
        label=_("Promised amount (yuan)"),
        required=False,
        help_text=_("Only for a promise to pay."),
        **MONEY,
    )
    promise_date = forms.DateField(label=_("Promised by"), required=False, widget=DATE)

    def clean(self):
        data = super().clean()
        if data.get("outcome") == CallOutcome.Outcome.PROMISE:
            for name in ("promise_amount", "promise_date"):
                if not data.get(name):
                    self.add_error(name, _("A promise to pay needs an amount and a date."))
        return data


class SmsForm(forms.Form):
    template_code = forms.ChoiceField(label=_("Approved template"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        templates = SmsTemplate.objects.filter(purpose=Purpose.COLLECTION, is_active=True)
        self.fields["template_code"].choices = [(t.code, t.name) for t in templates]


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Internal note"), max_length=2000, widget=text_area())


class PromiseForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount (yuan)"), **MONEY)
    promised_on = forms.DateField(label=_("To pay by"), widget=DATE)


class VisitForm(forms.Form):
    visit_date = forms.DateField(label=_("Visit date"), widget=DATE)
    window_start = forms.TimeField(label=_("From"), widget=TIME)
    window_end = forms.TimeField(label=_("Until"), widget=TIME)
    visitor = forms.ModelChoiceField(
        label=_("Visitor"),
        queryset=Collector.objects.filter(is_active=True, on_leave=False).select_related("user"),
    )
    purpose = forms.CharField(label=_("Purpose"), max_length=200, required=False)


class HardshipForm(forms.Form):
    extension_days = forms.IntegerField(
        label=_("Extend every due date by (days)"),
        required=False,
        min_value=1,
        max_value=MAX_EXTENSION_DAYS,
    )
    new_term = forms.IntegerField(
        label=_("New plan over (months)"), required=False, min_value=1, max_value=MAX_PLAN_TERM
    )
    penalty_waiver = forms.DecimalField(label=_("Penalty to waive (yuan)"), required=False, **MONEY)
    stop_interest = forms.BooleanField(label=_("Stop further interest and penalty"), required=False)
    reason = forms.CharField(
        label=_("Why the borrower cannot pay"), max_length=2000, widget=text_area()
    )

    def clean(self):
        data = super().clean()
        offers = ("extension_days", "new_term", "penalty_waiver")
        if not any(data.get(name) for name in offers) and not data.get("stop_interest"):
            raise forms.ValidationError(
                _("Choose at least one of: extension, new plan, penalty waiver, stop interest.")
            )
        return data


class ComplaintForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Complaint.Kind.choices)
    category = forms.ChoiceField(label=_("Category"), choices=Complaint.Category.choices)
    description = forms.CharField(label=_("What happened"), max_length=4000, widget=text_area(4))


class RestrictionForm(forms.Form):
    scope = forms.ChoiceField(
        label=_("The borrower asked for"), choices=ContactRestriction.Scope.choices
    )
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class EscalateForm(forms.Form):
    text = forms.CharField(label=_("Why escalate"), max_length=2000, widget=text_area(2))


class CollectorChoiceForm(forms.Form):
    collector = forms.ModelChoiceField(
        label=_("Collector"),
        queryset=Collector.objects.filter(is_active=True).select_related("user"),
    )


class NoteOnlyForm(forms.Form):
    note = forms.CharField(
        label=_("Note"), max_length=300, required=False, widget=forms.TextInput(attrs={"size": 60})
    )


class ResolutionForm(forms.Form):
    resolution = forms.CharField(
        label=_("Written resolution"), max_length=4000, widget=text_area(5)
    )


class ReportForm(forms.Form):
    report = forms.CharField(label=_("Visit report"), max_length=4000, widget=text_area(5))
