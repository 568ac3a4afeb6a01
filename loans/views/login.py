from django import forms
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from ..forms import add_errors
from ..services import portal_login
from .onboarding import BORROWER_SESSION_KEY, log_in, prices


class LoginForm(forms.Form):
    mobile = forms.CharField(label=gettext_lazy("Mobile number"), max_length=20)
    code = forms.CharField(
        label=gettext_lazy("6-digit code"),
        max_length=6,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


def login(request):
    form = LoginForm(request.POST or None)
    sent = False
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
    context = {
        "form": form,
        "sent": sent,
        "sent_message": _("If this number is registered with us, a code is on its way."),
        **prices(),
    }
    return render(request, "portal/login.html", context)


@require_POST
def logout(request):
    request.session.pop(BORROWER_SESSION_KEY, None)
    request.session.cycle_key()
    return redirect("portal:home")
