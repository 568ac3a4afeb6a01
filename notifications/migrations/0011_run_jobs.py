# Run now (/admin/jobs/): who may queue the SMS reminders or a dispatch outside the schedule.
# The groups get them from notifications/roles.py after migrate (loans.roles.sync_groups).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0010_borrower_language"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="smsmessage",
            options={
                "ordering": ["-id"],
                "permissions": [
                    ("run_reminders", "Can run the SMS reminders now"),
                    ("run_dispatch", "Can run the SMS dispatch now"),
                ],
                "verbose_name": "SMS message",
                "verbose_name_plural": "SMS outbox",
            },
        ),
    ]
