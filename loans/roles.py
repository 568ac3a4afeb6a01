"""Staff groups and what each may do. Applied by migrations through `sync_groups`, so a fresh
database has them and later migrations can grant the permissions of models they add.

A role names permissions as "app_label.codename"; ones whose model does not exist yet are
skipped and picked up by the migration that adds the model.
"""

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
VIEW_SMS = [
    "notifications.view_smsmessage",
    "notifications.view_smstemplate",
    "notifications.view_cadencestep",
]
MANAGE_SMS = [
    "notifications.change_smsmessage",
    "notifications.add_smstemplate",
    "notifications.change_smstemplate",
    "notifications.change_cadencestep",
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
        "loans.decide_loanapplication",
    ]
    + VIEW_LENDING
    + ["loans.view_businessday"]
    + VIEW_WRITE_OFFS
    + ["loans.propose_writeoff", "loans.approve_writeoff"]
    + VIEW_REGISTRATIONS,
    "贷款运营 Loan operations": VIEW_CREDIT
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
    + VIEW_SMS
    + MANAGE_SMS
    + REFUNDS
    + VIEW_WRITE_OFFS,
    "客服 Customer service": VIEW_CREDIT
    + ["loans.request_review_creditassessment", "loans.reveal_pii"]
    + VIEW_LOANS
    + ["loans.view_loanapplication", "loans.view_contract", "loans.view_repayment"]
    + ["notifications.view_smsmessage"]
    + VIEW_REFUNDS,
    "催收员 Collector": ["loans.view_borrower", "loans.view_creditline"]
    + VIEW_LOANS
    + ["loans.view_repayment"],
    "催收主管 Collection supervisor": ["loans.view_borrower", "loans.view_creditline"]
    + VIEW_LOANS
    + ["loans.view_repayment"]
    + VIEW_WRITE_OFFS
    + ["loans.approve_writeoff"],
    "合规审计 Auditor": VIEW_CREDIT
    + ["loans.view_piiaccesslog"]
    + VIEW_LENDING
    + VIEW_LEDGER
    + VIEW_PAYMENTS
    + VIEW_END_OF_DAY
    + VIEW_SMS
    + VIEW_REFUNDS
    + VIEW_WRITE_OFFS
    + VIEW_REGISTRATIONS,
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
