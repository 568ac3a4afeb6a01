from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("collections", "0002_contact_log_append_only"), ("loans", "0016_restructuring"), ("notifications", "0009_collection_templates")]
    operations = [
        migrations.AddField(
            model_name="caseevent",
            name="status",
            field=models.CharField(
                blank=True,
                choices=[
                    ("new", "New"),
                    ("in_progress", "In progress"),
                    ("promise", "Promise to pay"),
                    ("broken_promise", "Broken promise"),
                    ("hardship_requested", "Hardship plan requested"),
                    ("hardship_plan", "On a hardship plan"),
                    ("paused", "Paused (complaint or dispute)"),
                    ("visit_scheduled", "Home visit scheduled"),
                    ("escalated", "Escalated"),
                    ("closed", "Closed"),
                ],
                max_length=20,
                verbose_name="status after",
            ),
        ),
        migrations.AlterField(
            model_name="caseevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("opened", "Case opened"),
                    ("assigned", "Assigned"),
                    ("status", "Status changed"),
                    ("closed", "Case closed"),
                    ("note", "Internal note"),
                    ("escalated", "Escalated"),
                    ("bucket", "Bucket changed"),
                ],
                max_length=12,
                verbose_name="kind",
            ),
        ),
        migrations.AlterField(
            model_name="collectioncase",
            name="updated_on",
            field=models.DateField(verbose_name="updated on"),
        ),
    ]
