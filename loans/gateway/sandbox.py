"""A gateway that needs no network, for development, demos and tests.

After the charge's transaction commits it answers through the same path a real gateway takes:
it builds the notification JSON, signs it with `PAYMENT_GATEWAY_WEBHOOK_SECRET` and hands it
to the service the webhook view calls. The outcome is fixed by the card: one ending in "0000"
fails with "insufficient funds", every other one pays in full.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import signing
from .base import GatewayBackend

if TYPE_CHECKING:
    from ..models import DebitAttempt

FAILING_LAST4 = "0000"
FAILURE_REASON = "insufficient funds"


class SandboxGateway(GatewayBackend):
    def charge(self, *, attempt: DebitAttempt) -> None:
        attempt_id = attempt.pk
        transaction.on_commit(lambda: self.deliver(attempt_id=attempt_id))

    def deliver(self, *, attempt_id: int) -> None:
        from ..models import DebitAttempt
        from ..services.payments import handle_gateway_notification

        attempt = DebitAttempt.objects.select_related("bank_card").get(pk=attempt_id)
        body = self.notification_body(attempt=attempt)
        timestamp = int(time.time())
        handle_gateway_notification(
            body=body,
            signature=signing.sign(body, timestamp, settings.PAYMENT_GATEWAY_WEBHOOK_SECRET),
            timestamp=str(timestamp),
            remote_ip=None,
            headers={"User-Agent": "sandbox-gateway"},
        )

    @staticmethod
    def notification_body(*, attempt: DebitAttempt) -> bytes:
        failed = attempt.bank_card.last4 == FAILING_LAST4
        payload = {
            # One event per charge: a repeated charge of the same attempt is a re-delivery.
            "event_id": f"sbx-{attempt.gateway_ref}",
            "gateway_ref": attempt.gateway_ref,
            "status": "failed" if failed else "succeeded",
            "amount": str(attempt.amount),
            "paid_at": None if failed else timezone.now().isoformat(),
            "failure_reason": FAILURE_REASON if failed else "",
        }
        return json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
