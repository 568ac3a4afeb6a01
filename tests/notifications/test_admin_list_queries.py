"""The SMS outbox and the other notifications lists run the same number of queries whether
they show one row or many (DESIGN §8)."""

import itertools

import pytest

from notifications import services
from notifications.models import SmsMessage
from tests import factories
from tests.loans.test_admin_list_queries import assert_flat, page_costs

pytestmark = pytest.mark.django_db
_keys = itertools.count(1)


def texts(n: int) -> None:
    """n borrowers, each with a message in the outbox."""
    for _ in range(n):
        services.queue_sms(
            borrower=factories.borrower(),
            template="due_reminder",
            body="您的借款将于近日到期。",
            purpose="transactional",
            dedupe_key=f"list-test:{next(_keys)}",
        )


def test_every_notifications_list_runs_the_same_queries_for_one_row_as_for_many(client):
    client.force_login(factories.staff(superuser=True))
    texts(1)
    one = page_costs(client, "notifications")
    texts(10)
    many = page_costs(client, "notifications")
    assert SmsMessage.objects.count() >= 11
    assert_flat(one, many, must_grow={"smsmessage"})
