"""Project-wide response headers, and the request context the audit trail reads."""

from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from loans.admin.common import bad_request, has_nul
from loans.audit import request_context


class NulQueryMiddleware:
    """A NUL character in the query string of an admin page answers 400. PostgreSQL refuses it
    in any text value, and the admin lists of other apps (django-q's task lists) filter by
    it, failing with a 500. The portal's pages read their query strings themselves and say
    what was wrong (the calculator in JSON, /verify/ on its form)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.admin_prefix = None

    def __call__(self, request):
        if self.admin_prefix is None:
            self.admin_prefix = reverse("admin:index")
        if request.path.startswith(self.admin_prefix) and has_nul(request.GET):
            return bad_request()
        return self.get_response(request)


class NoStoreMiddleware:
    """Pages are private unless they say otherwise: every response without its own
    Cache-Control gets `no-store`, so no browser or proxy keeps a loan, a contract or a
    borrower's details (DESIGN §7). Static files are served before this runs (WhiteNoise)
    and keep their long cache lifetimes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response


class AuditContextMiddleware:
    """Gives the audit trail the address each staff action came from (loans.audit), for the
    length of the request, so services need not carry it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with request_context(ip_address=request.META.get("REMOTE_ADDR")):
            return self.get_response(request)
