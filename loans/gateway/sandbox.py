"""A gateway that needs no network, for development, demos and tests.

It answers the way a gateway calling our webhooks would, without reaching into our services:
each answer is built when the request is made and queued as a task (`CHARGE_DELIVERY_TASK`,
`REFUND_DELIVERY_TASK`: the sandbox's delivery) that signs it with
`PAYMENT_GATEWAY_WEBHOOK_SECRET` when it runs, as a gateway signs each delivery, and hands it to
the same handler as the webhook view. A request that is rolled back is never answered.

The outcome is fixed by the card: a charge to one ending in "0000" fails with "insufficient
funds", and a refund to it fails; every other charge and refund is paid in full. Every card
binds.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from . import signing
from .base import GatewayBackend

if TYPE_CHECKING:
    from ..models import DebitAttempt, Refund

FAILING_LAST4 = "0000"
FAILURE_REASON = "insufficient funds"
REFUND_FAILURE_REASON = "card account closed"
# Deliver a notification (its JSON body) as POST /gateway/webhook/ and
# POST /gateway/refunds/webhook/ would.
CHARGE_DELIVERY_TASK = "loans.tasks.deliver_sandbox_charge"
REFUND_DELIVERY_TASK = "loans.tasks.deliver_sandbox_refund"


class SandboxGateway(GatewayBackend):
    def register_card(self, *, card_number: str, holder_name: str, bank_name: str) -> str:
        # Any card is accepted; the token is random, so it says nothing about the number.
        return f"sbx-card-{secrets.token_hex(16)}"

    def charge(self, *, attempt: DebitAttempt) -> None:
        body = self.notification_body(attempt=attempt).decode()
        transaction.on_commit(lambda: async_task(CHARGE_DELIVERY_TASK, body, group="gateway"))

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

    def refund(self, *, refund: Refund) -> None:
        # Built now, sent after commit: a refund that is rolled back is never answered.
        body = self.refund_notification_body(refund=refund).decode()
        transaction.on_commit(lambda: async_task(REFUND_DELIVERY_TASK, body, group="gateway"))

    @staticmethod
    def sign_now(body: bytes) -> tuple[str, str]:
        """(signature, timestamp) of a notification delivered now: signed at delivery, so one
        that waited in the queue is not stale."""
        timestamp = int(time.time())
        signature = signing.sign(body, timestamp, settings.PAYMENT_GATEWAY_WEBHOOK_SECRET)
        return signature, str(timestamp)

    @staticmethod
    def refund_notification_body(*, refund: Refund) -> bytes:
        failed = refund.bank_card.last4 == FAILING_LAST4
        payload = {
            # One event per refund: asking again with the same reference is a re-delivery.
            "event_id": f"sbx-{refund.reference}",
            "gateway_ref": refund.reference,
            "status": "failed" if failed else "succeeded",
            "amount": str(refund.amount),
            "paid_at": None if failed else timezone.now().isoformat(),
            "failure_reason": REFUND_FAILURE_REASON if failed else "",
        }
        return json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
