"""The payment gateway's webhook. Thin: the service verifies, applies and logs each call."""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..models import GatewayNotification
from ..services import webhooks

Outcome = GatewayNotification.Outcome
HTTP_STATUS = {
    Outcome.ACCEPTED: 200,
    Outcome.DUPLICATE: 200,  # already applied: the gateway must stop re-sending it
    Outcome.MALFORMED: 400,
    Outcome.FORGED: 401,
    Outcome.STALE: 401,
    Outcome.UNKNOWN_ATTEMPT: 404,
    Outcome.REFUSED: 409,  # genuine, but the ledger would not post it: staff must look
}


def _answer(handle, request):
    """Hand one call to its service (which verifies, applies once and logs it) and answer."""
    notification = handle(
        body=request.body,
        signature=request.headers.get("X-Signature", ""),
        timestamp=request.headers.get("X-Timestamp", ""),
        remote_ip=request.META.get("REMOTE_ADDR"),
        headers=request.headers,
        content_type=request.content_type or "",
    )
    status = HTTP_STATUS[notification.outcome]
    if status == 200:
        return JsonResponse({"ok": True})
    return JsonResponse({"ok": False, "error": notification.outcome}, status=status)


@csrf_exempt  # the caller is the gateway, authenticated by the HMAC signature instead
@require_POST
def webhook(request):
    return _answer(webhooks.handle_gateway_notification, request)


@csrf_exempt  # as above
@require_POST
def refund_webhook(request):
    return _answer(webhooks.handle_refund_notification, request)
