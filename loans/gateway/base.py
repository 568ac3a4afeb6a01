"""The interface every payment gateway backend implements."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from ..models import DebitAttempt


class GatewayBackend:
    """Submits charges. A backend never reports a result by returning it: the gateway calls the
    webhook, so a real gateway and the sandbox take the same path through the ledger."""

    def charge(self, *, attempt: DebitAttempt) -> None:
        """Ask the gateway to collect `attempt.amount` from `attempt.bank_card`, sending
        `attempt.gateway_ref` as the idempotency key (a repeated request must not charge twice).
        """
        raise NotImplementedError


def get_gateway() -> GatewayBackend:
    return import_string(settings.PAYMENT_GATEWAY_BACKEND)()
