from django.db import migrations


class Migration(migrations.Migration):
    """The end-of-day and payment models' permissions reach the staff groups after `migrate`
    (loans/roles.py)."""

    dependencies = [
        ("loans", "0006_indexes"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = []
