from django.contrib import admin
from django.urls import include, path

from debt_collection.admin import admin_home

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    # A collector's admin home is their work queue; everyone else gets the admin index.
    path("admin/", admin.site.admin_view(admin_home)),
    path("admin/", admin.site.urls),
    path("gateway/", include("loans.gateway.urls")),
    path("", include("notifications.urls")),
    path("", include("portal.urls")),
]
