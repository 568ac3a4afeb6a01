"""Staff groups and what each may do.

The groups are named here, once. Every app says what it grants each group in its own
`<app>/roles.py`, as `GRANTS = {GROUP: ["app_label.codename", ...]}`; `sync_groups` gathers
the grants of every installed app and gives each group exactly their union. It runs after every
`migrate` (a post_migrate handler connected in `LoansConfig.ready`), so a fresh database has
the groups and a new permission reaches its group with the migration that adds its model.
Permissions whose model does not exist (yet) are skipped.
"""

from importlib import import_module

from django.apps import apps as installed_apps
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS
from django.utils.module_loading import module_has_submodule

RISK_OFFICER = "风控专员 Risk officer"
LOAN_OPERATIONS = "贷款运营 Loan operations"
CUSTOMER_SERVICE = "客服 Customer service"
COLLECTOR = "催收员 Collector"
COLLECTION_SUPERVISOR = "催收主管 Collection supervisor"
AUDITOR = "合规审计 Auditor"  # 合规审计: compliance and audit

GROUPS = [
    RISK_OFFICER,
    LOAN_OPERATIONS,
    CUSTOMER_SERVICE,
    COLLECTOR,
    COLLECTION_SUPERVISOR,
    AUDITOR,
]

# Registration attempts (refused identities, taken ID numbers) are for risk and compliance.
VIEW_REGISTRATIONS = ["loans.view_registrationattempt"]
VIEW_CREDIT = [
    "loans.view_borrower",
    "loans.view_consent",
    "loans.view_creditreport",
    "loans.view_creditassessment",
    "loans.view_creditline",
    "loans.view_creditlineevent",
]

# Lending. Whoever sees a loan also sees its instalments (the loan page lists them inline).
VIEW_LOANS = ["loans.view_loan", "loans.view_instalment"]
VIEW_LENDING = VIEW_LOANS + [
    "loans.view_loanproduct",
    "loans.view_loanapplication",
    "loans.view_contract",
    "loans.view_repayment",
]
VIEW_LEDGER = ["loans.view_loantransaction"]
VIEW_PAYMENTS = ["loans.view_bankcard", "loans.view_debitattempt", "loans.view_gatewaynotification"]
VIEW_END_OF_DAY = ["loans.view_businessday", "django_q.view_schedule"]
VIEW_REFUNDS = ["loans.view_refund"]
VIEW_WRITE_OFFS = ["loans.view_writeoff"]
# Maker-checker: a group may hold both halves, the services refuse the same person doing both.
REFUNDS = VIEW_REFUNDS + ["loans.request_refund", "loans.approve_refund"]
# The approvals list (each person sees the kinds they decide or oversee, and their own
# proposals); the thresholds are changed by a superuser only.
VIEW_APPROVALS = ["loans.view_approval"]
VIEW_THRESHOLDS = ["loans.view_approvalthreshold"]
# Release someone else's claim on a queue item (the person is away, the item waits).
RELEASE_CLAIMS = ["loans.release_claim"]

