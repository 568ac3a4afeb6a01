"""URLs the payment gateway calls (included at ``gateway/``)."""

from django.urls import path

from . import views

app_name = "gateway"
urlpatterns = [
    path("webhook/", views.webhook, name="webhook"),
    path("refunds/webhook/", views.refund_webhook, name="refund_webhook"),
]
