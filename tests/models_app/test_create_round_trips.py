"""What a create through the API sends besides its SQL: the marketplace's cached figures are
cleared with one cache call, after the commit (models_app/listing_cache.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection

from models_app import listing_cache
from models_app.listing_cache import live_entry_count


@pytest.mark.django_db(transaction=True)
def test_a_create_clears_the_cached_figures_once_after_the_commit(
    client_for: Any, owner: Any, settings: Any, monkeypatch: Any
) -> None:
    settings.MARKETPLACE_CACHE_SECONDS = 3600  # only the write may change what is cached
    client = client_for(owner)
    assert live_entry_count([], public_only=True) == 0
    cleared: list[bool] = []
    forget = listing_cache.forget

    def counted(keys: list[str]) -> None:
        cleared.append(connection.in_atomic_block)
        forget(keys)

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
