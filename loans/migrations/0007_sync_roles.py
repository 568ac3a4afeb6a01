from django.db import migrations


def sync(apps, schema_editor):
    from loans.roles import sync_groups

    sync_groups(apps)


class Migration(migrations.Migration):
    """Grants the permissions of the end-of-day and payment models to the staff groups."""

    dependencies = [
        ("loans", "0006_indexes"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
