"""Rows of several tables written in one statement (core.inserts): keys set in order, every
part applied or none, and the same rows as ``bulk_create`` would write."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from core.inserts import insert_rows
from core.models import AuditEvent
from models_app.models import Collaborator, Model, ModelTag


def entry(pk: str, owner: Any) -> Model:
    return Model(id=pk, name=pk, description="Made by a test.", created_by=owner)


@pytest.mark.django_db(transaction=True)
def test_rows_of_several_tables_are_one_statement_with_their_keys_in_order(owner: Any) -> None:
    model = entry("together-1", owner)
    people = [Collaborator(model=model, entity=f"user:p{n}", role="consumer") for n in range(4)]
    tags = [ModelTag(model=model, name=name) for name in ("x", "y")]
    event = AuditEvent(actor="user:p0", action="model:create", subject=model.pk)
    with CaptureQueriesContext(connection) as captured:
        insert_rows([model], people, tags, [event])
    assert len(captured.captured_queries) == 1
    assert [Collaborator.objects.get(pk=p.pk).entity for p in people] == [
        f"user:p{n}" for n in range(4)
    ]
    assert [ModelTag.objects.get(pk=t.pk).name for t in tags] == ["x", "y"]
    assert AuditEvent.objects.get(pk=event.pk).subject == "together-1"
    saved = Model.objects.get(pk="together-1")
    assert saved.created_at is not None and saved.created_at == model.created_at
    assert not model._state.adding and not event._state.adding


@pytest.mark.django_db(transaction=True)
def test_when_one_part_fails_no_part_is_written(owner: Any) -> None:
    insert_rows([entry("taken-1", owner)])
    event = AuditEvent(actor="user:p0", action="model:create", subject="fresh-1")
    with pytest.raises(IntegrityError):
        insert_rows([entry("fresh-1", owner)], [event], [entry("taken-1", owner)])
    assert not Model.objects.filter(pk="fresh-1").exists()
    assert not AuditEvent.objects.filter(subject="fresh-1").exists()


@pytest.mark.django_db(transaction=True)
def test_a_row_naming_a_missing_parent_is_refused_with_the_rest(owner: Any) -> None:
    orphan = Collaborator(model_id="no-such-entry", entity="user:p0", role="owner")
    with pytest.raises(IntegrityError):
        insert_rows([entry("with-orphan", owner)], [orphan])
    assert not Model.objects.filter(pk="with-orphan").exists()


def test_nothing_to_insert_sends_nothing(db: Any) -> None:
    with CaptureQueriesContext(connection) as captured:
        insert_rows([], [])
    assert captured.captured_queries == []
