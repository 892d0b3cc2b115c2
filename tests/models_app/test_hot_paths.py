"""The hot paths of issue 10: the marketplace's counts and popular tags (cached, and cleared by the
writes that change them), the collaborator lookup every list makes (an index lookup), and the
number of SQL statements the marketplace, the search API and a create cost."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.entities import entity_filter
from deletion.services import deletion_restore, model_delete
from models_app import listing_cache
from models_app.listing_cache import public_tags
from models_app.models import Collaborator, EntryKind, Model, ModelTag
from models_app.policy import Actor, visible_to
from models_app.search import model_search
from models_app.services import model_create, model_update

pytestmark = pytest.mark.django_db

MODELS_TAB = [EntryKind.MODEL.value, EntryKind.MIRRORED_MODEL.value]
KIND_SETS = [None, MODELS_TAB, [EntryKind.DATA_CARD.value], [EntryKind.MODEL.value]]


def make(owner: Any, name: str, **fields: Any) -> Model:
    fields.setdefault("description", f"About {name}.")
    fields.setdefault("visibility", "public")
    return model_create(actor=Actor(user=owner), name=name, **fields)


def total(user: Any, kinds: list[str] | None = None) -> int:
    return model_search(actor=Actor(user=user), kinds=kinds).total


def expected(user: Any, kinds: list[str] | None = None) -> int:
    rows = visible_to(Actor(user=user))
    return rows.filter(kind__in=kinds).count() if kinds else rows.count()


@pytest.fixture
def catalogue(owner: Any, make_user: Any, outsider: Any) -> dict[str, Any]:
    """Public and private entries of every kind; roles held directly and through a group; one
    entry deleted."""
    team_member = make_user("tess")
    team = Group.objects.create(name="perf-team")
    team_member.groups.add(team)
    for n, kind in enumerate([EntryKind.MODEL, EntryKind.DATA_CARD, EntryKind.MODEL]):
        make(owner, f"Public {n}", kind=kind, tags=["shared", f"p{n}"])
        make(owner, f"Private {n}", kind=kind, visibility="private", tags=["secret"])
    make(
        owner,
        "Team private",
        visibility="private",
        collaborators=[
            {"entity": f"user:{owner.username}", "roles": ["owner"]},
            {"entity": "group:perf-team", "roles": ["consumer"]},
        ],
    )
    make(
        owner,
        "Outsider private data",
        kind=EntryKind.DATA_CARD,
        visibility="private",
        collaborators=[
            {"entity": f"user:{owner.username}", "roles": ["owner"]},
            {"entity": f"user:{outsider.username}", "roles": ["consumer"]},
        ],
    )
    gone = make(owner, "Deleted public")
    model_delete(actor=Actor(user=owner), model_id=gone.pk, confirm=False)
    return {"team_member": team_member}


# --- counts: the cached public part plus the caller's own entries ------------------------------


@pytest.mark.parametrize("kinds", KIND_SETS)
@pytest.mark.parametrize("persona", ["owner", "outsider", "team_member", "site_admin"])
def test_unfiltered_totals_equal_a_count_of_what_the_caller_may_see(
    persona: Any,
    kinds: list[str] | None,
    catalogue: dict[str, Any],
    owner: Any,
    outsider: Any,
    site_admin: Any,
) -> None:
    user = {"owner": owner, "outsider": outsider, "site_admin": site_admin}.get(persona)
    user = user or catalogue[persona]
    assert total(user, kinds) == expected(user, kinds)
    # Asked again, the public part comes from the cache: still the same.
    assert total(user, kinds) == expected(user, kinds)


def test_totals_follow_creates_visibility_changes_deletes_and_restores(
    owner: Any, outsider: Any, site_admin: Any, settings: Any
) -> None:
    settings.MARKETPLACE_CACHE_SECONDS = 3600  # only the writes may change what is cached
    make(owner, "First")
    assert total(outsider) == 1
    second = make(owner, "Second", tags=["rising"])
    assert total(outsider) == 2
    model_update(actor=Actor(user=owner), model=second, changes={"visibility": "private"})
    assert total(outsider) == 1
    model_update(actor=Actor(user=owner), model=second, changes={"visibility": "public"})
    assert total(outsider) == 2
    deletion = model_delete(actor=Actor(user=owner), model_id=second.pk, confirm=False)
    assert total(outsider) == 1
    deletion_restore(actor=Actor(user=site_admin), deletion_id=deletion.pk)
    assert total(outsider) == 2
    assert total(outsider) == expected(outsider)


def test_a_persons_own_count_is_theirs_and_follows_collaborator_changes(
    owner: Any, outsider: Any, settings: Any
) -> None:
    settings.MARKETPLACE_CACHE_SECONDS = 3600  # only the writes may change what is cached
    entry = make(owner, "Shared later", visibility="private")
    make(owner, "Public")
    assert (total(owner), total(outsider)) == (2, 1)
    assert (total(owner), total(outsider)) == (2, 1)  # each from their own cached count
    held = [{"entity": f"user:{owner.username}", "roles": ["owner"]}]
    shared = [*held, {"entity": f"user:{outsider.username}", "roles": ["consumer"]}]
    model_update(actor=Actor(user=owner), model=entry, changes={"collaborators": shared})
    assert (total(owner), total(outsider)) == (2, 2)
    model_update(actor=Actor(user=owner), model=entry, changes={"collaborators": held})
    assert (total(owner), total(outsider)) == (2, 1)
    assert total(outsider) == expected(outsider)


def test_popular_tags_are_those_of_public_entries_and_follow_tag_changes(
    owner: Any, settings: Any
) -> None:
    settings.MARKETPLACE_CACHE_SECONDS = 3600
    first = make(owner, "First", tags=["alpha", "beta"])
    make(owner, "Second", tags=["beta"])
    make(owner, "Hidden", visibility="private", tags=["secret", "secret2"])
    assert public_tags() == ["beta", "alpha"]
    model_update(actor=Actor(user=owner), model=first, changes={"tags": ["gamma"]})
    assert public_tags() == ["beta", "gamma"]
    model_update(actor=Actor(user=owner), model=first, changes={"visibility": "private"})
    assert public_tags() == ["beta"]


def test_dropping_the_generation_alone_makes_every_kept_figure_stale(
    owner: Any, outsider: Any, settings: Any
) -> None:
    """A write's commit deletes one cache key (``listing_cache.forget``): the figures for
    everyone and each person's own count, kept with the generation, are all computed again."""
    settings.MARKETPLACE_CACHE_SECONDS = 3600
    make(owner, "Shown", tags=["alpha"])
    assert (public_tags(), total(owner), total(outsider)) == (["alpha"], 1, 1)
    # Writes that do not clear the cache: the kept figures stand.
    Model.objects.update(visibility="private")
    ModelTag.objects.update(name="beta")
    assert (public_tags(), total(owner), total(outsider)) == (["alpha"], 1, 1)
    listing_cache.forget()
    assert (public_tags(), total(owner), total(outsider)) == ([], 1, 0)


