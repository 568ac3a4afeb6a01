"""What the staff groups may do with SMS (gathered by loans.roles.sync_groups)."""

from loans.roles import AUDITOR, CUSTOMER_SERVICE, LOAN_OPERATIONS

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

# Run now (/admin/jobs/): operations look after the scheduled work.
RUN_JOBS = ["notifications.run_reminders", "notifications.run_dispatch"]

GRANTS: dict[str, list[str]] = {
    LOAN_OPERATIONS: VIEW_SMS + MANAGE_SMS + RUN_JOBS,
    # Customer service answers "did you text me?": the outbox, not the templates.
    CUSTOMER_SERVICE: ["notifications.view_smsmessage"],
    AUDITOR: VIEW_SMS,
}
