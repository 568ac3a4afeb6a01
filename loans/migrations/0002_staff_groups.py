from django.db import migrations


class Migration(migrations.Migration):
    """The staff groups. They are created and given their permissions after every `migrate`
    (loans/roles.py, a post_migrate handler), once every app's models exist."""

    dependencies = [
        ("loans", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = []
