import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("collections", "0006_help"),
        ("loans", "0016_restructuring"),
    ]

    operations = [
        migrations.RemoveField(model_name="hardshipplan", name="revision_id"),
        migrations.AddField(
            model_name="hardshipplan",
            name="revision",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="loans.schedulerevision",
                verbose_name="schedule revision",
            ),
        ),
    ]
