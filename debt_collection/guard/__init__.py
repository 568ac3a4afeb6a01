"""The compliance guard (DESIGN §6 "Contact and the guard"): every contact with a borrower about
a debt — a collector's call, SMS or home visit, and every automated overdue SMS — is decided
here, and every decision, allowed or blocked, becomes a row of the contact log.

Entry points: `attempt` (decide and log; the one way to contact a borrower), `check` (decide
only), `check_text` (banned phrases in free text), `window_allows`, and `GuardPolicy`, which
notifications asks about the automated SMS (registered by `install` at start-up).

Rules are checked in this order (`rules.ORDER`), and a refusal names the first one broken:
not_borrower, complaint_open, hardship_plan, opted_out, template_not_approved, banned_phrase,
window, call_attempts, connected_calls, sms_cap, weekly_contacts. Reasons that hold at any hour
come first, so a collector is never told "try later" when the answer is "not at all"; then the
hour; then today's counts; last the 7-day count.

Only the borrower's own mobile is ever called or texted: no function here or in
services.contacts takes a phone number.
"""

from contextvars import ContextVar
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from loans.models import Borrower
from loans.sql import any_of, copy_rows
from notifications.models import Purpose, SmsTemplate
from notifications.policy import ContactRefused, register_collection_policy
from notifications.services import CollectionCapReached, collection_sms_left

from ..models import Channel, CollectionCase, ContactAttempt
from . import facts
from .rules import (
    ALLOWED,
    CALL_ATTEMPTS_PER_DAY,
    CONNECTED_CALLS_PER_DAY,
    ORDER,
    RULE_MESSAGES,
    SMS_CHANNELS,
    Decision,
    Facts,
    Rule,
    check_text,
    contact_window,
    first_broken,
    next_contact_time,
    window_allows,
)

__all__ = [
    "next_contact_time",
    "CALL_ATTEMPTS_PER_DAY",
    "CONNECTED_CALLS_PER_DAY",
    "ORDER",
    "RULE_MESSAGES",
    "Decision",
    "GuardPolicy",
    "Rule",
    "attempt",
    "check",
    "check_text",
    "contact_window",
    "install",
    "window_allows",
]


def check(
    *,
    borrower: Borrower,
    channel: str,
    at: datetime | None = None,
    case: CollectionCase | None = None,
    template_code: str = "",
    text: str = "",
) -> Decision:
    """Whether `borrower` may be contacted on `channel` at `at` (now by default). Reads only."""
    at = at or timezone.now()
    ids = {borrower.pk}
    plan_borrowers, plan_loans = facts.kept_plans(ids)
    known = Facts(
        other_borrower=case is not None and case.borrower_id != borrower.pk,
        complaint_open=borrower.pk in facts.open_complaints(ids),
        on_plan=(case.loan_id in plan_loans) if case is not None else bool(plan_borrowers),
        blocked_channels=facts.blocked_channels(ids).get(borrower.pk, set()),
        phrase=check_text(text) if text else None,
        in_window=window_allows(at),
    )
    if channel == Channel.SMS:
        known.template_ok = SmsTemplate.objects.filter(
            code=template_code, is_active=True, purpose=Purpose.COLLECTION
        ).exists()
    if channel == Channel.CALL:
        calls, connected = facts.calls_today(ids, at)
        known.calls, known.connected = calls[borrower.pk], connected[borrower.pk]
    if channel in SMS_CHANNELS:
        known.sms_left = collection_sms_left(ids, send_after=at)[borrower.pk]
    known.contacts = facts.recent_contacts(ids, at)[borrower.pk]
    rule = first_broken(channel, known)
    if not rule:
        return ALLOWED
    return Decision(allowed=False, rule=rule, phrase=known.phrase or "")


# The borrower whose contact `attempt` is deciding right now: the SMS it queues is checked
# and logged by the attempt itself, not a second time by the notifications hook.
_attempting: ContextVar[int | None] = ContextVar("collections_attempting", default=None)


