import pytest
from django.db import connection


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` need row locks or real concurrency; skip them elsewhere."""
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL to a PostgreSQL database)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def sms_outbox(settings):
    """Every test sends SMS into memory; `sms_outbox` is the list of messages sent."""
    from notifications.backends import locmem

    settings.SMS_BACKEND = "notifications.backends.locmem.SmsBackend"
    locmem.outbox.clear()
    return locmem.outbox


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate limits count in the cache: each test starts with none used."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def english_outside_requests():
    """Services called straight from a test speak English, whatever language an earlier
    request left active in this thread (a request picks its own, Chinese by default)."""
    from django.utils import translation

    with translation.override("en"):
        yield
