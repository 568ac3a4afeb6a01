from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("gateway/", include("loans.gateway.urls")),
    path("", include("notifications.urls")),
    path("", include("portal.urls")),
]
