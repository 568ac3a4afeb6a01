"""The guard's rules: their codes, order and messages, the limits they apply, the contact
window and banned phrases, and the settings check. Reads settings and the banned-phrase list,
writes nothing."""

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core import checks as system_checks
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_noop

from ..models import BannedPhrase, Channel, ContactRestriction

# Per borrower per local day (Asia/Shanghai): call attempts the guard allows, and calls that
# someone answered. The collection SMS cap is settings.SMS_COLLECTION_DAILY_CAP.
CALL_ATTEMPTS_PER_DAY = 6
CONNECTED_CALLS_PER_DAY = 3
# The widest contact window settings may configure (COLLECTION_CONTACT_WINDOW).
WIDEST_CONTACT_WINDOW = (time(8, 0), time(22, 0))
# The span of settings.COLLECTION_WEEKLY_CONTACTS: any 7 × 24 hours.
CONTACT_SPAN = timedelta(days=7)

SMS_CHANNELS = frozenset({Channel.SMS, Channel.AUTO_SMS})
# What each kind of ContactRestriction rules out.
RESTRICTED_CHANNELS = {
    ContactRestriction.Scope.CALLS: {Channel.CALL},
    ContactRestriction.Scope.SMS: set(SMS_CHANNELS),
    ContactRestriction.Scope.WRITTEN_ONLY: {Channel.CALL, *SMS_CHANNELS, Channel.VISIT},
}


class Rule:
    NOT_BORROWER = "not_borrower"
    COMPLAINT_OPEN = "complaint_open"
    HARDSHIP_PLAN = "hardship_plan"
    OPTED_OUT = "opted_out"
    TEMPLATE_NOT_APPROVED = "template_not_approved"
    BANNED_PHRASE = "banned_phrase"
    WINDOW = "window"
    CALL_ATTEMPTS = "call_attempts"
    CONNECTED_CALLS = "connected_calls"
    SMS_CAP = "sms_cap"
    WEEKLY_CONTACTS = "weekly_contacts"


ORDER = [
    Rule.NOT_BORROWER,
    Rule.COMPLAINT_OPEN,
    Rule.HARDSHIP_PLAN,
    Rule.OPTED_OUT,
    Rule.TEMPLATE_NOT_APPROVED,
    Rule.BANNED_PHRASE,
    Rule.WINDOW,
    Rule.CALL_ATTEMPTS,
    Rule.CONNECTED_CALLS,
    Rule.SMS_CAP,
    Rule.WEEKLY_CONTACTS,
]

_MESSAGES = {
    Rule.NOT_BORROWER: gettext_noop(
        "Borrower only: a case is worked only with its own borrower, on the borrower's own mobile."
    ),
    Rule.COMPLAINT_OPEN: gettext_noop(
        "Complaint open: contact is paused until the borrower's complaint or dispute is"
        " resolved in writing."
    ),
    Rule.HARDSHIP_PLAN: gettext_noop(
        "Hardship plan: contact is paused while the borrower keeps an agreed hardship plan."
    ),
    Rule.OPTED_OUT: gettext_noop(
        "Channel opt-out: the borrower asked not to be contacted this way (written contact"
        " only, or no calls or SMS)."
    ),
    Rule.TEMPLATE_NOT_APPROVED: gettext_noop(
        "Approved templates only: a collection SMS must use an active collection template."
    ),
    Rule.BANNED_PHRASE: gettext_noop(
        "Banned phrase: the text contains words that may never reach a borrower (threats,"
        " insults, impersonating courts, police or lawyers, contacting family, employer or"
        " friends)."
    ),
    Rule.WINDOW: gettext_noop(
        "Contact window: a borrower may be contacted only between %(start)s and %(end)s"
        " (Beijing time)."
    ),
    Rule.CALL_ATTEMPTS: gettext_noop(
        "Daily call attempts: at most %(calls)d calls to a borrower a day."
    ),
    Rule.CONNECTED_CALLS: gettext_noop(
        "Daily connected calls: at most %(connected)d answered calls with a borrower a day."
    ),
    Rule.SMS_CAP: gettext_noop(
        "Daily collection SMS: at most %(sms)d collection SMS to a borrower a day, automated"
        " ones included."
    ),
    Rule.WEEKLY_CONTACTS: gettext_noop(
        "Weekly contacts: at most %(weekly)d contacts (calls, SMS and visits, automated SMS"
        " included) with a borrower in 7 days."
    ),
}


def _message(rule: str) -> str:
    start, end = contact_window()
    limits = {
        "start": f"{start:%H:%M}",
        "end": f"{end:%H:%M}",
        "calls": CALL_ATTEMPTS_PER_DAY,
        "connected": CONNECTED_CALLS_PER_DAY,
        "sms": settings.SMS_COLLECTION_DAILY_CAP,
        "weekly": settings.COLLECTION_WEEKLY_CONTACTS,
    }
    return gettext(_MESSAGES[rule]) % limits


