from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("collections", "0005_promises")]
    operations = []