def attempt(
    *,
    borrower: Borrower,
    channel: str,
    staff,
    at: datetime | None = None,
    case: CollectionCase | None = None,
    template_code: str = "",
    text: str = "",
    send=None,
) -> tuple[ContactAttempt, Decision]:
    """Decide and append the decision to the contact log, allowed or blocked. `send`, called
    only when allowed and inside the same transaction, queues the SMS the contact consists of
    and returns it (the log row links it); an allowed call is logged as having shown the
    borrower's mobile. One borrower's contacts are decided one at a time (row lock)."""
    if channel not in Channel.values:
        raise ValueError(f"unknown contact channel {channel!r}")
    at = at or timezone.now()
    with transaction.atomic():
        list(
            Borrower.objects.select_for_update(no_key=True)
            .filter(pk=borrower.pk)
            .values_list("pk", flat=True)
        )
        decision = check(
            borrower=borrower,
            channel=channel,
            at=at,
            case=case,
            template_code=template_code,
            text=text,
        )
        sms = None
        if decision.allowed and send is not None:
            token = _attempting.set(borrower.pk)
            try:
                sms = send()
            except CollectionCapReached:
                decision = Decision(allowed=False, rule=Rule.SMS_CAP)
            finally:
                _attempting.reset(token)
            if decision.allowed and sms is None:  # the template went inactive meanwhile
                decision = Decision(allowed=False, rule=Rule.TEMPLATE_NOT_APPROVED)
        row = ContactAttempt.objects.create(
            borrower=borrower,
            case=case,
            staff=staff,
            at=at,
            channel=channel,
            allowed=decision.allowed,
            blocked_rule=decision.rule,
            mobile_revealed=decision.allowed and channel == Channel.CALL,
            template_code=template_code,
            sms=sms,
        )
    return row, decision


# What the batch log of automated SMS records per draft, in the order filter_batch builds it.
LOGGED = ("borrower_id", "case_id", "at", "allowed", "blocked_rule")


class GuardPolicy:
    """The guard as notifications' collection policy (notifications/policy.py): the automated
    overdue SMS pass the same rules, and each one, sent or refused, is logged (channel
    auto_sms, no staff, at the time it goes out). Their texts are the approved overdue
    templates, so the template and free-text rules have nothing to check.

    A collection SMS queued straight through notifications (not from `attempt`) is logged
    once written; refused, it raises ContactRefused and the refusal is the caller's to record
    (the row would roll back with the refused queueing)."""

    def filter_batch(self, drafts, send_at: datetime, *, template_code: str = ""):
        drafts = list(drafts)
        if not drafts:
            return [], []
        ids = {d.borrower_id for d in drafts}
        loan_ids = {d.loan_id for d in drafts if d.loan_id is not None}
        complaints = facts.open_complaints(ids)
        plan_borrowers, plan_loans = facts.kept_plans(ids)
        blocked_channels = facts.blocked_channels(ids)
        in_window = window_allows(send_at)
        sms_left = collection_sms_left(ids, send_after=send_at)
        contacts = facts.recent_contacts(ids, send_at)
        cases = dict(
            CollectionCase.objects.open()
            .filter(loan_id__in=any_of(loan_ids))
            .order_by()
            .values_list("loan_id", "id")
        )
        allowed, refused, log = [], [], []
        for d in drafts:
            b = d.borrower_id
            known = Facts(
                complaint_open=b in complaints,
                on_plan=(d.loan_id in plan_loans) if d.loan_id else b in plan_borrowers,
                blocked_channels=blocked_channels.get(b, set()),
                in_window=in_window,
                sms_left=sms_left[b],
                contacts=contacts[b],
            )
            rule = first_broken(Channel.AUTO_SMS, known)
            if rule:
                refused.append((d, rule))
            else:
                sms_left[b] -= 1
                contacts[b] += 1
                allowed.append(d)
            log.append((b, cases.get(d.loan_id), send_at, not rule, rule))
        # One row per draft (~45,000 on a busy morning at a million loans): COPY, not ORM.
        copy_rows(
            ContactAttempt,
            (*LOGGED, "channel", "template_code", "mobile_revealed"),
            ((*row, Channel.AUTO_SMS.value, template_code, False) for row in log),
        )
        return allowed, refused

    def check_one(self, borrower, send_at: datetime) -> None:
        if _attempting.get() == borrower.pk:
            return
        decision = check(borrower=borrower, channel=Channel.AUTO_SMS, at=send_at)
        if not decision.allowed:
            raise ContactRefused(
                borrower_id=borrower.pk, rule=decision.rule, message=decision.message
            )

    def record_one(self, message) -> None:
        if _attempting.get() == message.borrower_id:
            return
        ContactAttempt.objects.create(
            borrower_id=message.borrower_id,
            at=message.send_after,
            channel=Channel.AUTO_SMS,
            allowed=True,
            template_code=message.template,
            sms=message,
        )


def install() -> None:
    """Make the guard the policy for every collection SMS notifications queues."""
    register_collection_policy(GuardPolicy())
