"""绑卡 and 自动扣款 (card binding and auto-debit): binding and proving cards, charging them, and
the gateway's signed webhook.

A charge is an attempt row plus a request to the gateway sent after commit; its result arrives
later, only through `handle_gateway_notification`, which posts the repayment once per gateway
reference (the ledger is idempotent on the external id) and logs every call it receives.
"""

import hashlib
import hmac
import ipaddress
import json
import logging
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum import luhn

from .. import signals
from ..after_response import run_after_response
from ..gateway import CardRegistrationFailed, get_gateway, signing
from ..models import BankCard, Borrower, Channel, DebitAttempt, GatewayNotification, Loan
from ..models.payments import CardBinding, card_number_index
from ..money import MAX_AMOUNT, is_whole_fen
from . import portal_login, refunds
from .repayments import post_repayment

logger = logging.getLogger("loans.gateway")

Outcome = GatewayNotification.Outcome
CARD_NUMBER_LENGTHS = range(16, 20)  # UnionPay debit and credit cards: 16 to 19 digits
LOGGED_HEADERS = ("Content-Type", "User-Agent", "Content-Length")


# --- Cards ---------------------------------------------------------------------------------
# Binding is two steps, like 微信's card binding: `start_card_binding` texts a 6-digit code to
# the borrower's mobile; `confirm_card_binding` checks it, has the gateway bind the card and
# records it, verified. The code lives as the login codes do (DESIGN §7): 5 minutes, 5 tries,
# one a minute and ten a day, only a keyed hash stored, the code itself only in memory.


def _card_code_hash(*, borrower_id: int, number_index: str, code: str) -> str:
    key = settings.PII_BLIND_INDEX_KEY.encode()
    message = f"card:{borrower_id}:{number_index}:{code}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _card_digits(card_number: str) -> str:
    return re.sub(r"[\s-]", "", card_number or "")


def _same_person(a: str, b: str) -> bool:
    """Names compared as people write them: spaces ignored, any middle dot (少数民族 names,
    e.g. 买买提·艾力) the same dot, Latin letters in any case."""

    def norm(name: str) -> str:
        name = re.sub(r"\s+", "", name or "")
        return re.sub(r"[·•・･．.]", "·", name).casefold()

    return bool(norm(a)) and norm(a) == norm(b)


