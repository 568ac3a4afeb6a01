from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ..after_response import after_response
from ..forms import MobileCodeForm, add_errors
from ..ratelimit import RateLimited
from ..services import portal_login
from .onboarding import BORROWER_SESSION_KEY, forget_proven_mobile, log_in, prices

LoginForm = MobileCodeForm


@after_response  # the code is texted after the answer, so its time says nothing
def login(request):
    form = LoginForm(request.POST or None)
    sent, status = False, 200
    if request.method == "POST" and form.is_valid():
        mobile = form.cleaned_data["mobile"]
        try:
            if "send" in request.POST:
                portal_login.request_login_code(
                    mobile=mobile, ip_address=request.META.get("REMOTE_ADDR")
                )
                sent = True
            else:
                borrower = portal_login.verify_login_code(
                    mobile=mobile, code=form.cleaned_data["code"]
                )
                log_in(request, borrower)
                return redirect("portal:my_credit")
        except ValidationError as exc:
            add_errors(form, exc)
            status = 429 if isinstance(exc, RateLimited) else 200
    context = {
        "form": form,
        "sent": sent,
        "sent_message": _("If this number is registered with us, a code is on its way."),
        **prices(),
    }
    return render(request, "portal/login.html", context, status=status)


@require_POST
def logout(request):
    request.session.pop(BORROWER_SESSION_KEY, None)
    forget_proven_mobile(request)
    request.session.cycle_key()
    return redirect("portal:home")
