"""自动扣款 (auto-debit): binding cards, charging them, and the gateway's signed webhook.

A charge is an attempt row plus a request to the gateway sent after commit; its result arrives
later, only through `handle_gateway_notification`, which posts the repayment once per gateway
reference (the ledger is idempotent on the external id) and logs every call it receives.
"""

import ipaddress
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum import luhn

from ..gateway import get_gateway, signing
from ..models import BankCard, Borrower, Channel, DebitAttempt, GatewayNotification, Loan
from ..money import MAX_AMOUNT, is_whole_fen
from .repayments import post_repayment

logger = logging.getLogger("loans.gateway")

Outcome = GatewayNotification.Outcome
CARD_NUMBER_LENGTHS = range(16, 20)  # UnionPay debit and credit cards: 16 to 19 digits
LOGGED_HEADERS = ("Content-Type", "User-Agent", "Content-Length")


# --- Cards ---------------------------------------------------------------------------------


@transaction.atomic
def bind_bank_card(
    *, borrower: Borrower, bank_name: str, card_number: str, token: str, make_default: bool = True
) -> BankCard:
    """Record a card the gateway has bound, keeping only its last 4 digits.

    The first card is always the default; a later one becomes the default unless
    `make_default` is False. Raises ValidationError keyed by field.
    """
    digits = re.sub(r"[\s-]", "", card_number or "")
    bank_name = (bank_name or "").strip()
    token = (token or "").strip()
    errors: dict[str, str] = {}
    if not (digits.isascii() and digits.isdigit() and len(digits) in CARD_NUMBER_LENGTHS):
        errors["card_number"] = _("A bank card number has 16 to 19 digits.")
    elif not luhn.is_valid(digits):
        errors["card_number"] = _("This is not a valid bank card number: please check the digits.")
    if not bank_name or len(bank_name) > BankCard._meta.get_field("bank_name").max_length:
        errors["bank_name"] = _("Enter the bank's name (at most 50 characters).")
    if not token or len(token) > BankCard._meta.get_field("gateway_token").max_length:
        errors["token"] = _("The gateway did not return a usable card token.")
    elif BankCard.objects.filter(gateway_token=token).exists():
        errors["token"] = _("This card is already bound.")
    if errors:
        raise ValidationError(errors)

    # Lock the borrower so two bindings at once cannot both become the default.
    Borrower.objects.select_for_update().only("pk").get(pk=borrower.pk)
    current = BankCard.objects.filter(borrower=borrower, is_default=True, unbound_at__isnull=True)
    is_default = make_default or not current.exists()
    if is_default:
        current.update(is_default=False)
    return BankCard.objects.create(
        borrower=borrower,
        bank_name=bank_name,
        last4=digits[-4:],
        gateway_token=token,
        is_default=is_default,
    )


@transaction.atomic
def unbind_bank_card(*, card: BankCard) -> BankCard:
    """Stop using a card for auto-debit. Attempts already made keep pointing at it. The
    borrower has no default card afterwards until one is chosen or bound."""
    card = BankCard.objects.select_for_update().get(pk=card.pk)
    if card.unbound_at is not None:
        raise ValidationError(_("This card is already unbound."))
    card.unbound_at = timezone.now()
    card.is_default = False
    card.save(update_fields=["unbound_at", "is_default"])
    return card


def default_card(*, borrower: Borrower) -> BankCard | None:
    return BankCard.objects.filter(
        borrower=borrower, is_default=True, unbound_at__isnull=True
    ).first()


# --- Charging ------------------------------------------------------------------------------


