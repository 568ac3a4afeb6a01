"""The dispatcher's side of the outbox: handing due messages to send tasks, one task per
message, and settling the messages a dead worker left "sending" (services.send_messages is
the sender's side)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q

from .models import SmsMessage
from .services import sendable


def hand_out(*, now: datetime, limit: int) -> list[int]:
    """Claim up to `limit` sendable messages for the dispatcher, oldest first, in one UPDATE …
    RETURNING: each is handed to one task only. A claim lapses after SMS_DISPATCH_EXPIRY (the
    task was lost with its worker) and the message is handed out again; the sender's own claim
    (`send_messages`) still keeps a late duplicate task from sending it twice."""
    expiry = now - timedelta(seconds=settings.SMS_DISPATCH_EXPIRY)
    table = SmsMessage._meta.db_table
    with transaction.atomic():
        rows = (
            sendable(now)
            .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=expiry))
            .order_by("send_after", "id")
            .values("id")[:limit]
        )
        if connection.vendor == "postgresql":
            rows = rows.select_for_update(skip_locked=True)
        sql, params = rows.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET claimed_at = %s WHERE id IN ({sql}) RETURNING id",
                [connection.ops.adapt_datetimefield_value(now), *params],
            )
            return sorted(row[0] for row in cursor.fetchall())


def in_doubt(now: datetime):
    """Messages still "sending" past SMS_IN_DOUBT_AFTER: the process that claimed them died,
    or the provider's answer never came. It may or may not have accepted them."""
    cutoff = now - timedelta(seconds=settings.SMS_IN_DOUBT_AFTER)
    return SmsMessage.objects.filter(status=SmsMessage.Status.SENDING).filter(
        Q(claimed_at__lt=cutoff) | Q(claimed_at__isnull=True)
    )


def requeue_in_doubt(now: datetime) -> int:
    """Send again the messages in doubt that the provider never reported.

    Why this way: a worker killed mid-batch leaves its claimed rows "sending", some accepted by
    the provider and some never sent, and nothing in the database tells which. Sending them all
    again would deliver some twice; failing them all would lose some. Every request names its
    messages (Tencent's SessionContext), and the provider's delivery receipts echo that name,
    so the receipts pulled before this runs (tasks.dispatch) have already marked the accepted
    ones delivered or failed (receipts.py). What is still "sending" after SMS_IN_DOUBT_AFTER,
    far longer than receipts take to come, the provider never saw: it is queued again. A masked
    message cannot be: its code lived only in the dead process, so it ends failed."""
    stale = in_doubt(now)
    failed = stale.filter(secret_masked=True).update(
        status=SmsMessage.Status.FAILED,
        claimed_at=None,
        error="in doubt, not sent again: the code has expired",
    )
    return failed + stale.update(
        status=SmsMessage.Status.QUEUED,
        claimed_at=None,
        send_after=now,
        error="in doubt (no answer or receipt from the provider): sent again",
    )
