"""The interface every payment gateway backend implements."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from ..models import DebitAttempt, Refund


class CardRegistrationFailed(Exception):
    """The gateway would not bind the card (refused by the bank, or unreachable)."""


class GatewayBackend:
    """Submits charges. A backend never reports a result by returning it: the gateway calls the
    webhook, so a real gateway and the sandbox take the same path through the ledger.

    Binding a card is the exception: it is the borrower waiting at the screen, and the answer
    (a token) is what lets us charge and pay the card at all.
    """

    def register_card(self, *, card_number: str, holder_name: str, bank_name: str) -> str:
        """Bind a card whose holder has just proved it (the code texted to their mobile) and
        return the opaque token to charge and pay it with. Called outside any transaction: it
        is a network call. Raises CardRegistrationFailed."""
        raise NotImplementedError

    def charge(self, *, attempt: DebitAttempt) -> None:
        """Ask the gateway to collect `attempt.amount` from `attempt.bank_card`, sending
        `attempt.gateway_ref` as the idempotency key (a repeated request must not charge twice).
        The result comes back through the webhook (POST /gateway/webhook/), with the reference
        as the notification's `gateway_ref`."""
        raise NotImplementedError

    def refund(self, *, refund: Refund) -> None:
        """Ask the gateway to pay `refund.amount` to `refund.bank_card`, sending
        `refund.reference` as the idempotency key (a repeated request must not pay twice). The
        result comes back through the refund webhook (POST /gateway/refunds/webhook/), with
        the reference as the notification's `gateway_ref`."""
        raise NotImplementedError


def get_gateway() -> GatewayBackend:
    return import_string(settings.PAYMENT_GATEWAY_BACKEND)()
