from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoansConfig(AppConfig):
    name = "loans"
    verbose_name = _("Lending / 信贷")

    def ready(self):
        from django.db.models.signals import post_migrate

        from . import housekeeping
        from .roles import sync_staff_groups
        from .tasks import install_schedules

        post_migrate.connect(install_schedules, sender=self, dispatch_uid="loans-schedules")
        post_migrate.connect(
            housekeeping.install_schedules, sender=self, dispatch_uid="loans-housekeeping"
        )
        post_migrate.connect(sync_staff_groups, sender=self, dispatch_uid="staff-groups")
