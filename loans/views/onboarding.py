"""Borrower portal pages: mobile-first, server-rendered."""

from datetime import date, datetime
from decimal import Decimal
from functools import cache

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import crypto, kyc, schedules, selectors
from ..after_response import after_response
from ..forms import CreditApplicationForm, MobileCodeForm, ReviewRequestForm, add_errors
from ..models import Borrower, CreditLine
from ..ratelimit import RateLimited
from ..reasons import reason_message
from ..services import credit, onboarding, portal_login
from ..services.credit import RATE_MAX, RATE_MIN

# The portal remembers the borrower in the session; only that borrower's data is shown.
BORROWER_SESSION_KEY = "portal_borrower_id"
# A mobile proven with a texted code, for registering: never in a URL, only here.
PROOF_SESSION_KEY = "portal_mobile_proof"


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
            assessment = onboarding.apply_for_credit_line(
                **data, mobile=proven.mobile, ip_address=request.META.get("REMOTE_ADDR")
            )
        except ValidationError as exc:
            add_errors(form, exc)
            status = 429 if isinstance(exc, RateLimited) else 200
        else:
            log_in(request, assessment.borrower)  # also forgets the proof: used once
            return redirect("portal:my_credit")
    context = {"form": form, "masked_mobile": kyc.mask_mobile(proven.mobile), **prices()}
    return render(request, "portal/apply.html", context, status=status)


def _prove_mobile(request):
    form = MobileCodeForm(request.POST or None)
    sent, status = False, 200
    if request.method == "POST" and form.is_valid():
        mobile, ip = form.cleaned_data["mobile"], request.META.get("REMOTE_ADDR")
        try:
            if "send" in request.POST:
                portal_login.request_registration_code(mobile=mobile, ip_address=ip)
                sent = True
            else:
                proven = portal_login.verify_registration_code(
                    mobile=mobile, code=form.cleaned_data["code"]
                )
                if proven.borrower is not None:
                    return _sign_in_instead(request, proven.borrower)
                remember_proven_mobile(request, proven)
                return redirect("portal:apply")
        except ValidationError as exc:
            add_errors(form, exc)
            status = 429 if isinstance(exc, RateLimited) else 200
    context = {"code_form": form, "sent": sent, **prices()}
    return render(request, "portal/apply.html", context, status=status)


def _sign_in_instead(request, borrower: Borrower):
    """Their own number, proven with a texted code: no need to register, just sign in."""
    onboarding.record_signed_in_instead(
        borrower=borrower, ip_address=request.META.get("REMOTE_ADDR")
    )
    log_in(request, borrower)
    messages.info(request, _("You already have an account with this number, so we signed you in."))
    return redirect("portal:my_credit")


def remember_proven_mobile(request, proven: portal_login.ProvenMobile) -> None:
    """Keep the proof in the session, the mobile encrypted like every stored mobile."""
    request.session.cycle_key()
    request.session[PROOF_SESSION_KEY] = {
        "index": proven.mobile_index,
        "mobile": crypto.encrypt(proven.mobile),
        "at": proven.proven_at.isoformat(),
    }


def proven_mobile(request) -> portal_login.ProvenMobile | None:
    """The mobile this session proved within MOBILE_PROOF_LIFETIME, if any."""
    proof = request.session.get(PROOF_SESSION_KEY)
    try:
        proven_at = datetime.fromisoformat(proof["at"])
        mobile = crypto.decrypt(proof["mobile"])
    except (TypeError, KeyError, ValueError, ImproperlyConfigured):
        return None
    if timezone.now() - proven_at > portal_login.MOBILE_PROOF_LIFETIME:
        forget_proven_mobile(request)
        return None
    return portal_login.ProvenMobile(
        mobile=mobile, mobile_index=proof["index"], borrower=None, proven_at=proven_at
    )


def forget_proven_mobile(request) -> None:
    request.session.pop(PROOF_SESSION_KEY, None)


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
    forget_proven_mobile(request)
    request.session[BORROWER_SESSION_KEY] = borrower.pk


def prices() -> dict:
    return {
        "apr_min": typical_apr(RATE_MIN),
        "apr_max": typical_apr(RATE_MAX),
        "daily_min": (RATE_MIN * 100).quantize(Decimal("0.01")),
        "daily_max": (RATE_MAX * 100).quantize(Decimal("0.01")),
        "service_phone": settings.SERVICE_PHONE,
    }
