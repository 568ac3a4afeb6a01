from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications / 短信")

    def ready(self):
        from django.db.models.signals import post_migrate

        from . import receivers  # noqa: F401  (connects the signal handlers)
        from .tasks import install_schedules

        post_migrate.connect(install_schedules, sender=self, dispatch_uid="sms-schedules")