def _card_errors(
    *, borrower: Borrower, bank_name: str, digits: str, holder_name: str
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not (digits.isascii() and digits.isdigit() and len(digits) in CARD_NUMBER_LENGTHS):
        errors["card_number"] = _("A bank card number has 16 to 19 digits.")
    elif not luhn.is_valid(digits):
        errors["card_number"] = _("This is not a valid bank card number: please check the digits.")
    else:
        bound = BankCard.objects.filter(
            number_index=card_number_index(digits), unbound_at__isnull=True
        ).first()
        if bound is not None and bound.borrower_id == borrower.pk:
            errors["card_number"] = _("You have already bound this card.")
        elif bound is not None:
            errors["card_number"] = _(
                "This card cannot be bound to your account. Please call us if it is yours."
            )
    if not bank_name or len(bank_name) > BankCard._meta.get_field("bank_name").max_length:
        errors["bank_name"] = _("Enter the bank's name (at most 50 characters).")
    if not _same_person(holder_name, borrower.name):
        # Money is paid only into the borrower's own account: a card in another name is
        # someone else's.
        errors["holder_name"] = _("Only a card in your own name can be bound.")
    return errors


@transaction.atomic
def bind_bank_card(
    *,
    borrower: Borrower,
    bank_name: str,
    card_number: str,
    token: str,
    holder_name: str | None = None,
    make_default: bool = True,
) -> BankCard:
    """Record a card the gateway has bound for a holder who proved it: it is verified from now
    on, so a disbursement can be paid to it and auto-debit can charge it.

    The borrower's own cards reach this through `confirm_card_binding` (the texted code); a
    gateway that proves the holder itself (the bank's own SMS) calls it with the token it gave.
    The holder is the borrower unless named, and must be. The full number is kept encrypted
    with its blind index. The first card is always the default; a later one becomes the
    default unless `make_default` is False. Raises ValidationError keyed by field.
    """
    digits = _card_digits(card_number)
    bank_name = (bank_name or "").strip()
    token = (token or "").strip()
    holder_name = borrower.name if holder_name is None else holder_name.strip()
    errors = _card_errors(
        borrower=borrower, bank_name=bank_name, digits=digits, holder_name=holder_name
    )
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
    try:
        with transaction.atomic():
            return BankCard.objects.create(
                borrower=borrower,
                bank_name=bank_name,
                number=digits,
                holder_name=holder_name,
                gateway_token=token,
                is_default=is_default,
                verified_at=timezone.now(),
            )
    except IntegrityError:
        # Bound to another account at this very moment (the unique blind index).
        raise ValidationError({"card_number": _("This card is already bound.")}) from None


@transaction.atomic
def start_card_binding(
    *,
    borrower: Borrower,
    bank_name: str,
    card_number: str,
    holder_name: str | None = None,
    make_default: bool = True,
    ip_address: str | None = None,
) -> CardBinding:
    """Check the card and text the borrower a code to prove it. Nothing is bound yet."""
    digits = _card_digits(card_number)
    bank_name = (bank_name or "").strip()
    holder_name = borrower.name if holder_name is None else holder_name.strip()
    errors = _card_errors(
        borrower=borrower, bank_name=bank_name, digits=digits, holder_name=holder_name
    )
    if errors:
        raise ValidationError(errors)
    Borrower.objects.select_for_update().only("pk").get(pk=borrower.pk)  # one send at a time
    _check_card_code_limits(borrower=borrower)
    return _send_card_code(
        borrower=borrower,
        bank_name=bank_name,
        digits=digits,
        holder_name=holder_name,
        make_default=make_default,
        ip_address=ip_address,
    )


@transaction.atomic
def resend_card_code(*, binding: CardBinding, ip_address: str | None = None) -> CardBinding:
    """A new code for the same card (the old one stops working). Returns the new binding."""
    Borrower.objects.select_for_update().only("pk").get(pk=binding.borrower_id)
    binding = CardBinding.objects.select_for_update().select_related("borrower").get(pk=binding.pk)
    if binding.used_at is not None:
        raise ValidationError(_("This code request is finished. Please start binding again."))
    _check_card_code_limits(borrower=binding.borrower)
    fresh = _send_card_code(
        borrower=binding.borrower,
        bank_name=binding.bank_name,
        digits=binding.number,
        holder_name=binding.holder_name,
        make_default=binding.make_default,
        ip_address=ip_address,
    )
    binding.used_at, binding.number = timezone.now(), ""
    binding.save(update_fields=["used_at", "number"])
    return fresh


def confirm_card_binding(*, binding: CardBinding, code: str) -> BankCard:
    """Bind the card if `code` is the one texted for this binding, still good.

    Three steps, because the gateway call in the middle is network I/O that must not sit in a
    transaction: the try is counted (and committed, so a rolled-back count can never buy more
    guesses); the gateway binds the card and returns its token; the card is recorded, verified.
    """
    with transaction.atomic():
        binding = (
            CardBinding.objects.select_for_update().select_related("borrower").get(pk=binding.pk)
        )
        now = timezone.now()
        matches = False
        live = (
            binding.used_at is None
            and binding.expires_at >= now
            and binding.attempts < portal_login.MAX_TRIES
        )
        if live:
            binding.attempts += 1
            matches = hmac.compare_digest(
                binding.code_hash,
                _card_code_hash(
                    borrower_id=binding.borrower_id,
                    number_index=binding.number_index,
                    code=(code or "").strip(),
                ),
            )
            if matches:
                binding.used_at = now
            binding.save(update_fields=["attempts", "used_at"])
    if not matches:
        raise ValidationError({"code": _("The code is wrong or has expired. Ask for a new one.")})
    try:
        token = get_gateway().register_card(
            card_number=binding.number,
            holder_name=binding.holder_name,
            bank_name=binding.bank_name,
        )
    except CardRegistrationFailed:
        logger.warning("The gateway refused to bind card binding %s", binding.pk)
        raise ValidationError(
            _("Your bank did not accept this card. Please check it or bind another one.")
        ) from None
    with transaction.atomic():
        card = bind_bank_card(
            borrower=binding.borrower,
            bank_name=binding.bank_name,
            card_number=binding.number,
            token=token,
            holder_name=binding.holder_name,
            make_default=binding.make_default,
        )
        # The number now lives on the card only.
        CardBinding.objects.filter(pk=binding.pk).update(card=card, number="")
    return card


def _check_card_code_limits(*, borrower: Borrower) -> None:
    now = timezone.now()
    recent = CardBinding.objects.filter(borrower=borrower, created_at__gte=now - timedelta(days=1))
    if recent.filter(created_at__gte=now - portal_login.MIN_INTERVAL).exists():
        raise ValidationError(_("A code was sent less than a minute ago. Please wait a moment."))
    if recent.count() >= portal_login.MAX_PER_DAY:
        raise ValidationError(_("Too many codes today. Please try again tomorrow."))


def _send_card_code(
    *,
    borrower: Borrower,
    bank_name: str,
    digits: str,
    holder_name: str,
    make_default: bool,
    ip_address: str | None,
) -> CardBinding:
    code = f"{secrets.randbelow(1_000_000):06d}"
    index = card_number_index(digits)
    binding = CardBinding.objects.create(
        borrower=borrower,
        bank_name=bank_name,
        number=digits,
        number_index=index,
        holder_name=holder_name,
        last4=digits[-4:],
        make_default=make_default,
        code_hash=_card_code_hash(borrower_id=borrower.pk, number_index=index, code=code),
        expires_at=timezone.now() + portal_login.CODE_LIFETIME,
        ip_address=_clean_ip(ip_address),
    )
    request_id, last4 = uuid.uuid4().hex, binding.last4

    def text():
        signals.card_verification_code_requested.send(
            sender=CardBinding,
            borrower=borrower,
            code=code,
            request_id=request_id,
            bank_name=bank_name,
            last4=last4,
        )

    transaction.on_commit(lambda: run_after_response(text))
    return binding


@transaction.atomic
def set_default_card(*, card: BankCard) -> BankCard:
    """Make a verified card the one disbursements are paid to and auto-debit charges."""
    Borrower.objects.select_for_update().only("pk").get(pk=card.borrower_id)
    card = BankCard.objects.select_for_update().get(pk=card.pk)
    if not card.is_bound:
        raise ValidationError(_("This card is no longer bound."))
    if not card.is_verified:
        raise ValidationError(_("This card has not been verified."))
    BankCard.objects.filter(
        borrower_id=card.borrower_id, is_default=True, unbound_at__isnull=True
    ).exclude(pk=card.pk).update(is_default=False)
    card.is_default = True
    card.save(update_fields=["is_default"])
    return card


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
    """The verified card that disbursements are paid to and auto-debit charges, if any."""
    return BankCard.objects.usable().filter(borrower=borrower, is_default=True).first()


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


# --- Refund webhook ------------------------------------------------------------------------
# Refund results come to their own webhook (POST /gateway/refunds/webhook/), in the same signed
# JSON as a charge's, `gateway_ref` being the refund's reference (loans.services.refunds). A
# call gets the same checks and the same log as a charge notification; only applying differs.


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


def _verified_event(
    *, body, signature, timestamp, remote_ip, headers, content_type
) -> tuple[GatewayEvent, dict] | GatewayNotification:
    """The checks of `handle_gateway_notification` before it applies anything: the event and
    what to log with it, or the logged refusal of a call that cannot be trusted."""
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
        return _parse_event(body), log
    except ValueError as exc:
        logger.warning("Malformed gateway notification from %s: %s", remote_ip, exc)
        return _record(outcome=Outcome.MALFORMED, detail=str(exc), **log)


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
