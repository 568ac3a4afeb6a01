"""The django-q2 task that pulls delivery receipts; `notifications.tasks` re-exports it as
`notifications.tasks.pull_delivery_receipts`."""

import logging

from .backends import get_backend
from .receipts import record_delivery_receipts

logger = logging.getLogger(__name__)

PULL_LIMIT = 100
MAX_PULLS = 50  # bounds one run: at most 5,000 receipts, the next run takes the rest


def pull_delivery_receipts() -> int:
    """Pull receipts until the provider has no more, recording each pull before the next
    (the provider hands out each receipt once). Does nothing for backends without receipts.
    Returns how many messages were updated."""
    backend = get_backend()
    pull = getattr(backend, "pull_delivery_receipts", None)
    if pull is None:
        return 0
    updated = 0
    for _ in range(MAX_PULLS):
        receipts = pull(limit=PULL_LIMIT)
        updated += record_delivery_receipts(receipts)
        if len(receipts) < PULL_LIMIT:
            break
    if updated:
        logger.info("Recorded %d SMS delivery receipt(s)", updated)
    return updated
