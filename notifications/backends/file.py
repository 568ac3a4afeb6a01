from pathlib import Path

from django.conf import settings

from . import BaseSmsBackend, SendResult


class SmsBackend(BaseSmsBackend):
    """Appends each message as a line to `SMS_FILE_PATH`."""

    def send(self, messages) -> list[SendResult]:
        path = Path(settings.SMS_FILE_PATH)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            for message in messages:
                f.write(f"{message.pk}\t{message.masked_phone}\t{message.text}\n")
        return [SendResult(ok=True, provider_id=f"file-{m.pk}") for m in messages]
