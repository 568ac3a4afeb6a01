from importlib import import_module

import pytest
from django.apps import apps
from django.db import connection

# What the data migrations put in the tables (SMS templates and cadence, banned phrases), in
# migration order. Each is idempotent.
DATA_MIGRATIONS = [
    ("notifications.migrations.0003_default_templates", "seed"),
    ("notifications.migrations.0008_lifecycle_templates", "seed"),
    ("notifications.migrations.0009_collection_templates", "seed"),
    ("notifications.migrations.0010_borrower_language", "forward"),
    ("debt_collection.migrations.0004_contacts", "seed"),
]


def pytest_configure(config):
    from django.conf import settings

    settings.PASSWORD_HASHERS = [
        "tests.hashers.QuickPBKDF2PasswordHasher",
        *settings.PASSWORD_HASHERS,
    ]


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


@pytest.fixture(autouse=True)
def data_from_migrations(request):
    """A test that commits (transaction=True) starts after a flush, which empties what the
    data migrations wrote (post_migrate puts back groups and permissions, not these): put it
    back as the migrations did. Cheaper than serialized rollback, and unlike it never fights
    the groups post_migrate re-creates under new ids."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction"):
        return
    request.getfixturevalue("transactional_db")
    from notifications.models import SmsTemplate

    if SmsTemplate.objects.exists():
        return
    for module, function in DATA_MIGRATIONS:
        getattr(import_module(module), function)(apps, None)
