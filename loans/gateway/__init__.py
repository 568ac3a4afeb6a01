"""The payment gateway behind auto-debit (自动扣款).

A pluggable backend chosen by `PAYMENT_GATEWAY_BACKEND`, like Django's email backends: `charge`
submits a charge, and its result comes back only through the signed webhook
(`loans.gateway.views.webhook` → `loans.services.payments.handle_gateway_notification`).
"""

from .base import GatewayBackend, get_gateway

__all__ = ["GatewayBackend", "get_gateway"]
