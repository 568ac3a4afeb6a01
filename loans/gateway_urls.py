"""URLs the payment gateway calls (included at ``gateway/``)."""

from django.urls import path

from .gateway import refund_webhook, views

app_name = "gateway"
urlpatterns = [
    path("webhook/", views.webhook, name="webhook"),
    path("refunds/webhook/", refund_webhook.refund_webhook, name="refund_webhook"),
]