# Each rule's message, in the language active when it is shown, with the configured limits.
RULE_MESSAGES = {rule: lazy(_message, str)(rule) for rule in ORDER}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str = ""  # the first rule broken; empty when allowed
    phrase: str = ""  # the banned phrase found, for Rule.BANNED_PHRASE

    @property
    def message(self) -> str:
        return str(RULE_MESSAGES[self.rule]) if self.rule else ""


ALLOWED = Decision(allowed=True)


@dataclass
class Facts:
    """What the rules look at, for one borrower and one moment."""

    other_borrower: bool = False
    complaint_open: bool = False
    on_plan: bool = False
    blocked_channels: set = field(default_factory=set)
    template_ok: bool = True
    phrase: str | None = None
    in_window: bool = True
    calls: int = 0
    connected: int = 0
    sms_left: int = 0
    contacts: int = 0


def first_broken(channel: str, f: Facts) -> str:
    broken = {
        Rule.NOT_BORROWER: f.other_borrower,
        Rule.COMPLAINT_OPEN: f.complaint_open,
        Rule.HARDSHIP_PLAN: f.on_plan,
        Rule.OPTED_OUT: channel in f.blocked_channels,
        Rule.TEMPLATE_NOT_APPROVED: channel == Channel.SMS and not f.template_ok,
        Rule.BANNED_PHRASE: f.phrase is not None,
        Rule.WINDOW: not f.in_window,
        Rule.CALL_ATTEMPTS: channel == Channel.CALL and f.calls >= CALL_ATTEMPTS_PER_DAY,
        Rule.CONNECTED_CALLS: channel == Channel.CALL and f.connected >= CONNECTED_CALLS_PER_DAY,
        Rule.SMS_CAP: channel in SMS_CHANNELS and f.sms_left <= 0,
        Rule.WEEKLY_CONTACTS: f.contacts >= settings.COLLECTION_WEEKLY_CONTACTS,
    }
    return next((rule for rule in ORDER if broken[rule]), "")


# --- The window and banned phrases --------------------------------------------------------


def contact_window() -> tuple[time, time]:
    start, end = settings.COLLECTION_CONTACT_WINDOW
    return time.fromisoformat(start), time.fromisoformat(end)


def window_allows(at: datetime) -> bool:
    """`at` is inside the contact window (start included, end excluded), Asia/Shanghai."""
    start, end = contact_window()
    return start <= timezone.localtime(at).time() < end


def next_contact_time(at: datetime) -> datetime:
    """`at` when the window is open, else when it next opens: a message queued in the evening
    (a visit notice approved after hours) is judged at the moment it will go out."""
    if window_allows(at):
        return at
    start, _end = contact_window()
    local = timezone.localtime(at)
    day = local.date() if local.time() < start else local.date() + timedelta(days=1)
    return datetime.combine(day, start, tzinfo=local.tzinfo)


def _squeezed(text: str) -> str:
    """Case-folded, full-width folded, without spaces, punctuation or symbols: "爆 通讯录",
    "爆-通讯录" and "爆通讯录" read the same."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LMN")


def check_text(text: str) -> str | None:
    """The first active banned phrase in `text`, or None. For any free text that reaches a
    borrower."""
    squeezed = _squeezed(text or "")
    if not squeezed:
        return None
    for phrase in BannedPhrase.objects.filter(is_active=True).values_list("phrase", flat=True):
        needle = _squeezed(phrase)
        if needle and needle in squeezed:
            return phrase
    return None


@system_checks.register()
def check_contact_settings(app_configs=None, **kwargs):
    """The contact window may be narrowed, never widened past 08:00–22:00 (DESIGN §6)."""
    try:
        start, end = contact_window()
    except (TypeError, ValueError):
        return [
            system_checks.Error(
                "COLLECTION_CONTACT_WINDOW must be two times, such as ('08:00', '21:00').",
                id="collections.E001",
            )
        ]
    errors = []
    widest_start, widest_end = WIDEST_CONTACT_WINDOW
    if not (widest_start <= start < end <= widest_end):
        errors.append(
            system_checks.Error(
                f"COLLECTION_CONTACT_WINDOW {start:%H:%M}–{end:%H:%M} is not within "
                f"{widest_start:%H:%M}–{widest_end:%H:%M}: borrowers may never be contacted"
                " earlier or later.",
                id="collections.E002",
            )
        )
    weekly = settings.COLLECTION_WEEKLY_CONTACTS
    if not isinstance(weekly, int) or weekly < 1:
        errors.append(
            system_checks.Error(
                "COLLECTION_WEEKLY_CONTACTS must be a whole number of at least 1.",
                id="collections.E003",
            )
        )
    return errors
