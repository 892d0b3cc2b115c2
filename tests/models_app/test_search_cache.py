"""The search API keeps a text search's page in the cache (``search._kept_text_page_keys``): the
next request after any write to an entry finds the page again, and a kept page never shows an
entry the caller may not see."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deletion.services import deletion_restore, model_delete
from models_app.models import Model
from models_app.policy import Actor
from models_app.services import model_create, model_update

pytestmark = pytest.mark.django_db

SEARCH = "/api/v2/models/search"


@pytest.fixture(autouse=True)
def _cache_on(settings: Any) -> None:
    settings.MARKETPLACE_CACHE_SECONDS = 60


def entry(owner: Any, name: str, **fields: Any) -> Model:
    fields.setdefault("description", "An entry for the cache tests.")
    fields.setdefault("visibility", "public")
    return model_create(actor=Actor(user=owner), name=name, **fields)


def found(client: Any, text: str = "orbital", **params: Any) -> tuple[list[str], int]:
    response = client.get(SEARCH, {"search": text, **params})
    assert response.status_code == 200, response.content
    body = response.json()
    return [m["name"] for m in body["models"]], body["totalEntries"]


def test_a_repeated_search_is_answered_from_the_cache(client_for: Any, owner: Any) -> None:
    entry(owner, "Orbital tracker")
    client = client_for(owner)
    client.get("/api/v2/models/tags")  # the session is read once before counting
    with CaptureQueriesContext(connection) as first:
        assert found(client) == (["Orbital tracker"], 1)
    with CaptureQueriesContext(connection) as again:
        assert found(client) == (["Orbital tracker"], 1)
    assert len(again.captured_queries) < len(first.captured_queries)


def test_a_new_changed_or_deleted_entry_shows_on_the_next_request(
    client_for: Any, owner: Any, consumer: Any, site_admin: Any
) -> None:
    first = entry(owner, "Orbital tracker")
    client = client_for(consumer)
    found(client)
    assert found(client) == (["Orbital tracker"], 1)

    second = entry(owner, "Orbital mapper")
    assert found(client) == (["Orbital mapper", "Orbital tracker"], 2)

    # A rename out of the match, a description into it, and the order (newest first).
    model_update(actor=Actor(user=owner), model=second, changes={"name": "Ground mapper"})
    assert found(client) == (["Orbital tracker"], 1)
    model_update(
        actor=Actor(user=owner), model=second, changes={"description": "Maps orbital debris."}
    )
    assert found(client) == (["Orbital tracker", "Ground mapper"], 2)
    model_update(actor=Actor(user=owner), model=first, changes={"state": "Production"})
    assert found(client, "tracker") == (["Orbital tracker"], 1)
    assert found(client, "orbital", titleOnly="true") == (["Orbital tracker"], 1)
    model_update(actor=Actor(user=owner), model=first, changes={"name": "Orbital watcher"})
    assert found(client, "orbital", titleOnly="true") == (["Orbital watcher"], 1)

    deletion = model_delete(actor=Actor(user=owner), model_id=first.pk, confirm=False)
    assert found(client) == (["Ground mapper"], 1)
    deletion_restore(actor=Actor(user=site_admin), deletion_id=deletion.pk)
    assert found(client, "orbital", titleOnly="true") == (["Orbital watcher"], 1)


def test_a_visibility_change_shows_in_the_count_and_the_rows(
    client_for: Any, owner: Any, outsider: Any
) -> None:
    hidden = entry(owner, "Orbital tracker")
    entry(owner, "Orbital mapper")
    client = client_for(outsider)
    found(client)
    assert found(client) == (["Orbital mapper", "Orbital tracker"], 2)
    model_update(actor=Actor(user=owner), model=hidden, changes={"visibility": "private"})
    assert found(client) == (["Orbital mapper"], 1)
    # The owner still sees it, from a page of their own.
    assert found(client_for(owner)) == (["Orbital tracker", "Orbital mapper"], 2)
    model_update(actor=Actor(user=owner), model=hidden, changes={"visibility": "public"})
    assert found(client) == (["Orbital tracker", "Orbital mapper"], 2)


def test_one_persons_kept_page_is_never_shown_to_another(
    client_for: Any, owner: Any, outsider: Any
) -> None:
    entry(owner, "Orbital secret", visibility="private")
    entry(owner, "Orbital public")
    owners = client_for(owner)
    found(owners)
    assert found(owners) == (["Orbital public", "Orbital secret"], 2)
    outsiders = client_for(outsider)
    assert found(outsiders) == (["Orbital public"], 1)
    assert found(outsiders) == (["Orbital public"], 1)


def test_a_kept_page_is_read_again_through_the_permission_check(
    client_for: Any, owner: Any, outsider: Any
) -> None:
    """Group membership is not a write of an entry: it does not renew the generation, so a kept
    page may still list an entry the person no longer sees. Its row is not shown."""
    team = Group.objects.create(name="orbit-team")
    outsider.groups.add(team)
    entry(
        owner,
        "Orbital secret",
        visibility="private",
        collaborators=[
            {"entity": f"user:{owner.username}", "roles": ["owner"]},
            {"entity": "group:orbit-team", "roles": ["consumer"]},
        ],
    )
    entry(owner, "Orbital public")
    client = client_for(outsider)
    found(client)
    assert found(client) == (["Orbital public", "Orbital secret"], 2)
    outsider.groups.remove(team)
    names, _ = found(client)
    assert names == ["Orbital public"]
