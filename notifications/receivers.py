"""What notifications does when `loans` says something happened."""

from django.dispatch import receiver

from loans import signals

from . import services


@receiver(signals.login_code_requested)
def on_login_code_requested(sender, borrower, code, request_id, **kwargs):
    services.send_login_code(borrower=borrower, code=code, request_id=request_id)
