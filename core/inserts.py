"""New rows of several tables written in one statement: one round trip, atomic by itself.

A write that creates a row and the rows that hang from it (an entry, its owner, its audit event)
otherwise costs ``BEGIN``, one ``INSERT`` per table and ``COMMIT``: five round trips to the
database, each a wait on a busy machine. On PostgreSQL ``insert_rows`` sends them as one statement,
``WITH a AS (INSERT ...), b AS (INSERT ...) SELECT ...``: every part is applied or none is, and the
foreign keys between the parts are checked at its end (they are deferred anyway). Elsewhere
(SQLite, which has no INSERT inside WITH) it is ``bulk_create`` per table in a transaction.

Like ``bulk_create``: the rows' ``pre_save`` (timestamps, defaults) runs, no save signals are sent,
and primary keys the database assigns are set on the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections, router, transaction
from django.db.models import AutoField, Model
from django.db.models.sql import InsertQuery


def insert_rows(*groups: Sequence[Model]) -> None:
    """Insert each group's rows (unsaved rows of one model each) together, in one statement."""
    groups = tuple(rows for rows in groups if rows)
    if not groups:
        return
    alias = router.db_for_write(type(groups[0][0]))
    connection = connections[alias]
    if connection.vendor != "postgresql":
        with transaction.atomic(using=alias):
            for rows in groups:
                type(rows[0])._default_manager.using(alias).bulk_create(rows)
        return
    parts: list[str] = []
    params: list[Any] = []
    returned: list[tuple[int, str]] = []
    for n, rows in enumerate(groups):
        model = type(rows[0])
        opts = model._meta
        for row in rows:  # as ``bulk_create`` prepares its rows
            if row.pk is None:
                row.pk = opts.pk.get_pk_value_on_save(row)  # type: ignore[union-attr]
            row._prepare_related_fields_for_save(operation_name="insert_rows")  # type: ignore[attr-defined]
        assigned = rows[0].pk is None
        if any((row.pk is None) != assigned for row in rows):
            raise ValueError("a group's rows must all have a primary key, or none")
        fields = [
            f
            for f in opts.local_concrete_fields
            if not f.generated and not (assigned and isinstance(f, AutoField))
        ]
        query = InsertQuery(model)
        query.insert_values(fields, list(rows))
        compiler = query.get_compiler(using=alias)
        if assigned:
            if opts.db_returning_fields != [opts.pk]:
                raise ValueError(f"{model.__name__}: only a primary key can be read back")
            compiler.returning_fields = [opts.pk]
            returned.append((n, connection.ops.quote_name(str(opts.pk.column))))
        [(sql, part_params)] = compiler.as_sql()
        parts.append(f"g{n} AS ({sql})")
        params.extend(part_params)
    # Each group's assigned keys, in the order of its rows (RETURNING follows the VALUES).
    selects = [
        f"SELECT {n}, {column} FROM g{n}"  # noqa: S608 (a number and a quoted column name)
        for n, column in returned
    ] or ["SELECT 0, 0"]
    statement = f"WITH {', '.join(parts)} {' UNION ALL '.join(selects)}"
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        keys = cursor.fetchall() if returned else []
    by_group: dict[int, list[object]] = {}
    for n, key in keys:
        by_group.setdefault(n, []).append(key)
    for n, rows in enumerate(groups):
        if rows[0].pk is None:
            for row, key in zip(rows, by_group.get(n, []), strict=True):
                row.pk = key
        for row in rows:
            row._state.adding = False
            row._state.db = alias
