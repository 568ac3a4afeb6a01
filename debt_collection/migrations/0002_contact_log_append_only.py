"""The contact log is append-only in the database itself: PostgreSQL refuses UPDATE and DELETE
on the attempts and their outcomes, whoever asks (a superuser's admin session, a shell, a raw
SQL client). TRUNCATE, which only the table owner may run, is left to the owner (it is how a
test database is emptied). SQLite, the development default, has no such trigger."""

from django.db import migrations

TABLES = ["collections_contactattempt", "collections_calloutcome"]

FUNCTION = """
CREATE OR REPLACE FUNCTION collections_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the collections contact log is append-only: % on % refused',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, params=None)  # its % are plpgsql format markers
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION collections_refuse_change()"
        )


def remove(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS collections_refuse_change()")


class Migration(migrations.Migration):
    dependencies = [("collections", "0001_initial")]
    operations = [migrations.RunPython(install, remove)]
