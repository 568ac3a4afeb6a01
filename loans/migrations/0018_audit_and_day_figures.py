"""The audit trail (append-only: PostgreSQL refuses UPDATE and DELETE on it, whoever asks) and
the end-of-day portfolio figures the dashboard reads."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


TABLE = "loans_auditevent"
FUNCTION = """
CREATE OR REPLACE FUNCTION loans_audit_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % on % refused',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, params=None)  # its % are plpgsql format markers
    schema_editor.execute(
        f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
        "FOR EACH ROW EXECUTE FUNCTION loans_audit_refuse_change()"
    )
    # Also in sessions with session_replication_role = replica (bulk loaders).
    schema_editor.execute(f"ALTER TABLE {TABLE} ENABLE ALWAYS TRIGGER {TABLE}_append_only")


def remove(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}")
    schema_editor.execute("DROP FUNCTION IF EXISTS loans_audit_refuse_change()")


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('loans', '0017_portal_preferences'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='businessday',
            name='active_loans',
            field=models.PositiveIntegerField(default=0, verbose_name='active loans'),
        ),
        migrations.AddField(
            model_name='businessday',
            name='balance_current',
            field=models.DecimalField(decimal_places=2, default=0, max_digits=14, verbose_name='balance current'),
        ),
        migrations.AddField(
            model_name='businessday',
            name='balance_m1',
            field=models.DecimalField(decimal_places=2, default=0, max_digits=14, verbose_name='balance M1'),
        ),
        migrations.AddField(
            model_name='businessday',
            name='balance_m2',
            field=models.DecimalField(decimal_places=2, default=0, max_digits=14, verbose_name='balance M2'),
        ),
        migrations.AddField(
            model_name='businessday',
            name='balance_m3',
            field=models.DecimalField(decimal_places=2, default=0, max_digits=14, verbose_name='balance M3'),
        ),
        migrations.AddField(
            model_name='businessday',
            name='balance_m4_plus',
            field=models.DecimalField(decimal_places=2, default=0, max_digits=14, verbose_name='balance M4+'),
        ),
        migrations.AddField(
            model_name='businessday',
            name='disbursed_amount',
            field=models.DecimalField(decimal_places=2, default=0, max_digits=14, verbose_name='amount disbursed the day before'),
        ),
        migrations.AddField(
            model_name='businessday',
            name='disbursed_loans',
            field=models.PositiveIntegerField(default=0, verbose_name='loans disbursed the day before'),
        ),
        migrations.AddField(
            model_name='businessday',
            name='outstanding_principal',
            field=models.DecimalField(decimal_places=2, default=0, max_digits=14, verbose_name='outstanding principal'),
        ),
        migrations.CreateModel(
            name='AuditEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('at', models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='at')),
                ('ip_address', models.GenericIPAddressField(blank=True, null=True, verbose_name='from IP')),
                ('action', models.CharField(max_length=40, verbose_name='action')),
                ('object_id', models.CharField(blank=True, max_length=64, verbose_name='record id')),
                ('object_repr', models.CharField(blank=True, max_length=200, verbose_name='record')),
                ('summary', models.CharField(blank=True, max_length=300, verbose_name='summary')),
                ('before', models.JSONField(blank=True, null=True, verbose_name='before')),
                ('after', models.JSONField(blank=True, null=True, verbose_name='after')),
                ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='staff member')),
                ('content_type', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='contenttypes.contenttype', verbose_name='kind of record')),
            ],
            options={
                'verbose_name': 'audit event',
                'verbose_name_plural': 'audit trail',
                'ordering': ['-at', '-id'],
                'indexes': [models.Index(fields=['-at', '-id'], name='audit_at'), models.Index(fields=['action', '-at'], name='audit_action_at'), models.Index(fields=['actor', '-at'], name='audit_actor_at'), models.Index(fields=['content_type', 'object_id'], name='audit_target')],
            },
        ),
        migrations.RunPython(install, remove),
    ]
