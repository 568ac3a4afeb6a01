from django.db import migrations

import loans.fields


class Migration(migrations.Migration):
    dependencies = [("loans", "0014_equal_instalment_spelling")]
    operations = [
        migrations.AddField(
            model_name="borrower",
            name="address",
            field=loans.fields.EncryptedTextField(
                blank=True, default="", db_default="", verbose_name="residential address"
            ),
        ),
    ]
