"""SMS backends, chosen by `SMS_BACKEND` like Django's email backends.

A backend's `send(messages)` takes outbox rows and returns one `SendResult` per message, in
order. It never touches the database: the caller records the results.
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class SendResult:
    ok: bool
    provider_id: str = ""
    error: str = ""


class BaseSmsBackend:
    def send(self, messages) -> list[SendResult]:
        raise NotImplementedError


def get_backend() -> BaseSmsBackend:
    return import_string(settings.SMS_BACKEND)()
