"""What the staff groups may do with collections (催收) records, as "collections.<codename>"
(the app label). Gathered by loans.roles.sync_groups after every migrate; a permission whose
model does not exist yet is skipped.

A collector works their own cases (the admin and selectors.visible_cases keep them to those).
A supervisor sees every case, reassigns, approves visits and decides hardship plans (never
their own proposal: the services refuse that) and resolves complaints. The auditor (合规审计,
compliance and audit) is read-only everywhere; the banned-phrase list is set up by a
superuser (each change is on the audit trail), so the people it constrains cannot loosen it.
Customer service registers complaints and records a borrower's request for written contact
only, both of which usually arrive on the service line."""

from loans.roles import AUDITOR, COLLECTION_SUPERVISOR, COLLECTOR, CUSTOMER_SERVICE

WORK_CASES = [
    "collections.view_collectioncase",
    "collections.work_case",
    "collections.view_promisetopay",
    "collections.add_promisetopay",
    "collections.view_homevisit",
    "collections.add_homevisit",
    "collections.add_complaint",
    "collections.view_hardshipplan",
    "collections.add_hardshipplan",
    "collections.add_contactrestriction",
    "collections.view_bannedphrase",
]
SUPERVISE = [
    "collections.supervise_case",
    "collections.view_caseevent",
    "collections.view_collector",
    "collections.add_collector",
    "collections.change_collector",
    "collections.approve_homevisit",
    "collections.decide_hardshipplan",
    "collections.view_complaint",
    "collections.resolve_complaint",
    "collections.view_contactattempt",
    "collections.view_calloutcome",
    "collections.view_contactrestriction",
    "collections.change_contactrestriction",  # lift a restriction
]
VIEW_ALL = [
    f"collections.view_{model}"
    for model in (
        "collectioncase",
        "caseevent",
        "collector",
        "contactattempt",
        "calloutcome",
        "bannedphrase",
        "contactrestriction",
        "promisetopay",
        "homevisit",
        "complaint",
        "hardshipplan",
    )
]

GRANTS: dict[str, list[str]] = {
    COLLECTOR: WORK_CASES,
    COLLECTION_SUPERVISOR: WORK_CASES + SUPERVISE,
    AUDITOR: VIEW_ALL,
    CUSTOMER_SERVICE: [
        "collections.view_complaint",
        "collections.add_complaint",
        "collections.view_contactrestriction",
        "collections.add_contactrestriction",
    ],
}
