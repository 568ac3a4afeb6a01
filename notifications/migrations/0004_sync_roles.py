from django.db import migrations


def sync(apps, schema_editor):
    from loans.roles import sync_groups

    sync_groups(apps)


class Migration(migrations.Migration):
    """Grants the SMS outbox, template and cadence permissions to the staff groups."""

    dependencies = [
        ("notifications", "0003_default_templates"),
        ("loans", "0007_sync_roles"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
