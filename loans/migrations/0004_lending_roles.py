from django.db import migrations


class Migration(migrations.Migration):
    """The lending models' permissions reach the staff groups after `migrate` (loans/roles.py)."""

    dependencies = [
        ("loans", "0003_lending"),
        # Also after the login codes migration written at the same time, so the graph keeps a
        # single leaf (two migrations on top of 0003 would stop `migrate`).
        ("loans", "0004_login_codes"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = []
