"""Who may receive a collection SMS: the hook through which the collections guard decides.

notifications never imports the collections app. Instead the collections app registers its
guard here when it starts (`register_collection_policy` in its AppConfig.ready), and the two
places that queue collection SMS ask the registered policy:

- the reminder batch (`reminders.queue_drafts`) calls `filter_batch(drafts, send_at)` once per
  template, with the drafts not queued before; the policy answers with set-based queries, never
  one query per draft, and may log what it decided;
- `services.queue_sms` with purpose collection calls `check_one(borrower, send_at)` before the
  row is written (refusing with ContactRefused) and `record_one(message)` once it is written.

Without a registered policy everything is allowed; the daily collection SMS cap in
`services.collection_sms_left` applies either way.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol


class ContactRefused(Exception):
    """The collection policy refused this SMS; nothing was queued. `rule` is the policy's code
    for the rule that refused it, the message names the rule in the active language."""

    def __init__(self, *, borrower_id: int, rule: str, message: str):
        self.borrower_id, self.rule = borrower_id, rule
        super().__init__(message)


class CollectionPolicy(Protocol):
    def filter_batch(
        self, drafts: Sequence[Any], send_at: datetime, *, template_code: str = ""
    ) -> tuple[list[Any], list[tuple[Any, str]]]:
        """(drafts allowed, [(draft, rule), ...] refused); each draft has `borrower_id`,
        `loan_id` (or None) and `dedupe_key`; the allowed keep their order."""

    def check_one(self, borrower, send_at: datetime) -> None:
        """Raise ContactRefused if this borrower may not get a collection SMS at `send_at`."""

    def record_one(self, message) -> None:
        """A collection SMS was just written to the outbox (same transaction)."""


class AllowEverything:
    """The policy in force until another is registered."""

    def filter_batch(self, drafts, send_at, *, template_code=""):
        return list(drafts), []

    def check_one(self, borrower, send_at) -> None:
        return None

    def record_one(self, message) -> None:
        return None


_policy: CollectionPolicy = AllowEverything()


def register_collection_policy(policy: CollectionPolicy) -> None:
    global _policy
    _policy = policy


def collection_policy() -> CollectionPolicy:
    return _policy
