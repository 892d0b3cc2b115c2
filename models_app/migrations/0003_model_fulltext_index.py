"""Indexes for marketplace search, on PostgreSQL only.

1. A GIN index on the full-text document of an entry (name and description). It is an expression
   index, so the planner uses it only for queries that repeat the expression exactly:
   ``models_app.search.EntryDocument`` renders the same text (a test compares the two). The
   expression is copied here rather than imported so this migration keeps meaning what it meant.
2. A trigram GIN index on ``UPPER(name)``, the form Django writes for ``name__icontains``, so the
   partial name match that every search starts with does not scan the table. It needs the
   ``pg_trgm`` extension; where the database user may not create it, the index is skipped and name
   matches scan instead (slower, same results).

SQLite, the embedded default, gets neither and searches with a plain substring match.
"""

from __future__ import annotations

from typing import Any

from django.db import DatabaseError, migrations, transaction

FTS_INDEX = "models_app_model_fts"
DOCUMENT = "to_tsvector('english', coalesce(name, '') || ' ' || coalesce(description, ''))"
NAME_INDEX = "models_app_model_name_trgm"


def _trigram_extension(schema_editor: Any) -> bool:
    """Whether pg_trgm is (or could now be made) available to this database."""
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cursor.fetchone():
            return True
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        if not cursor.fetchone():
            return False
    try:
        # A savepoint: a refused CREATE EXTENSION must not abort the migration's transaction.
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError:
        return False
    return True


def create_indexes(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {FTS_INDEX} ON models_app_model USING GIN ({DOCUMENT})"
    )
    if _trigram_extension(schema_editor):
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {NAME_INDEX} ON models_app_model "
            "USING GIN (UPPER(name::text) gin_trgm_ops)"
        )


def drop_indexes(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    # The extension stays: something else may use it by now.
    schema_editor.execute(f"DROP INDEX IF EXISTS {NAME_INDEX}")
    schema_editor.execute(f"DROP INDEX IF EXISTS {FTS_INDEX}")


class Migration(migrations.Migration):
    dependencies = [("models_app", "0002_seed_default_schemas")]
    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
