"""The payment gateway's signed webhook calls: a charge's result (POST /gateway/webhook/) and a
refund's (POST /gateway/refunds/webhook/), in the same signed JSON.

Every call is verified (signature, timestamp, JSON), logged whatever happens to it, and applied
at most once per gateway event: the accepted log row's unique event id is claimed first. A
charge's success posts the repayment once per gateway reference (the ledger is idempotent on
the external id): as an auto-debit, or as a card payment when the borrower paid in the portal.
A refund's result goes to `refunds.record_refund_result`.
"""

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..gateway import signing
from ..models import Channel, DebitAttempt, GatewayNotification
from ..money import MAX_AMOUNT, is_whole_fen
from . import refunds
from .cards import clean_ip
from .repayments import post_repayment

logger = logging.getLogger("loans.gateway")

Outcome = GatewayNotification.Outcome
LOGGED_HEADERS = ("Content-Type", "User-Agent", "Content-Length")


@dataclass(frozen=True)
class GatewayEvent:
    event_id: str
    gateway_ref: str
    status: str  # "succeeded" or "failed"
    amount: Decimal | None
    failure_reason: str


class _Rejected(Exception):
    """Rolls back the processing transaction; the notification is then logged on its own."""

    def __init__(self, outcome: str, detail: str, attempt: DebitAttempt | None = None):
        super().__init__(detail)
        self.outcome, self.detail, self.attempt = outcome, detail, attempt


# --- Charges -------------------------------------------------------------------------------


def handle_gateway_notification(
    *,
    body: bytes,
    signature: str,
    timestamp: str,
    remote_ip: str | None,
    headers: Mapping[str, str] | None = None,
    content_type: str = "application/json",
) -> GatewayNotification:
    """Verify, de-duplicate and apply one charge result; return its log row.

    Every call is logged, whatever happens to it. A rejected call is logged in a transaction of
    its own, so that rolling back the processing never erases the evidence. Only a notification
    whose outcome is `accepted` has changed anything.
    """
    verified = _verified_event(
        body=body,
        signature=signature,
        timestamp=timestamp,
        remote_ip=remote_ip,
        headers=headers,
        content_type=content_type,
    )
    if isinstance(verified, GatewayNotification):
        return verified
    event, log = verified
    try:
        return _apply_event(event=event, log=log)
    except _Rejected as rejected:
        _log_rejection("Gateway event", event, rejected)
        return _record(
            outcome=rejected.outcome,
            detail=rejected.detail,
            event_id=event.event_id,
            debit_attempt=rejected.attempt,
            **log,
        )


def _claim_event(*, event: GatewayEvent, log: dict) -> GatewayNotification:
    """The accepted row goes in first: its unique event id makes a concurrent re-delivery
    wait here, then fail, instead of applying the same event twice."""
    try:
        with transaction.atomic():
            return GatewayNotification.objects.create(
                event_id=event.event_id, outcome=Outcome.ACCEPTED, **log
            )
    except IntegrityError:
        raise _Rejected(Outcome.DUPLICATE, "event already processed") from None


def _log_rejection(what: str, event: GatewayEvent, rejected: "_Rejected") -> None:
    level = logging.INFO if rejected.outcome == Outcome.DUPLICATE else logging.WARNING
    if rejected.outcome == Outcome.REFUSED:
        level = logging.ERROR
    logger.log(level, "%s %s: %s", what, event.event_id, rejected.detail)


