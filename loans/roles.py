"""Staff groups and what each may do. Applied by migrations through `sync_groups`, so a fresh
database has them and later migrations can grant the permissions of models they add.

A role names permissions as "app_label.codename"; ones whose model does not exist yet are
skipped and picked up by the migration that adds the model.
"""

VIEW_CREDIT = [
    "loans.view_borrower",
    "loans.view_consent",
    "loans.view_creditreport",
    "loans.view_creditassessment",
    "loans.view_creditline",
    "loans.view_creditlineevent",
]

ROLES: dict[str, list[str]] = {
    "风控专员 Risk officer": VIEW_CREDIT
    + [
        "loans.change_borrower",
        "loans.add_creditreport",
        "loans.add_creditassessment",
        "loans.override_creditassessment",
        "loans.freeze_creditline",
        "loans.reveal_pii",
    ],
    "贷款运营 Loan operations": VIEW_CREDIT
    + [
        "loans.add_borrower",
        "loans.change_borrower",
        "loans.add_creditassessment",
        "loans.freeze_creditline",
    ],
    "客服 Customer service": VIEW_CREDIT
    + ["loans.request_review_creditassessment", "loans.reveal_pii"],
    "催收员 Collector": ["loans.view_borrower", "loans.view_creditline"],
    "催收主管 Collection supervisor": ["loans.view_borrower", "loans.view_creditline"],
    "合规审计 Auditor": VIEW_CREDIT + ["loans.view_piiaccesslog"],
}


def sync_groups(apps) -> None:
    """Create every permission that exists so far, then give each group exactly its role."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            wanted += list(
                Permission.objects.filter(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(wanted)