def test_a_cache_off_setting_reads_the_database_each_time(owner: Any, settings: Any) -> None:
    settings.MARKETPLACE_CACHE_SECONDS = 0
    make(owner, "First", tags=["alpha"])
    assert public_tags() == ["alpha"]
    Model.objects.update(visibility="private")  # a write that does not clear the cache
    assert public_tags() == []


# --- the collaborator lookup -------------------------------------------------------------------


def test_the_collaborator_lookup_can_use_the_entity_index(owner: Any) -> None:
    """``entity = me OR entity IN (my groups)`` cannot use an index and read every collaborator
    row of the catalogue on each list; the lookup must be one an index serves."""
    if connection.vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    make(owner, "Anything")
    sql, params = Collaborator.objects.filter(entity_filter(owner)).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan on models_app_collaborator" not in plan, plan


def test_the_collaborator_lookup_finds_direct_and_group_roles(
    owner: Any, make_user: Any, outsider: Any
) -> None:
    member = make_user("gail")
    member.groups.add(Group.objects.create(name="lookup-team"))
    entry = make(
        owner,
        "Shared",
        collaborators=[
            {"entity": f"user:{owner.username}", "roles": ["owner"]},
            {"entity": "group:lookup-team", "roles": ["consumer"]},
        ],
    )
    assert list(
        Collaborator.objects.filter(entity_filter(member)).values_list("model_id", "role")
    ) == [(entry.pk, "consumer")]
    assert list(
        Collaborator.objects.filter(entity_filter(owner)).values_list("model_id", "role")
    ) == [(entry.pk, "owner")]
    assert not Collaborator.objects.filter(entity_filter(outsider)).exists()