@transaction.atomic
def _apply_event(*, event: GatewayEvent, log: dict) -> GatewayNotification:
    notification = _claim_event(event=event, log=log)

    attempt = (
        DebitAttempt.objects.select_for_update()
        .select_related("loan")
        .filter(gateway_ref=event.gateway_ref)
        .first()
    )
    if attempt is None:
        raise _Rejected(Outcome.UNKNOWN_ATTEMPT, f"no attempt {event.gateway_ref}")
    if attempt.status != DebitAttempt.Status.REQUESTED:
        detail = f"attempt already {attempt.status}; event says {event.status}"
        if attempt.status != event.status:
            logger.error("Conflicting gateway result for %s: %s", attempt.gateway_ref, detail)
        raise _Rejected(Outcome.DUPLICATE, detail, attempt)

    detail = ""
    if event.status == DebitAttempt.Status.SUCCEEDED:
        if event.amount != attempt.amount:
            # The signed amount is what was taken from the card; it is what the ledger records.
            detail = f"collected {event.amount}, requested {attempt.amount}"
            logger.warning("Gateway amount differs for %s: %s", attempt.gateway_ref, detail)
        try:
            attempt.repayment, _created = post_repayment(
                loan=attempt.loan,
                amount=event.amount,
                channel=_channel(attempt),
                external_id=attempt.gateway_ref,
                value_date=attempt.business_date,
            )
        except ValidationError as exc:
            raise _Rejected(Outcome.REFUSED, " ".join(exc.messages)[:300], attempt) from None
        attempt.status = DebitAttempt.Status.SUCCEEDED
    else:
        attempt.status = DebitAttempt.Status.FAILED
        attempt.failure_reason = event.failure_reason[:200]
        detail = event.failure_reason
    attempt.completed_at = timezone.now()
    attempt.save(update_fields=["status", "failure_reason", "completed_at", "repayment"])
    notification.debit_attempt = attempt
    notification.detail = detail[:300]
    notification.save(update_fields=["debit_attempt", "detail"])
    return notification


def _channel(attempt: DebitAttempt) -> str:
    """A payment the borrower made from the portal is a card payment they made (its receipt
    SMS goes at once); the scheduled slots are auto-debit."""
    if attempt.slot == DebitAttempt.Slot.PORTAL:
        return Channel.BANK_CARD
    return Channel.AUTO_DEBIT


def _verified_event(
    *, body, signature, timestamp, remote_ip, headers, content_type
) -> tuple[GatewayEvent, dict] | GatewayNotification:
    """The checks every call gets before anything is applied: the event and what to log with
    it, or the logged refusal of a call that cannot be trusted."""
    log = {
        "remote_ip": clean_ip(remote_ip),
        "body": _storable(body.decode("utf-8", errors="replace"))[
            : GatewayNotification.MAX_BODY_CHARS
        ],
        "headers": _logged_headers(signature=signature, timestamp=timestamp, headers=headers),
    }
    if (content_type or "").split(";")[0].strip().lower() != "application/json":
        logger.warning("Gateway notification that is not JSON from %s", remote_ip)
        return _record(
            outcome=Outcome.MALFORMED,
            detail=f"content type must be application/json, not {content_type[:60]!r}",
            **log,
        )
    try:
        signing.verify(
            body,
            timestamp,
            signature,
            settings.PAYMENT_GATEWAY_WEBHOOK_SECRET,
            tolerance=settings.PAYMENT_GATEWAY_TOLERANCE_SECONDS,
        )
    except signing.StaleTimestamp as exc:
        logger.warning("Gateway notification with a stale timestamp from %s: %s", remote_ip, exc)
        return _record(outcome=Outcome.STALE, detail=str(exc), **log)
    except signing.InvalidSignature as exc:
        logger.warning("Forged gateway notification from %s: %s", remote_ip, exc)
        return _record(outcome=Outcome.FORGED, detail=str(exc), **log)
    try:
        return _parse_event(body), log
    except ValueError as exc:
        logger.warning("Malformed gateway notification from %s: %s", remote_ip, exc)
        return _record(outcome=Outcome.MALFORMED, detail=str(exc), **log)


