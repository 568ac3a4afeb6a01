"""Signing in with a texted code, and out."""

from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loans.after_response import after_response
from loans.ratelimit import RateLimited
from loans.services import login_codes

from ..forms import MobileCodeForm, add_errors
from ..session import log_in, log_out, with_sign_in_language

LoginForm = MobileCodeForm


@after_response  # the code is texted after the answer, so its time says nothing
def login(request):
    form = LoginForm(request.POST or None)
    sent, status = False, 200
    if request.method == "POST" and form.is_valid():
        mobile = form.cleaned_data["mobile"]
        try:
            if "send" in request.POST:
                login_codes.request_login_code(
                    mobile=mobile, ip_address=request.META.get("REMOTE_ADDR")
                )
                sent = True
            else:
                borrower = login_codes.verify_login_code(
                    mobile=mobile, code=form.cleaned_data["code"]
                )
                log_in(request, borrower)
                return with_sign_in_language(request, redirect("portal:my_credit"))
        except ValidationError as exc:
            add_errors(form, exc)
            status = 429 if isinstance(exc, RateLimited) else 200
    context = {
        "form": form,
        "sent": sent,
        "sent_message": _("If this number is registered with us, a code is on its way."),
    }
    return render(request, "portal/login.html", context, status=status)


@require_POST
def logout(request):
    log_out(request)
    return redirect("portal:home")
