"""A model deletion hides each table by an indexed equality (the entry's id or its parents'
keys), never by joining to find its rows: a join's plan depends on the statistics, and without
them PostgreSQL compared every scan with every file of the entry (issue 10)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deletion.beneath import hide_beneath
from deletion.cascade import CASCADE, Treatment, entry_rows
from deletion.services import model_delete
from models_app.models import Model
from models_app.policy import Actor
from tests.deletion.model_helpers import build_full_model, deletion_env

pytestmark = pytest.mark.django_db
__all__ = ["deletion_env"]


@pytest.fixture
def full(
    deletion_env: None,
    entry: Model,
    public_entry: Model,
    owner: Any,
    reviewer: Any,
    consumer: Any,
    make_token: Any,
) -> Model:
    return build_full_model(
        entry=entry,
        other_entry=public_entry,
        owner=owner,
        reviewer=reviewer,
        consumer=consumer,
        make_token=make_token,
    ).model


def test_every_hiding_update_names_its_rows_without_a_join_or_a_subquery(
    full: Model, owner: Any
) -> None:
    deletion = model_delete(actor=Actor(user=owner), model_id=full.pk, confirm=False)
    # The worker's bulk step hides the rows beneath the entry.
    with CaptureQueriesContext(connection) as captured:
        hide_beneath(deletion.pk)
    updates = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("UPDATE")]
    hidden_tables = {t.model._meta.db_table for t in CASCADE if t.treatment is Treatment.HIDE}
    touched = {sql.split('"')[1] for sql in updates}
    assert {"releases_scanresult", "reviews_response", "releases_file"} <= touched & hidden_tables
    for sql in updates:
        assert "SELECT" not in sql.upper() and "JOIN" not in sql.upper(), sql


def test_the_keys_read_first_cover_every_row_of_the_entry(full: Model) -> None:
    rows = entry_rows(full.pk)
    for table in CASCADE:
        if table.treatment is not Treatment.HIDE:
            continue
        condition = rows.condition(table)
        by_keys = (
            set(table.all_rows().filter(condition).values_list("pk", flat=True))
            if condition is not None
            else set()
        )
        assert by_keys == set(table.rows_of_entry(full.pk).values_list("pk", flat=True)), table.name
