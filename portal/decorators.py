from functools import wraps

from django.http import Http404
from django.shortcuts import redirect

from .session import session_borrower


def borrower_required(view=None, *, redirect_to: str | None = "portal:login"):
    """A page for the signed-in borrower only, who is then `request.borrower`. Anyone else is
    sent to `redirect_to` (a URL name), or answered 404 when it is None, as if the page did
    not exist."""

    def decorator(view_func):
        @wraps(view_func)
        def wrapper(request, *args, **kwargs):
            borrower = session_borrower(request)
            if borrower is None:
                if redirect_to is None:
                    raise Http404
                return redirect(redirect_to)
            request.borrower = borrower
            return view_func(request, *args, **kwargs)

        return wrapper

    return decorator(view) if view is not None else decorator
