"""Borrower-facing explanations and staff labels for the codes in ``loans.scoring``.

An assessment stores only codes (``Assessment.reasons``); the words live here, translated at
display time, so a stored decision can be shown in the reader's language and a rewording never
touches stored data. Messages say what the borrower can do where there is something to do, and
avoid quoting thresholds, which belong to a scorecard version and may change; the one exception,
the age band, is filled in from ``loans.kyc`` when shown.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from loans import scoring
from loans.validators import AGE_BAND, lazy_interpolate

REASON_MESSAGES: dict[str, Promise] = {
    scoring.IDENTITY_COMPLETE: _(
        "We need your name, ID number and mobile number before we can assess your application."
    ),
    scoring.ID_UNEXPIRED: _("Your ID card has expired. Please update it and apply again."),
    scoring.AGE: lazy_interpolate(
        _("Credit lines are only available to people aged %(min)s to %(max)s."), AGE_BAND
    ),
    scoring.MAINLAND_RESIDENT: _(
        "Credit lines are currently only available to residents of mainland China."
    ),
    scoring.CIVIL_CAPACITY: _(
        "A credit line can only be opened by an adult with full legal capacity to sign contracts."
    ),
    scoring.CONSENTS: _(
        "We need your consent to use your information and to check your credit report "
        "before we can assess your application."
    ),
    scoring.CREDIT_REPORT_AVAILABLE: _(
        "We could not obtain your credit report, so we cannot assess your application yet. "
        "Please try again later."
    ),
    scoring.NO_CURRENT_OVERDUE: _(
        "Your credit report shows a loan or card that is overdue now. "
        "Please repay it and apply again."
    ),
    scoring.NO_SERIOUS_DELINQUENCY: _(
        "Your credit report shows a seriously late payment in the last two years."
    ),
    scoring.RECENT_INQUIRIES: _(
        "You have applied for credit many times recently. Please try again in a few months."
    ),
    scoring.INCOME: _("Your income is below the minimum we need to offer a credit line."),
    scoring.DEBT_TO_INCOME: _(
        "Your existing debt repayments are too high compared with your income."
    ),
    scoring.ACCOUNT_ACTIVITY: _(
        "Your account does not have enough activity yet for us to offer a credit line. "
        "Please try again later."
    ),
    scoring.LOW_SCORE: _(
        "Based on our overall assessment we cannot offer you a credit line at this time. "
        "You can apply again later."
    ),
}

RULE_LABELS: dict[str, Promise] = {
    scoring.IDENTITY_COMPLETE: _("Identity details complete"),
    scoring.ID_UNEXPIRED: _("ID card valid"),
    scoring.AGE: _("Age"),
    scoring.MAINLAND_RESIDENT: _("Mainland resident"),
    scoring.CIVIL_CAPACITY: _("Full civil capacity"),
    scoring.CONSENTS: _("Consents given"),
    scoring.CREDIT_REPORT_AVAILABLE: _("Credit report available"),
    scoring.NO_CURRENT_OVERDUE: _("No current overdue"),
    scoring.NO_SERIOUS_DELINQUENCY: _("Worst days past due (24 months)"),
    scoring.RECENT_INQUIRIES: _("Credit inquiries (3 months)"),
    scoring.INCOME: _("Monthly income"),
    scoring.DEBT_TO_INCOME: _("Debt-to-income ratio"),
    scoring.ACCOUNT_ACTIVITY: _("Account activity"),
    scoring.LOW_SCORE: _("Score grade"),
}

# For a code this module does not know (e.g. one added to scoring without a message yet):
# still a true and polite answer rather than an error page.
_FALLBACK_MESSAGE = _("We cannot offer you a credit line at this time.")


def reason_message(code: str) -> str:
    """The borrower-facing explanation of a reason code, in the active language."""
    return str(REASON_MESSAGES.get(code, _FALLBACK_MESSAGE))
