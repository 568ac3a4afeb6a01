"""Who is signed in. The portal remembers the borrower in the session, and only that
borrower's data is shown; a mobile proven for registering is kept here too, never in a URL."""

from datetime import datetime

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from loans import crypto
from loans.models import Borrower
from loans.services import login_codes

BORROWER_SESSION_KEY = "portal_borrower_id"
PROOF_SESSION_KEY = "portal_mobile_proof"


def session_borrower(request) -> Borrower | None:
    borrower_id = request.session.get(BORROWER_SESSION_KEY)
    return Borrower.objects.filter(pk=borrower_id).first() if borrower_id else None


def log_in(request, borrower: Borrower) -> None:
    request.session.cycle_key()  # a new session id on login: no session fixation
    forget_proven_mobile(request)
    request.session[BORROWER_SESSION_KEY] = borrower.pk


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
