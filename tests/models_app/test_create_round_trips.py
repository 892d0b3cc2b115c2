"""What a create through the API sends besides its SQL: the marketplace's cached figures are
cleared with one cache call, after the commit (models_app/listing_cache.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import AuditEvent
from models_app import listing_cache
from models_app.listing_cache import live_entry_count
from models_app.models import Model


@pytest.mark.django_db(transaction=True)
def test_a_create_clears_the_cached_figures_once_after_the_commit(
    client_for: Any, owner: Any, settings: Any, monkeypatch: Any
) -> None:
    settings.MARKETPLACE_CACHE_SECONDS = 3600  # only the write may change what is cached
    client = client_for(owner)
    assert live_entry_count([], public_only=True) == 0
    cleared: list[bool] = []
    forget = listing_cache.forget

    def counted() -> None:
        cleared.append(connection.in_atomic_block)
        forget()

    monkeypatch.setattr(listing_cache, "forget", counted)
    body = {"name": "Counted", "description": "Made by a test.", "visibility": "public"}
    response = client.post("/api/v2/models", json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    assert cleared == [False]  # one call, once the transaction has committed
    assert live_entry_count([], public_only=True) == 1


def test_inside_an_enclosing_transaction_the_figures_are_cleared_at_once_too(
    db: Any, owner: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from models_app.policy import Actor
    from models_app.services import model_create

    settings.MARKETPLACE_CACHE_SECONDS = 3600
    assert live_entry_count([], public_only=True) == 0
    with django_capture_on_commit_callbacks(execute=False):
        model_create(actor=Actor(user=owner), name="Enclosed", description="In a test.")
        # The enclosing code (here the test's transaction) reads what it just wrote.
        assert live_entry_count([], public_only=True) == 1


@pytest.mark.django_db(transaction=True)
def test_a_create_outside_any_transaction_is_the_session_read_and_one_statement(
    client_for: Any, owner: Any, make_user: Any
) -> None:
    client = client_for(owner)
    client.get("/api/v2/models/search")
    users = [make_user(f"collab{n}") for n in range(3)]
    body = {
        "name": "Together",
        "description": "Made by a test.",
        "tags": ["a", "b"],
        "collaborators": [
            {"entity": f"user:{owner.username}", "roles": ["owner"]},
            *(
                {"entity": f"user:{u.username}", "roles": ["consumer", "contributor"]}
                for u in users
            ),
        ],
    }
    with CaptureQueriesContext(connection) as captured:
        response = client.post("/api/v2/models", json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    writes = [q["sql"] for q in captured.captured_queries if "INSERT" in q["sql"]]
    # No BEGIN or COMMIT: the entry, its collaborators, its tags and its audit event are one
    # statement (core.inserts), atomic by itself. The collaborators' names are checked first.
    assert len(writes) == 1 and writes[0].startswith("WITH")
    assert not any(q["sql"] in {"BEGIN", "COMMIT"} for q in captured.captured_queries)
    model = Model.objects.get(pk=response.json()["model"]["id"])
    assert sorted(model.tag_rows.values_list("name", flat=True)) == ["a", "b"]
    assert model.collaborators.count() == 7
    assert AuditEvent.objects.filter(action="model:create", subject=model.pk).count() == 1
