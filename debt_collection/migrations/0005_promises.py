from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("collections", "0004_contacts")]
    operations = [
        migrations.AddField(
            model_name="homevisit",
            name="decision_note",
            field=models.CharField(blank=True, max_length=300, verbose_name="decision note"),
        ),
    ]