GRANTS: dict[str, list[str]] = {
    RISK_OFFICER: VIEW_CREDIT
    + [
        "loans.change_borrower",
        "loans.add_creditreport",
        "loans.add_creditassessment",
        "loans.override_creditassessment",
        "loans.freeze_creditline",
        "loans.reveal_pii",
        "loans.decide_loanapplication",
    ]
    + VIEW_LENDING
    + ["loans.view_businessday"]
    + VIEW_WRITE_OFFS
    + ["loans.propose_writeoff", "loans.approve_writeoff"]
    + VIEW_REGISTRATIONS
    + VIEW_APPROVALS
    + VIEW_THRESHOLDS
    + RELEASE_CLAIMS,
    LOAN_OPERATIONS: VIEW_CREDIT
    + [
        "loans.add_borrower",
        "loans.change_borrower",
        "loans.add_creditassessment",
        "loans.freeze_creditline",
        "loans.add_loanproduct",
        "loans.change_loanproduct",
        "loans.change_loanapplication",
        "loans.decide_loanapplication",
        "loans.post_repayment_loan",
        "loans.change_bankcard",
    ]
    + VIEW_LENDING
    + VIEW_LEDGER
    + VIEW_PAYMENTS
    + VIEW_END_OF_DAY
    + ["loans.run_end_of_day"]  # run now (/admin/jobs/)
    + REFUNDS
    + VIEW_WRITE_OFFS
    + VIEW_APPROVALS
    + VIEW_THRESHOLDS
    + ["loans.approve_manual_posting"],  # another person than the one who typed it
    CUSTOMER_SERVICE: VIEW_CREDIT
    + ["loans.request_review_creditassessment", "loans.reveal_pii"]
    + VIEW_LOANS
    + ["loans.view_loanapplication", "loans.view_contract", "loans.view_repayment"]
    + VIEW_REFUNDS
    + VIEW_APPROVALS,
    COLLECTOR: ["loans.view_borrower", "loans.view_creditline"]
    + VIEW_LOANS
    + ["loans.view_repayment"]
    + VIEW_APPROVALS,  # their own hardship proposals
    COLLECTION_SUPERVISOR: ["loans.view_borrower", "loans.view_creditline"]
    + VIEW_LOANS
    + ["loans.view_repayment"]
    + VIEW_WRITE_OFFS
    + ["loans.approve_writeoff"]
    + VIEW_APPROVALS
    + RELEASE_CLAIMS,
    AUDITOR: VIEW_CREDIT
    + ["loans.view_piiaccesslog", "loans.view_auditevent"]
    + VIEW_LENDING
    + VIEW_LEDGER
    + VIEW_PAYMENTS
    + VIEW_END_OF_DAY
    + VIEW_REFUNDS
    + VIEW_WRITE_OFFS
    + VIEW_REGISTRATIONS
    + VIEW_APPROVALS
    + VIEW_THRESHOLDS,
}


def declared_grants() -> dict[str, set[str]]:
    """Each group's permissions: the union of the `GRANTS` of every installed app's `roles`
    module (found the way the admin finds `admin` modules). A grant to a group not in GROUPS,
    or a permission not written "app_label.codename", is a mistake and stops the sync."""
    grants: dict[str, set[str]] = {name: set() for name in GROUPS}
    for app_config in installed_apps.get_app_configs():
        if not module_has_submodule(app_config.module, "roles"):
            continue
        module = import_module(f"{app_config.name}.roles")
        for group, perms in getattr(module, "GRANTS", {}).items():
            if group not in grants:
                raise ImproperlyConfigured(f"{module.__name__} grants to unknown group {group!r}")
            malformed = [p for p in perms if p.count(".") != 1]
            if malformed:
                raise ImproperlyConfigured(
                    f"{module.__name__}: not app_label.codename: {malformed}"
                )
            grants[group].update(perms)
    return grants


def sync_groups(apps, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Create every permission that exists so far, then give each group exactly its grants.
    `apps` is an app registry: a migration state's, or the installed one."""
    from django.contrib.auth.management import create_permissions

    # Apps later in INSTALLED_APPS have no permissions yet when this runs on the first apps'
    # post_migrate, and a migration state's apps look model-less to create_permissions.
    for app_config in apps.get_app_configs():
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True
        try:
            create_permissions(app_config, apps=apps, verbosity=0, using=using)
        finally:
            app_config.models_module = models_module

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    existing = {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in Permission.objects.using(using).values_list(
            "pk", "content_type__app_label", "codename"
        )
    }
    for name, perms in declared_grants().items():
        group, _ = Group.objects.using(using).get_or_create(name=name)
        group.permissions.set([existing[p] for p in sorted(perms) if p in existing])


def sync_staff_groups(sender, *, apps=installed_apps, using=DEFAULT_DB_ALIAS, **kwargs) -> None:
    """post_migrate handler, connected for the loans app only so that it runs once a migrate."""
    sync_groups(apps, using=using)
