"""The front page, registering (prove the mobile, then apply) and the credit line page."""

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loans import kyc, selectors
from loans.after_response import after_response
from loans.models import Borrower, CreditLine, Loan
from loans.ratelimit import RateLimited
from loans.reasons import reason_message
from loans.scorecard import CURRENT_SCORECARD_VERSION, get_scorecard
from loans.services import credit, login_codes, registration

from .. import selectors as portal_selectors
from ..context_processors import typical_apr
from ..decorators import borrower_required
from ..forms import CreditApplicationForm, MobileCodeForm, ReviewRequestForm, add_errors
from ..session import (
    forget_proven_mobile,
    log_in,
    page_language,
    proven_mobile,
    remember_proven_mobile,
    with_sign_in_language,
)


def home(request):
    # Who can apply is the current scorecard's own thresholds, not text of its own.
    rules = get_scorecard(CURRENT_SCORECARD_VERSION).thresholds
    context = {
        "age_min": rules.min_age,
        "age_max": rules.max_age,
        "min_income": rules.min_monthly_income,
    }
    return render(request, "portal/home.html", context)


@after_response
def apply(request):
    """Registering: prove the mobile with a texted code, then say who you are and get an
    answer at once. Nothing about the person is kept before the mobile is proven."""
    if request.method == "POST" and "restart" in request.POST:
        forget_proven_mobile(request)
        return redirect("portal:apply")
    proven = proven_mobile(request)
    if proven is None:
        return _prove_mobile(request)
    holder = Borrower.objects.filter(mobile_index=proven.mobile_index).first()
    if holder is not None:  # registered since, e.g. in another tab
        return _sign_in_instead(request, holder)
    # A stale step-one button (back, double click) is no application.
    posted = request.method == "POST" and not {"send", "verify"} & set(request.POST)
    form = CreditApplicationForm(request.POST if posted else None)
    status = 200
    if posted and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if not k.startswith("consent_")}
        try:
            assessment = registration.apply_for_credit_line(
                **data,
                mobile=proven.mobile,
                ip_address=request.META.get("REMOTE_ADDR"),
                language=page_language(),
            )
        except ValidationError as exc:
            add_errors(form, exc)
            status = 429 if isinstance(exc, RateLimited) else 200
        else:
            log_in(request, assessment.borrower)  # also forgets the proof: used once
            return with_sign_in_language(request, redirect("portal:my_credit"))
    context = {"form": form, "masked_mobile": kyc.mask_mobile(proven.mobile)}
    return render(request, "portal/apply.html", context, status=status)


def _prove_mobile(request):
    form = MobileCodeForm(request.POST or None)
    sent, status = False, 200
    if request.method == "POST" and form.is_valid():
        mobile, ip = form.cleaned_data["mobile"], request.META.get("REMOTE_ADDR")
        try:
            if "send" in request.POST:
                login_codes.request_registration_code(mobile=mobile, ip_address=ip)
                sent = True
            else:
                proven = login_codes.verify_registration_code(
                    mobile=mobile, code=form.cleaned_data["code"]
                )
                if proven.borrower is not None:
                    return _sign_in_instead(request, proven.borrower)
                remember_proven_mobile(request, proven)
                return redirect("portal:apply")
        except ValidationError as exc:
            add_errors(form, exc)
            status = 429 if isinstance(exc, RateLimited) else 200
    context = {"code_form": form, "sent": sent}
    return render(request, "portal/apply.html", context, status=status)


def _sign_in_instead(request, borrower: Borrower):
    """Their own number, proven with a texted code: no need to register, just sign in."""
    registration.record_signed_in_instead(
        borrower=borrower, ip_address=request.META.get("REMOTE_ADDR")
    )
    log_in(request, borrower)
    messages.info(request, _("You already have an account with this number, so we signed you in."))
    return with_sign_in_language(request, redirect("portal:my_credit"))


@borrower_required(redirect_to="portal:apply")
def my_credit(request):
    borrower = request.borrower
    assessment = selectors.latest_assessment(borrower=borrower)
    line = CreditLine.objects.filter(borrower=borrower).first()
    summaries = portal_selectors.borrower_loans(borrower=borrower, on=timezone.localdate())
    active = [s for s in summaries if s.loan.status == Loan.Status.ACTIVE]
    bills = sorted((s for s in active if s.next_bill), key=lambda s: s.next_bill.due_date)
    overdue = [s for s in active if s.standing.overdue]
    context = {
        "borrower": borrower,
        "assessment": assessment,
        "line": line,
        "summaries": summaries,
        "next_bill": bills[0] if bills else None,
        "overdue_loans": overdue,
        "overdue_amount": sum((s.figures.overdue for s in overdue), Decimal("0.00")),
        "overdue_days": max((s.standing.days_past_due for s in overdue), default=0),
        "applications": borrower.applications.filter(
            status__in=["pending_review", "approved"]
        ).select_related("contract"),
        "line_apr": typical_apr(line.daily_rate) if line else None,
        "line_daily_percent": (line.daily_rate * 100).quantize(Decimal("0.0001")) if line else None,
        "reasons": [reason_message(code) for code in assessment.reasons] if assessment else [],
        "review_form": ReviewRequestForm(),
    }
    return render(request, "portal/credit.html", context)


@require_POST
@borrower_required(redirect_to="portal:apply")
def request_review(request):
    form = ReviewRequestForm(request.POST)
    assessment = selectors.latest_assessment(borrower=request.borrower)
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
