from django.db import migrations


class Migration(migrations.Migration):
    """The SMS outbox, template and cadence permissions reach the staff groups after `migrate`
    (notifications/roles.py, applied by loans/roles.py)."""

    dependencies = [
        ("notifications", "0003_default_templates"),
        ("loans", "0007_sync_roles"),
    ]

    operations = []
