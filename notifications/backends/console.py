import sys

from . import BaseSmsBackend, SendResult


class SmsBackend(BaseSmsBackend):
    """Prints each message: the development default, so `make run` shows messages flowing."""

    stream = sys.stdout

    def send(self, messages) -> list[SendResult]:
        results = []
        for message in messages:
            self.stream.write(f"[SMS to {message.masked_phone}] {message.text}\n")
            results.append(SendResult(ok=True, provider_id=f"console-{message.pk}"))
        self.stream.flush()
        return results
