"""The payment gateway's refund webhook: like the charge webhook, thin; the service verifies,
applies once and logs each call."""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..services import payments
from .views import HTTP_STATUS


@csrf_exempt  # the caller is the gateway, authenticated by the HMAC signature instead
@require_POST
def refund_webhook(request):
    notification = payments.handle_refund_notification(
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
