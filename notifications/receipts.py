"""Delivery receipts (回执): what the provider says happened to a message after it was sent."""

import logging
from collections.abc import Iterable

from django.db import transaction

from loans.models.borrowers import mobile_index

from .backends import SESSION_PREFIX
from .models import SmsMessage

logger = logging.getLogger(__name__)


def record_delivery_receipts(receipts: Iterable) -> int:
    """Mark sent messages delivered or failed from their receipts (matched by `provider_id`,
    the provider's serial number). Returns how many messages were updated.

    A message still "sending" (its worker died, or the answer to its request never came) has
    no serial number yet: its receipt finds it by the request's SessionContext and the number
    (`_in_doubt_matches`), and proves the provider accepted it, so it is never sent again.

    Only messages in status `sent` (or such "sending" ones) change: a late or repeated receipt
    never reopens or flips a final status. Receipts for serial numbers we do not know (another
    system on the same account, or a message already settled) are logged and ignored.
    """
    by_serial = {r.serial_no: r for r in receipts if r.serial_no}
    if not by_serial:
        return 0
    with transaction.atomic():
        rows = list(
            SmsMessage.objects.filter(
                provider_id__in=list(by_serial), status=SmsMessage.Status.SENT
            ).only("pk", "provider_id", "status", "delivered_at", "error", "sent_at")
        )
        known = {row.provider_id for row in rows}
        settled = _in_doubt_matches([r for s, r in by_serial.items() if s not in known])
        for row, receipt in [(row, by_serial[row.provider_id]) for row in rows] + settled:
            row.provider_id = receipt.serial_no
            row.sent_at = row.sent_at or receipt.at
            if receipt.delivered:
                row.status = SmsMessage.Status.DELIVERED
                row.delivered_at = receipt.at
            else:
                row.status = SmsMessage.Status.FAILED
                row.error = f"{receipt.code}: {receipt.description}"[:300]
        rows += [row for row, _ in settled]
        # One UPDATE (CASE WHEN per row) however many different receipt times there are.
        SmsMessage.objects.bulk_update(
            rows, ["status", "delivered_at", "error", "provider_id", "sent_at"]
        )
    unknown = set(by_serial) - {row.provider_id for row in rows}
    if unknown:
        logger.info(
            "Ignored %d delivery receipt(s) matching no sent message: %s",
            len(unknown),
            ", ".join(sorted(unknown)),
        )
    return len(rows)


def _in_doubt_matches(receipts: list) -> list[tuple[SmsMessage, object]]:
    """The "sending" messages these receipts are about. The context names the request's first
    message, which gives the text; the number picks the message among those that shared it."""
    firsts = {}
    for receipt in receipts:
        context = getattr(receipt, "session_context", "") or ""
        first = context.removeprefix(SESSION_PREFIX)
        # ASCII digits only: "²".isdigit() is true, and the provider's text is not ours.
        if context.startswith(SESSION_PREFIX) and first.isascii() and first.isdigit():
            firsts[receipt] = int(first)
    if not firsts:
        return []
    texts = dict(SmsMessage.objects.filter(pk__in=set(firsts.values())).values_list("pk", "text"))
    wanted = {
        (_index(receipt.phone), texts[first]): receipt
        for receipt, first in firsts.items()
        if first in texts
    }
    candidates = SmsMessage.objects.filter(
        status=SmsMessage.Status.SENDING,
        phone_index__in={index for index, _ in wanted},
        text__in={text for _, text in wanted},
    ).only("pk", "provider_id", "status", "delivered_at", "error", "sent_at", "phone_index", "text")
    matches, seen = [], set()
    for row in candidates:
        receipt = wanted.get((row.phone_index, row.text))
        if receipt is not None and receipt.serial_no not in seen:
            seen.add(receipt.serial_no)
            matches.append((row, receipt))
    return matches


def _index(phone: str) -> str:
    return mobile_index(phone.removeprefix("+86"))
