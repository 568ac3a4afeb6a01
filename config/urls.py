from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from config.health import healthz
from debt_collection.admin import admin_home

# The back office's own name, in the staff member's language, on every admin page.
admin.site.site_header = _("微粒贷 back office")
admin.site.site_title = _("微粒贷 back office")
admin.site.index_title = _("Back office home")

urlpatterns = [
    # Load-balancer probe: no session, no auth, no HTTPS redirect (config/health.py).
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    # A collector's admin home is their work queue; everyone else gets the dashboard.
    path("admin/", admin.site.admin_view(admin_home)),
    # Run now: queue end of day, the SMS reminders or a dispatch (loans.admin.jobs).
    path("admin/jobs/", include("loans.admin.jobs")),
    path("admin/", admin.site.urls),
    path("gateway/", include("loans.gateway.urls")),
    path("", include("notifications.urls")),
    path("", include("portal.urls")),
]