def test_a_kept_collaborator_lookup_follows_group_and_name_changes(
    owner: Any, make_user: Any
) -> None:
    """``entity_filter`` keeps the condition it built on the user object: it is SQL, so a group
    joined or left after it was built counts, and a renamed user gets a new one."""
    member = make_user("gail")
    make_user("gail2")  # the name ``member`` takes below (in memory only: nothing is saved)
    entry = make(
        owner,
        "Shared later",
        collaborators=[
            {"entity": f"user:{owner.username}", "roles": ["owner"]},
            {"entity": "group:later-team", "roles": ["consumer"]},
            {"entity": "user:gail2", "roles": ["contributor"]},
        ],
    )

    def found() -> list[tuple[str, str]]:
        return list(
            Collaborator.objects.filter(entity_filter(member)).values_list("model_id", "role")
        )

    assert found() == []
    assert entity_filter(member) is entity_filter(member)  # kept
    team = Group.objects.create(name="later-team")
    member.groups.add(team)
    assert found() == [(entry.pk, "consumer")]
    member.groups.remove(team)
    assert found() == []
    member.username = "gail2"
    assert found() == [(entry.pk, "contributor")]


# --- statements per request ---------------------------------------------------------------------


def _statements(client: Any, path: str, **params: Any) -> int:
    client.get(path, params)  # warm: the session, content types, the cached figures
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params)
    assert response.status_code == 200, response.content[:300]
    return len(captured.captured_queries)


@pytest.mark.parametrize(
    "path,params,limit",
    [
        ("/", {}, 3),
        ("/", {"tag": "bulk", "state": ""}, 4),
        ("/", {"q": "bulk"}, 4),
        ("/api/v2/models/search", {}, 5),
        ("/api/v2/models/search", {"search": "bulk"}, 4),
    ],
)
def test_marketplace_and_search_statements_are_few_and_do_not_grow(
    client_for: Any,
    owner: Any,
    make_entry: Any,
    consumer: Any,
    path: str,
    params: dict[str, str],
    limit: int,
    django_assert_max_num_queries: Any,
) -> None:
    client = client_for(consumer)
    make_entry("Bulk 0", tags=["bulk"])
    make(owner, "Bulk public 0", tags=["bulk"])
    few = _statements(client, path, **params)
    for n in range(1, 13):
        make_entry(f"Bulk {n}", tags=["bulk", f"t{n}"])
        make(owner, f"Bulk public {n}", tags=["bulk"])
    assert _statements(client, path, **params) == few
    with django_assert_max_num_queries(limit):
        client.get(path, params)


def _create(client: Any, body: dict[str, Any]) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.post("/api/v2/models", json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    return len(captured.captured_queries)


def test_a_create_through_the_api_costs_few_statements_whatever_it_carries(
    client_for: Any, owner: Any, make_user: Any
) -> None:
    client = client_for(owner)
    client.get("/api/v2/models/search")  # the session is read once before counting
    plain = {"name": "Created", "description": "Made by a test.", "visibility": "public"}
    # The session with its user, then the entry, its owner and the audit event in one statement
    # (core.inserts), here inside the test's transaction: SAVEPOINT, the statement, RELEASE.
    assert _create(client, plain) <= 4
    users = [make_user(f"collab{n}") for n in range(5)]
    one = _create(
        client,
        {
            **plain,
            "tags": ["a"],
            "collaborators": [{"entity": f"user:{users[0].username}", "roles": ["consumer"]}],
        },
    )
    many = _create(
        client,
        {
            **plain,
            "tags": ["a", "b", "c", "d"],
            "collaborators": [
                {"entity": f"user:{u.username}", "roles": ["consumer", "contributor"]}
                for u in users
            ],
        },
    )
    assert many == one <= 8


def test_a_created_entry_answers_with_what_a_read_finds(client_for: Any, owner: Any) -> None:
    client = client_for(owner)
    body = {
        "name": "Answered",
        "description": "Made by a test.",
        "tags": ["b", "a"],
        "collaborators": [{"entity": f"user:{owner.username}", "roles": ["owner"]}],
    }
    created = client.post("/api/v2/models", json.dumps(body), content_type="application/json")
    assert created.status_code == 200
    model = created.json()["model"]
    read = client.get(f"/api/v2/model/{model['id']}").json()["model"]
    assert model == read


def test_the_marketplace_works_while_the_cache_cannot_be_reached(
    client_for: Any, owner: Any, settings: Any
) -> None:
    make(owner, "Still listed", tags=["shown"])
    client = client_for(owner)  # signing in clears failed-attempt counters in the cache
    # A Redis address nothing listens on: every cache call fails at once.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
        }
    }
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Still listed" in html and 'value="shown"' in html
    make(owner, "Made while the cache is down")  # clearing the cache fails quietly
    assert total(owner) == 2
