"""绑卡 (card binding): binding a card the borrower proves with a texted code, the default card
that disbursements are paid to and auto-debit charges, and unbinding.

Binding is two steps, like 微信 (WeChat)'s card binding: `start_card_binding` texts a 6-digit
code to the borrower's mobile; `confirm_card_binding` checks it, has the gateway bind the card
and records it, verified. The code lives as the login codes do (DESIGN §7): 5 minutes, 5 tries,
one a minute and ten a day, only a keyed hash stored, the code itself only in memory.
"""

import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum import luhn

from .. import signals
from ..after_response import run_after_response
from ..gateway import CardRegistrationFailed, get_gateway
from ..models import BankCard, Borrower, Loan
from ..models.payments import CardBinding, card_number_index
from . import login_codes

logger = logging.getLogger("loans.gateway")

CARD_NUMBER_LENGTHS = range(16, 20)  # UnionPay debit and credit cards: 16 to 19 digits


def clean_ip(remote_ip: str | None) -> str | None:
    """The address as an IP address column stores it, or None when it is not one."""
    try:
        return str(ipaddress.ip_address((remote_ip or "").strip()))
    except ValueError:
        return None


def _card_code_hash(*, borrower_id: int, number_index: str, code: str) -> str:
    key = settings.PII_BLIND_INDEX_KEY.encode()
    message = f"card:{borrower_id}:{number_index}:{code}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _card_digits(card_number: str) -> str:
    return re.sub(r"[\s-]", "", card_number or "")


def _same_person(a: str, b: str) -> bool:
    """Names compared as people write them: spaces ignored, any middle dot (in 少数民族
    (ethnic minority) names, e.g. 买买提·艾力) the same dot, Latin letters in any case."""

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
            and binding.attempts < login_codes.MAX_TRIES
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
    if recent.filter(created_at__gte=now - login_codes.MIN_INTERVAL).exists():
        raise ValidationError(_("A code was sent less than a minute ago. Please wait a moment."))
    if recent.count() >= login_codes.MAX_PER_DAY:
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
        expires_at=timezone.now() + login_codes.CODE_LIFETIME,
        ip_address=clean_ip(ip_address),
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


class CardAlreadyRemoved(ValidationError):
    """The card was removed before (a second click, another tab): nothing more to do."""

    def __init__(self):
        super().__init__(_("This card has already been removed."), code="already_removed")


class CardNeededForAutoDebit(ValidationError):
    """The borrower's only usable card, while a loan of theirs is being auto-debited."""

    def __init__(self):
        super().__init__(
            _(
                "This is the only card your auto-debited loan is collected from, so it cannot "
                "be removed now. Bind another card first, or turn auto-debit off."
            ),
            code="needed_for_auto_debit",
        )


@dataclass(frozen=True)
class CardRemoval:
    card: BankCard
    # The card that is the default now, when the removed one was the default; None when it
    # was not, or when no other verified card is left.
    new_default: BankCard | None
    was_default: bool


@transaction.atomic
def remove_bank_card(*, card: BankCard) -> CardRemoval:
    """The borrower removes one of their cards (解绑, unbinding) in the portal.

    Refused (CardNeededForAutoDebit) while it is their only usable card, auto-debit is on and
    a loan of theirs is active: the due dates would find nothing to charge. Removing the
    default card makes their most recently verified other usable card the default, so the
    money keeps one place to go. Under the borrower's row lock, like every card change: two
    removals at once cannot each leave the other as the last card. A card removed already
    raises CardAlreadyRemoved.
    """
    borrower = (
        Borrower.objects.select_for_update().only("pk", "auto_debit").get(pk=card.borrower_id)
    )
    card = BankCard.objects.select_for_update().get(pk=card.pk)
    if card.unbound_at is not None:
        raise CardAlreadyRemoved()
    others = (
        BankCard.objects.usable()
        .filter(borrower=borrower)
        .exclude(pk=card.pk)
        .order_by("-verified_at", "-id")
    )
    successor = others.first()
    if (
        card.is_verified
        and successor is None
        and borrower.auto_debit
        and Loan.objects.filter(borrower=borrower, status=Loan.Status.ACTIVE).exists()
    ):
        raise CardNeededForAutoDebit()
    was_default = card.is_default
    card.unbound_at = timezone.now()
    card.is_default = False
    card.save(update_fields=["unbound_at", "is_default"])
    new_default = None
    if was_default and successor is not None:
        successor.is_default = True
        successor.save(update_fields=["is_default"])
        new_default = successor
    return CardRemoval(card=card, new_default=new_default, was_default=was_default)


def default_card(*, borrower: Borrower) -> BankCard | None:
    """The verified card that disbursements are paid to and auto-debit charges, if any."""
    return BankCard.objects.usable().filter(borrower=borrower, is_default=True).first()