@transaction.atomic
def request_auto_debit(
    *, loan: Loan, business_date: date, slot: str, amount: Decimal
) -> DebitAttempt | None:
    """Charge the borrower's default card `amount` for this loan in this slot.

    At most one attempt per loan, business date and slot: if one exists it is returned and
    nothing is charged again. Returns None when there is nothing to charge: the borrower has no
    default card, or the loan is no longer active. The gateway is called after commit; the
    result comes back through the webhook.
    """
    if slot not in DebitAttempt.Slot.values:
        raise ValidationError({"slot": _("Unknown auto-debit slot.")})
    if not (isinstance(amount, Decimal) and is_whole_fen(amount) and 0 < amount <= MAX_AMOUNT):
        raise ValidationError({"amount": _("An auto-debit amount is a positive amount in fen.")})
    existing = DebitAttempt.objects.filter(
        loan=loan, business_date=business_date, slot=slot
    ).first()
    if existing is not None:
        return existing
    if loan.status != Loan.Status.ACTIVE:
        return None
    card = default_card(borrower=loan.borrower)
    if card is None:
        return None
    attempt = DebitAttempt(
        loan=loan,
        bank_card=card,
        amount=amount,
        slot=slot,
        business_date=business_date,
        gateway_ref=DebitAttempt.make_gateway_ref(
            loan_id=loan.pk, business_date=business_date, slot=slot
        ),
    )
    try:
        with transaction.atomic():
            attempt.save()
    except IntegrityError:
        # Another run created the attempt for this slot first: it is the one that charges.
        return DebitAttempt.objects.get(loan=loan, business_date=business_date, slot=slot)
    transaction.on_commit(lambda: get_gateway().charge(attempt=attempt))
    return attempt


# --- The webhook ---------------------------------------------------------------------------


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


def handle_gateway_notification(
    *,
    body: bytes,
    signature: str,
    timestamp: str,
    remote_ip: str | None,
    headers: Mapping[str, str] | None = None,
    content_type: str = "application/json",
) -> GatewayNotification:
    """Verify, de-duplicate and apply one webhook call; return its log row.

    Every call is logged, whatever happens to it. A rejected call is logged in a transaction of
    its own, so that rolling back the processing never erases the evidence. Only a notification
    whose outcome is `accepted` has changed anything.
    """
    log = {
        "remote_ip": _clean_ip(remote_ip),
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
        event = _parse_event(body)
    except ValueError as exc:
        logger.warning("Malformed gateway notification from %s: %s", remote_ip, exc)
        return _record(outcome=Outcome.MALFORMED, detail=str(exc), **log)

    try:
        return _apply_event(event=event, log=log)
    except _Rejected as rejected:
        level = logging.INFO if rejected.outcome == Outcome.DUPLICATE else logging.WARNING
        if rejected.outcome == Outcome.REFUSED:
            level = logging.ERROR
        logger.log(level, "Gateway event %s: %s", event.event_id, rejected.detail)
        return _record(
            outcome=rejected.outcome,
            detail=rejected.detail,
            event_id=event.event_id,
            debit_attempt=rejected.attempt,
            **log,
        )


@transaction.atomic
def _apply_event(*, event: GatewayEvent, log: dict) -> GatewayNotification:
    # The accepted row goes in first: its unique event id makes a concurrent re-delivery wait
    # here, then fail, instead of applying the same event twice.
    try:
        with transaction.atomic():
            notification = GatewayNotification.objects.create(
                event_id=event.event_id, outcome=Outcome.ACCEPTED, **log
            )
    except IntegrityError:
        raise _Rejected(Outcome.DUPLICATE, "event already processed") from None

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
            attempt.repayment = post_repayment(
                loan=attempt.loan,
                amount=event.amount,
                channel=Channel.AUTO_DEBIT,
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


def _clean_ip(remote_ip: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((remote_ip or "").strip()))
    except ValueError:
        return None


def _logged_headers(
    *, signature: str, timestamp: str, headers: Mapping[str, str] | None
) -> dict[str, str]:
    logged = {"X-Signature": (signature or "")[:200], "X-Timestamp": (timestamp or "")[:40]}
    for name in LOGGED_HEADERS:
        if headers and headers.get(name):
            logged[name] = str(headers[name])[:200]
    return {name: _storable(value) for name, value in logged.items()}
