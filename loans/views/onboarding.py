"""Borrower portal pages: mobile-first, server-rendered."""

from datetime import date
from decimal import Decimal
from functools import cache

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import schedules, selectors
from ..forms import CreditApplicationForm, ReviewRequestForm, add_errors
from ..models import Borrower, CreditLine
from ..reasons import reason_message
from ..services import credit, onboarding
from ..services.credit import RATE_MAX, RATE_MIN

# The portal remembers the borrower in the session; only that borrower's data is shown.
BORROWER_SESSION_KEY = "portal_borrower_id"


@cache
def typical_apr(daily_rate: Decimal) -> Decimal:
    """APR of a typical loan (¥10,000 over 10 equal instalments) at a daily rate: the price
    shown most prominently, per PBOC announcement [2021] No. 3."""
    return schedules.build_schedule(
        principal=Decimal("10000.00"),
        term=10,
        daily_rate=daily_rate,
        method=schedules.RepaymentMethod.EQUAL_INSTALLMENT,
        drawdown=date(2026, 1, 15),
    ).apr_percent


def home(request):
    return render(request, "portal/home.html", prices())


def apply(request):
    """The borrower tells us who they are and gets an answer at once."""
    form = CreditApplicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if not k.startswith("consent_")}
        try:
            assessment = onboarding.apply_for_credit_line(
                **data, ip_address=request.META.get("REMOTE_ADDR")
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            log_in(request, assessment.borrower)
            return redirect("portal:my_credit")
    return render(request, "portal/apply.html", {"form": form, **prices()})


def my_credit(request):
    borrower = session_borrower(request)
    if borrower is None:
        return redirect("portal:apply")
    assessment = selectors.latest_assessment(borrower=borrower)
    line = CreditLine.objects.filter(borrower=borrower).first()
    context = {
        "borrower": borrower,
        "assessment": assessment,
        "line": line,
        "loans": borrower.loans.order_by("-id"),
        "applications": borrower.applications.filter(
            status__in=["pending_review", "approved"]
        ).select_related("contract"),
        "line_apr": typical_apr(line.daily_rate) if line else None,
        "line_daily_percent": (line.daily_rate * 100).quantize(Decimal("0.0001")) if line else None,
        "reasons": [reason_message(code) for code in assessment.reasons] if assessment else [],
        "review_form": ReviewRequestForm(),
        **prices(),
    }
    return render(request, "portal/credit.html", context)


@require_POST
def request_review(request):
    borrower = session_borrower(request)
    if borrower is None:
        return redirect("portal:apply")
    form = ReviewRequestForm(request.POST)
    assessment = selectors.latest_assessment(borrower=borrower)
    if form.is_valid() and assessment is not None:
        try:
            credit.request_manual_review(assessment=assessment, note=form.cleaned_data["note"])
        except ValidationError as exc:
            messages.info(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _("Thank you. A member of staff will review the decision and contact you."),
            )
    return redirect("portal:my_credit")


def session_borrower(request) -> Borrower | None:
    borrower_id = request.session.get(BORROWER_SESSION_KEY)
    return Borrower.objects.filter(pk=borrower_id).first() if borrower_id else None


def log_in(request, borrower: Borrower) -> None:
    request.session.cycle_key()  # a new session id on login: no session fixation
    request.session[BORROWER_SESSION_KEY] = borrower.pk


def prices() -> dict:
    return {
        "apr_min": typical_apr(RATE_MIN),
        "apr_max": typical_apr(RATE_MAX),
        "daily_min": (RATE_MIN * 100).quantize(Decimal("0.01")),
        "daily_max": (RATE_MAX * 100).quantize(Decimal("0.01")),
        "service_phone": settings.SERVICE_PHONE,
    }
