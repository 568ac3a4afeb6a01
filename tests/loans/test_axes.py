"""Staff logins are throttled (django-axes): a username is locked after AXES_FAILURE_LIMIT wrong
passwords and an IP address after AXES_IP_FAILURE_LIMIT, for the cool-off; a superuser can
unlock at once, and every failure is visible in the admin."""

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt, AccessFailureLog
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from tests import factories

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests-2026"  # what tests.factories.staff sets


@pytest.fixture
def client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture(autouse=True)
def limits(settings):
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_IP_FAILURE_LIMIT = 8
    settings.AXES_COOLOFF_TIME = timedelta(minutes=30)


def sign_in(client, username, password, ip="10.0.0.1"):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": reverse("admin:index")},
        REMOTE_ADDR=ip,
    )


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def fail(client, username, times, ip="10.0.0.1"):
    return [sign_in(client, username, "wrong", ip=ip) for _ in range(times)][-1]


def assert_locked(response):
    assert response.status_code == 429
    page = response.content.decode()
    assert 'id="locked-out"' in page
    assert "Too many failed sign-in attempts" in page and "30 minutes" in page


def test_the_right_password_still_signs_in(client):
    user = factories.staff()
    fail(client, user.username, 4)
    response = sign_in(client, user.username, PASSWORD)
    assert response.status_code == 302 and signed_in(client)


def test_after_five_wrong_passwords_even_the_right_one_is_refused_with_a_message(client):
    user = factories.staff()
    assert fail(client, user.username, 4).status_code == 200  # "please enter a correct..."
    assert_locked(fail(client, user.username, 1))
    response = sign_in(client, user.username, PASSWORD)
    assert_locked(response)
    assert not signed_in(client)


def test_a_username_is_locked_whichever_address_the_failures_come_from(client):
    user = factories.staff()
    for n in range(5):
        sign_in(client, user.username, "wrong", ip=f"10.0.1.{n}")
    assert_locked(sign_in(client, user.username, PASSWORD, ip="10.0.9.9"))
    assert not signed_in(client)


def test_an_address_is_locked_after_more_failures_whichever_usernames_were_tried(client):
    for n in range(8):
        sign_in(client, f"guess{n}", "wrong", ip="10.0.2.1")
    fresh = factories.staff()
    assert_locked(sign_in(client, fresh.username, PASSWORD, ip="10.0.2.1"))
    assert not signed_in(client)
    assert sign_in(client, fresh.username, PASSWORD, ip="10.0.2.2").status_code == 302
    assert signed_in(client)


def test_seven_failures_from_one_address_over_several_usernames_do_not_lock_it(client):
    for n in range(7):
        sign_in(client, f"typo{n}", "wrong", ip="10.0.3.1")
    user = factories.staff()
    assert sign_in(client, user.username, PASSWORD, ip="10.0.3.1").status_code == 302


def test_the_lock_lifts_after_the_cool_off(client):
    user = factories.staff()
    fail(client, user.username, 5)
    with time_machine.travel(timezone.now() + timedelta(minutes=29)):
        assert_locked(sign_in(client, user.username, PASSWORD))
    # The refused attempt above counted as a failure, and restarted the cool-off.
    with time_machine.travel(timezone.now() + timedelta(minutes=60)):
        assert sign_in(client, user.username, PASSWORD).status_code == 302
        assert signed_in(client)


def test_failures_are_visible_to_a_superuser_who_can_unlock(client):
    user = factories.staff(username="locked-out-clerk")
    fail(client, user.username, 5)
    admin_client = type(client)()
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    admin_client.force_login(factories.staff(superuser=True))
    attempts = admin_client.get(reverse("admin:axes_accessattempt_changelist"))
    assert attempts.status_code == 200 and "locked-out-clerk" in attempts.content.decode()
    failures = admin_client.get(reverse("admin:axes_accessfailurelog_changelist"))
    assert failures.content.decode().count("locked-out-clerk") >= 5
    assert AccessFailureLog.objects.filter(username="locked-out-clerk").count() == 5

    attempt = AccessAttempt.objects.get(username="locked-out-clerk")
    unlocked = admin_client.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"},
    )
    assert unlocked.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert sign_in(client, user.username, PASSWORD).status_code == 302 and signed_in(client)
    # The failures stay on record.
    assert AccessFailureLog.objects.filter(username="locked-out-clerk").count() == 5


def test_only_a_superuser_can_unlock_whatever_permissions_a_group_was_given(client):
    fail(client, "someone", 5)
    attempt = AccessAttempt.objects.get()
    clerk = factories.staff()
    clerk.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="axes", codename__endswith="attempt")
    )
    client.force_login(clerk)
    listing = client.get(reverse("admin:axes_accessattempt_changelist"))
    assert listing.status_code == 200  # may look
    actions = [name for name, _ in listing.context["action_form"].fields["action"].choices]
    assert "delete_selected" not in actions
    delete = reverse("admin:axes_accessattempt_delete", args=[attempt.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()


def test_the_failure_log_cannot_be_deleted_in_the_admin_even_by_a_superuser(client):
    fail(client, "someone", 2)
    client.force_login(factories.staff(superuser=True))
    log = AccessFailureLog.objects.first()
    delete = reverse("admin:axes_accessfailurelog_delete", args=[log.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert AccessFailureLog.objects.count() == 2
