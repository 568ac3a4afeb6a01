"""Two helpers for batch work over tens of thousands of rows, where how the SQL is written
costs more than what the database does with it.

- `any_of(ids)`: the right side of an `__in` filter. On PostgreSQL the ids travel as one
  array parameter (`IN (SELECT unnest(%s))`) instead of one placeholder each, which Django
  would compile and psycopg rewrite one by one; elsewhere the plain list.
- `copy_rows(model, fields, rows)`: insert rows with PostgreSQL's COPY (psycopg adapts each
  value as it streams), `bulk_create` elsewhere. The rows are plain tuples of the fields'
  values in `fields` order; no model instances are built.
"""

from collections.abc import Iterable, Sequence

from django.db import connection
from django.db.models.expressions import RawSQL


def any_of(ids: Iterable[int]):
    values = sorted(set(ids))
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", (values,))
    return values


def copy_rows(model, fields: Sequence[str], rows: Iterable[tuple]) -> int:
    """Insert `rows` (values of `fields`, attnames, in that order) into `model`'s table; the
    number inserted. Columns not named take their database default, so name every column
    that has none."""
    rows = list(rows)
    if not rows:
        return 0
    if connection.vendor != "postgresql":
        model.objects.bulk_create(
            [model(**dict(zip(fields, row, strict=True))) for row in rows], batch_size=2000
        )
        return len(rows)
    columns = ", ".join(f'"{model._meta.get_field(name).column}"' for name in fields)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {model._meta.db_table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    return len(rows)
