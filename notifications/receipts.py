"""Delivery receipts (回执): what the provider says happened to a message after it was sent."""

import logging
from collections.abc import Iterable

from django.db import transaction

from .models import SmsMessage

logger = logging.getLogger(__name__)


def record_delivery_receipts(receipts: Iterable) -> int:
    """Mark sent messages delivered or failed from their receipts (matched by `provider_id`,
    the provider's serial number). Returns how many messages were updated.

    Only messages in status `sent` change: a late or repeated receipt never reopens or flips a
    final status. Receipts for serial numbers we do not know (another system on the same
    account, or a message already settled) are logged and ignored.
    """
    by_serial = {r.serial_no: r for r in receipts if r.serial_no}
    if not by_serial:
        return 0
    with transaction.atomic():
        rows = list(
            SmsMessage.objects.filter(
                provider_id__in=list(by_serial), status=SmsMessage.Status.SENT
            ).only("pk", "provider_id", "status", "delivered_at", "error")
        )
        for row in rows:
            receipt = by_serial[row.provider_id]
            if receipt.delivered:
                row.status = SmsMessage.Status.DELIVERED
                row.delivered_at = receipt.at
            else:
                row.status = SmsMessage.Status.FAILED
                row.error = f"{receipt.code}: {receipt.description}"[:300]
        # One UPDATE (CASE WHEN per row) however many different receipt times there are.
        SmsMessage.objects.bulk_update(rows, ["status", "delivered_at", "error"])
    unknown = set(by_serial) - {row.provider_id for row in rows}
    if unknown:
        logger.info(
            "Ignored %d delivery receipt(s) matching no sent message: %s",
            len(unknown),
            ", ".join(sorted(unknown)),
        )
    return len(rows)
