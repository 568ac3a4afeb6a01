"""The payment gateway behind auto-debit (自动扣款).

A pluggable backend chosen by `PAYMENT_GATEWAY_BACKEND`, like Django's email backends:
`register_card` binds a card the borrower has proved and returns its token; `charge` submits
a charge, and its result comes back only through the signed webhook
(`loans.gateway.views.webhook` → `loans.services.webhooks.handle_gateway_notification`).
"""

from .base import CardRegistrationFailed, GatewayBackend, get_gateway

__all__ = ["CardRegistrationFailed", "GatewayBackend", "get_gateway"]