def _parse_event(body: bytes) -> GatewayEvent:
    """The notification's JSON, checked field by field. Raises ValueError saying what is wrong."""
    try:
        data = json.loads(body, parse_float=Decimal)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")

    def text(name: str, *, required: bool = True, max_length: int = 64) -> str:
        value = data.get(name)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            raise ValueError(f"{name} must be a non-empty string")
        if not value.isprintable():
            raise ValueError(f"{name} contains control characters")
        if len(value) > max_length:
            raise ValueError(f"{name} is longer than {max_length} characters")
        return value.strip()

    event_id, gateway_ref = text("event_id"), text("gateway_ref")
    status = data.get("status")
    if status not in (DebitAttempt.Status.SUCCEEDED, DebitAttempt.Status.FAILED):
        raise ValueError('status must be "succeeded" or "failed"')
    failure_reason = text("failure_reason", required=False, max_length=1000)
    amount = None
    if status == DebitAttempt.Status.SUCCEEDED:
        raw = data.get("amount")
        try:
            if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal):
                raise InvalidOperation
            amount = Decimal(raw)
        except InvalidOperation:
            raise ValueError("amount must be a decimal amount in yuan") from None
        if not (is_whole_fen(amount) and 0 < amount <= MAX_AMOUNT):
            raise ValueError("amount must be positive, in whole fen")
    return GatewayEvent(
        event_id=event_id,
        gateway_ref=gateway_ref,
        status=status,
        amount=amount,
        failure_reason=failure_reason,
    )


@transaction.atomic
def _record(**fields) -> GatewayNotification:
    return GatewayNotification.objects.create(
        **{**fields, "detail": _storable(fields.get("detail", ""))[:300]}
    )


def _storable(text: str) -> str:
    """The text with NUL characters made visible: PostgreSQL cannot store them, and the
    evidence of a hostile call must still be kept."""
    return text.replace("\x00", "\ufffd")


def _logged_headers(
    *, signature: str, timestamp: str, headers: Mapping[str, str] | None
) -> dict[str, str]:
    logged = {"X-Signature": (signature or "")[:200], "X-Timestamp": (timestamp or "")[:40]}
    for name in LOGGED_HEADERS:
        if headers and headers.get(name):
            logged[name] = str(headers[name])[:200]
    return {name: _storable(value) for name, value in logged.items()}


# --- Refunds -------------------------------------------------------------------------------
# `gateway_ref` is the refund's reference (loans.services.refunds). A call gets the same checks
# and the same log as a charge's; only applying differs.


def handle_refund_notification(
    *,
    body: bytes,
    signature: str,
    timestamp: str,
    remote_ip: str | None,
    headers: Mapping[str, str] | None = None,
    content_type: str = "application/json",
) -> GatewayNotification:
    """Verify, de-duplicate and apply one refund result; return its log row. Every call is
    logged, a rejected one in a transaction of its own."""
    verified = _verified_event(
        body=body,
        signature=signature,
        timestamp=timestamp,
        remote_ip=remote_ip,
        headers=headers,
        content_type=content_type,
    )
    if isinstance(verified, GatewayNotification):
        return verified  # refused before it could be trusted, and logged
    event, log = verified
    try:
        return _apply_refund_event(event=event, log=log)
    except _Rejected as rejected:
        _log_rejection("Gateway refund event", event, rejected)
        return _record(
            outcome=rejected.outcome, detail=rejected.detail, event_id=event.event_id, **log
        )


@transaction.atomic
def _apply_refund_event(*, event: GatewayEvent, log: dict) -> GatewayNotification:
    notification = _claim_event(event=event, log=log)
    try:
        refund = refunds.record_refund_result(
            reference=event.gateway_ref,
            succeeded=event.status == DebitAttempt.Status.SUCCEEDED,
            amount=event.amount,
            failure_reason=event.failure_reason,
            notification=notification,
        )
    except refunds.UnknownRefund:
        raise _Rejected(Outcome.UNKNOWN_ATTEMPT, f"no refund {event.gateway_ref}") from None
    except refunds.RefundAlreadyCompleted as exc:
        raise _Rejected(Outcome.DUPLICATE, f"{event.gateway_ref}: {exc}") from None
    except ValidationError as exc:
        detail = f"{event.gateway_ref}: {' '.join(exc.messages)}"
        raise _Rejected(Outcome.REFUSED, detail[:300]) from None
    notification.detail = f"refund {refund.reference} {refund.status} {event.failure_reason}"[
        :300
    ].strip()
    notification.save(update_fields=["detail"])
    return notification
