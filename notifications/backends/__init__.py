"""SMS backends, chosen by `SMS_BACKEND` like Django's email backends.

A backend's `send(messages)` takes outbox rows and returns one `SendResult` per message, in
order. It never touches the database: the caller records the results.

`in_doubt` says the provider may have accepted a message whose answer never came (the request
timed out or the connection dropped after it was sent): the caller must not simply send it
again (outbox.requeue_in_doubt settles such messages).
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

# A backend that names its requests (Tencent's SessionContext) calls them this and the id of
# their first message; the receipts bring the name back (receipts.py).
SESSION_PREFIX = "outbox:"


@dataclass(frozen=True)
class SendResult:
    ok: bool
    provider_id: str = ""
    error: str = ""
    in_doubt: bool = False


class BaseSmsBackend:
    def send(self, messages) -> list[SendResult]:
        raise NotImplementedError


def get_backend() -> BaseSmsBackend:
    return import_string(settings.SMS_BACKEND)()
