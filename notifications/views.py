"""The public page where anyone checks whether a text really came from us (DESIGN §5)."""

import logging

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

from . import selectors

logger = logging.getLogger(__name__)

# Fixed windows in the cache: (limit, seconds). Enough for a person checking a few texts,
# far too few to guess a 5-character code or to probe which numbers are customers.
IP_LIMIT = (10, 10 * 60)
PHONE_LIMIT = (5, 60 * 60)


class VerifyForm(forms.Form):
    # No length or format validation: a malformed value gets the same answer as a wrong one.
    phone = forms.CharField(
        label=_("Mobile number that received the text"),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel", "maxlength": 30}),
    )
    code = forms.CharField(
        label=_("Code at the end of the text"),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "maxlength": 10,
            }
        ),
    )


@never_cache
def verify(request):
    form = VerifyForm(request.POST or None)
    context = {
        "form": form,
        "result": None,  # None (no check yet), "genuine", "not_found" or "limited"
        "message": None,
        "signature": settings.SMS_SIGNATURE,
        "service_phone": settings.SERVICE_PHONE,
    }
    status = 200
    if request.method == "POST" and form.is_valid():
        phone, code = form.cleaned_data["phone"], form.cleaned_data["code"]
        if not allow_check(ip=request.META.get("REMOTE_ADDR", ""), phone=phone):
            context["result"], status = "limited", 429
        else:
            message = selectors.find_genuine_message(phone=phone, code=code)
            context["result"] = "genuine" if message else "not_found"
            context["message"] = message
    return render(request, "notifications/verify.html", context, status=status)


def allow_check(*, ip: str, phone: str) -> bool:
    """Count one check against the client's IP and, for a well-formed mobile, its blind index.

    A number that is no mobile has no index and is held back by the IP limit alone; that tells
    nobody more than they typed. Registered and unregistered numbers are limited alike.
    """
    if not _within_limit(f"sms-verify:ip:{ip}", *IP_LIMIT):
        logger.warning("SMS verification: too many checks from %s", ip)
        return False
    index = selectors.phone_index(phone)
    if index is not None and not _within_limit(f"sms-verify:phone:{index}", *PHONE_LIMIT):
        logger.warning("SMS verification: too many checks for one number (from %s)", ip)
        return False
    return True


def _within_limit(key: str, limit: int, seconds: int) -> bool:
    cache.add(key, 0, timeout=seconds)  # starts the window; no-op while it runs
    try:
        count = cache.incr(key)
    except ValueError:  # the window ended between add and incr
        cache.set(key, 1, timeout=seconds)
        count = 1
    return count <= limit
