"""Who is signed in. The portal remembers the borrower in the session, and only that
borrower's data is shown; a mobile proven for registering is kept here too, never in a URL.
Signing in switches the pages to the borrower's saved language (the language cookie)."""

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone, translation

from loans import crypto
from loans.models import Borrower, Language
from loans.services import login_codes

BORROWER_SESSION_KEY = "portal_borrower_id"
PROOF_SESSION_KEY = "portal_mobile_proof"
# Set on the request by log_in: the language the response must put in the cookie.
SIGN_IN_LANGUAGE_ATTR = "portal_sign_in_language"


# Read on every signed-in page: written once, not compiled by the ORM on every request (the
# borrower is a wide row; see portal.selectors.borrower_loans).
_BORROWER = "SELECT * FROM {table} WHERE id = %s"


def session_borrower(request) -> Borrower | None:
    borrower_id = request.session.get(BORROWER_SESSION_KEY)
    try:
        pk = int(borrower_id)
    except (TypeError, ValueError):
        return None
    found = Borrower.objects.raw(_BORROWER.format(table=Borrower._meta.db_table), [pk])
    return next(iter(found), None)


def log_in(request, borrower: Borrower) -> None:
    request.session.cycle_key()  # a new session id on login: no session fixation
    forget_proven_mobile(request)
    request.session[BORROWER_SESSION_KEY] = borrower.pk
    language = sign_in_language(request, borrower)
    if language:
        translation.activate(language)
        setattr(request, SIGN_IN_LANGUAGE_ATTR, language)


def sign_in_language(request, borrower: Borrower) -> str | None:
    """The language the borrower's pages switch to when they sign in: the one saved on them.

    Except for a saved Chinese (the default) when this browser has never chosen (no language
    cookie): the default cannot be told from a choice, so the browser's own language stays,
    as before sign-in. A choice made on this browser (the cookie) gives way to the saved one.
    """
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if borrower.language == settings.LANGUAGE_CODE and not chosen:
        return None
    return borrower.language


def set_language_cookie(response, language: str) -> None:
    """The cookie Django's LocaleMiddleware reads, set as django.views.i18n.set_language does."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


def with_sign_in_language(request, response):
    """`response`, carrying the language cookie when log_in switched the language."""
    language = getattr(request, SIGN_IN_LANGUAGE_ATTR, None)
    if language:
        set_language_cookie(response, language)
    return response


def log_out(request) -> None:
    request.session.pop(BORROWER_SESSION_KEY, None)
    forget_proven_mobile(request)
    request.session.cycle_key()


def remember_proven_mobile(request, proven: login_codes.ProvenMobile) -> None:
    """Keep the proof in the session, the mobile encrypted like every stored mobile."""
    request.session.cycle_key()
    request.session[PROOF_SESSION_KEY] = {
        "index": proven.mobile_index,
        "mobile": crypto.encrypt(proven.mobile),
        "at": proven.proven_at.isoformat(),
    }


def proven_mobile(request) -> login_codes.ProvenMobile | None:
    """The mobile this session proved within MOBILE_PROOF_LIFETIME, if any."""
    proof = request.session.get(PROOF_SESSION_KEY)
    try:
        proven_at = datetime.fromisoformat(proof["at"])
        mobile = crypto.decrypt(proof["mobile"])
    except (TypeError, KeyError, ValueError, ImproperlyConfigured):
        return None
    if timezone.now() - proven_at > login_codes.MOBILE_PROOF_LIFETIME:
        forget_proven_mobile(request)
        return None
    return login_codes.ProvenMobile(
        mobile=mobile, mobile_index=proof["index"], borrower=None, proven_at=proven_at
    )


def forget_proven_mobile(request) -> None:
    request.session.pop(PROOF_SESSION_KEY, None)


def page_language() -> str:
    """The language of the page being answered, as a borrower's language: what a person
    registering in it reads from then on."""
    active = translation.get_language() or ""
    return Language.ENGLISH.value if active.startswith("en") else Language.CHINESE.value
