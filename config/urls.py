from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("gateway/", include("loans.gateway_urls")),
    path("", include("notifications.urls")),
    path("", include("loans.urls")),
]
