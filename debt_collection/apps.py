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
        register_approvals()


def register_approvals():
    """Hardship plans (waivers included) always need a supervisor's approval: their kind in
    the one maker-checker mechanism (loans.approvals)."""
    from loans import approvals

    approvals.register(
        approvals.Kind(
            code="hardship_plan",
            label=_("Hardship plan"),
            approve_permission="collections.decide_hardshipplan",
            carry_out="debt_collection.services.hardship.carry_out_approved_plan",
            on_reject="debt_collection.services.hardship.carry_out_rejected_plan",
            see_all_permission="collections.view_caseevent",
            withdrawable=False,
        )
    )
