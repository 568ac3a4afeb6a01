from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CollectionsConfig(AppConfig):
    """催收 (collections). The package cannot be called `collections`: that name is the
    standard library's, which Python imports before any project code."""

    name = "debt_collection"
    label = "collections"
    verbose_name = _("Collections / 催收")

    def ready(self):
        from . import guard, receivers

        receivers.connect()  # case sync after end of day, promises after repayments
        guard.install()  # the automated collection SMS pass the guard too
