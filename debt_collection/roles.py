"""What the staff groups may do with collections (催收) records, as "collections.<codename>"
(the app label). Gathered by loans.roles.sync_groups after every migrate; a permission whose
model does not exist yet is skipped."""

from loans.roles import COLLECTION_SUPERVISOR, COLLECTOR

GRANTS: dict[str, list[str]] = {
    COLLECTOR: [],
    COLLECTION_SUPERVISOR: [],
}
