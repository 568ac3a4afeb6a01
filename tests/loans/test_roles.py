"""Staff groups: each app grants its own permissions in its roles module, and after `migrate`
every group holds exactly the union of those grants."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

import debt_collection.roles
import notifications.roles
from loans import roles
from tests import factories

pytestmark = pytest.mark.django_db


def held(group_name: str) -> set[str]:
    perms = Group.objects.get(name=group_name).permissions.select_related("content_type")
    return {f"{p.content_type.app_label}.{p.codename}" for p in perms}


def test_after_migrate_every_group_holds_exactly_what_the_apps_grant():
    declared = roles.declared_grants()
    assert set(Group.objects.values_list("name", flat=True)) >= set(roles.GROUPS)
    for name in roles.GROUPS:
        assert held(name) == declared[name], name
    # Both apps' grants are in the union, and every one names a permission that exists.
    ops = declared[roles.LOAN_OPERATIONS]
    assert set(roles.GRANTS[roles.LOAN_OPERATIONS]) < ops
    assert set(notifications.roles.GRANTS[roles.LOAN_OPERATIONS]) < ops


def test_a_permission_granted_by_notifications_reaches_its_group():
    assert "notifications.change_smstemplate" not in roles.GRANTS[roles.LOAN_OPERATIONS]
    assert "notifications.change_smstemplate" in notifications.roles.GRANTS[roles.LOAN_OPERATIONS]
    ops = factories.staff(roles.LOAN_OPERATIONS)
    service = factories.staff(roles.CUSTOMER_SERVICE)
    collector = factories.staff(roles.COLLECTOR)
    assert ops.has_perms(["notifications.change_smstemplate", "notifications.view_cadencestep"])
    assert service.has_perm("notifications.view_smsmessage")
    assert not service.has_perm("notifications.change_smstemplate")
    assert not collector.has_perm("notifications.view_smsmessage")


def test_migrate_restores_the_groups_and_takes_in_a_new_grant(monkeypatch):
    """An app's grant reaches its group at the next migrate, and a permission taken from a
    group by hand comes back."""
    monkeypatch.setattr(
        debt_collection.roles, "GRANTS", {roles.COLLECTOR: ["notifications.view_smsmessage"]}
    )
    auditors = Group.objects.get(name=roles.AUDITOR)
    auditors.permissions.remove(Permission.objects.get(codename="view_piiaccesslog"))
    Group.objects.filter(name=roles.COLLECTION_SUPERVISOR).delete()

    call_command("migrate", verbosity=0, interactive=False)

    assert "notifications.view_smsmessage" in held(roles.COLLECTOR)
    assert "loans.view_piiaccesslog" in held(roles.AUDITOR)
    assert held(roles.COLLECTION_SUPERVISOR) == roles.declared_grants()[roles.COLLECTION_SUPERVISOR]
    assert factories.staff(roles.COLLECTOR).has_perm("notifications.view_smsmessage")


@pytest.mark.parametrize(
    "grants",
    [{"催收员 Collecter": ["loans.view_loan"]}, {roles.COLLECTOR: ["view_loan"]}],
    ids=["misspelt group", "permission without app label"],
)
def test_a_grant_to_an_unknown_group_or_malformed_permission_stops_the_sync(monkeypatch, grants):
    monkeypatch.setattr(debt_collection.roles, "GRANTS", grants)
    with pytest.raises(ImproperlyConfigured, match="debt_collection.roles"):
        roles.declared_grants()
