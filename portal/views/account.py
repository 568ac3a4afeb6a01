"""The language switch (中文 / EN) in every page's header. Like Django's own set_language
(the language cookie, back to the page on this site the switch was pressed on), and for a
signed-in borrower the choice is also kept on the borrower: their next sign-in and every SMS
we send them use it."""

from django.http import HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from loans.services import borrowers as borrower_services

from ..forms.account import LanguageForm
from ..session import session_borrower, set_language_cookie


def _on_this_site(request, url: str | None) -> bool:
    """Never another site, never a control character (a NUL or a line break would end up in
    the Location header)."""
    if not url or any(ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return False
    return url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


def safe_next(request) -> str:
    """Where to go back to: `next`, else the page the switch was pressed on, else home."""
    for url in (request.POST.get("next"), request.META.get("HTTP_REFERER")):
        if _on_this_site(request, url):
            return url
    return "/"


@require_POST
def set_language(request):
    form = LanguageForm(request.POST)
    response = HttpResponseRedirect(safe_next(request))
    if not form.is_valid():
        return response  # an unknown language changes nothing, as in Django's view
    language = form.cleaned_data["language"]
    borrower = session_borrower(request)
    if borrower is not None:
        borrower_services.set_borrower_language(borrower=borrower, language=language)
    set_language_cookie(response, language)
    return response
