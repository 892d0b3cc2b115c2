"""``GET /api/v2/models/search`` and ``GET /api/v2/models/tags``, the search selector behind
them, and the full-text index it relies on."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from models_app.models import EntryKind, Model
from models_app.policy import Actor
from models_app.search import (
    FTS_DOCUMENT_SQL,
    FTS_INDEX_NAME,
    EntryDocument,
    model_search,
    model_search_queryset,
    search_spec,
)
from models_app.services import model_create
from tests.conftest import basic

pytestmark = pytest.mark.django_db

SEARCH = "/api/v2/models/search"
TAGS = "/api/v2/models/tags"


def entry(owner: Any, name: str, **fields: Any) -> Model:
    fields.setdefault("description", f"About {name}.")
    fields.setdefault("visibility", "public")
    return model_create(actor=Actor(user=owner), name=name, **fields)


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [m["name"] for m in response.json()["models"]]


def error_of(response: Any, status: int) -> str:
    assert response.status_code == status, response.content
    return str(response.json()["error"]["message"])


@pytest.fixture
def catalogue(owner: Any, mirror_import: None) -> dict[str, Model]:
    made = {
        "vision": entry(
            owner,
            "Satellite vision classifier",
            description="Finds ships in satellite images using gradient boosted trees.",
            state="Production",
            organisation="Example Organisation",
            tags=["vision", "maritime"],
        ),
        "speech": entry(owner, "Speech transcriber", state="Development", tags=["audio"]),
        "mirror": entry(
            owner,
            "Mirrored fraud scorer",
            kind=EntryKind.MIRRORED_MODEL,
            settings_={"mirror": {"sourceModelId": "fraud-scorer-abc123"}},
        ),
        "dataset": entry(owner, "Harbour images", kind=EntryKind.DATA_CARD, tags=["vision"]),
    }
    Model.objects.filter(pk=made["speech"].pk).update(organisation="Other Agency")
    return made


# --- shape and visibility -----------------------------------------------------------------------


def test_anonymous_callers_are_refused(client_for: Any) -> None:
    assert "Authentication required" in error_of(client_for(None).get(SEARCH), 401)
    assert "Authentication required" in error_of(client_for(None).get(TAGS), 401)


def test_each_summary_carries_the_fields_the_official_client_reads(
    client_for: Any, owner: Any, catalogue: dict[str, Model]
) -> None:
    body = client_for(owner).get(SEARCH, {"search": "satellite"}).json()
    assert body["errors"] == {}
    assert body["totalEntries"] == 1
    (summary,) = body["models"]
    made = catalogue["vision"]
    assert summary["id"] == made.pk
    assert summary["name"] == "Satellite vision classifier"
    assert summary["description"].startswith("Finds ships")
    assert summary["tags"] == ["vision", "maritime"]
    assert summary["kind"] == "model"
    assert summary["visibility"] == "public"
    assert summary["organisation"] == "Example Organisation"
    assert summary["state"] == "Production"
    assert summary["collaborators"] == [{"entity": "user:owen", "roles": ["owner"]}]
    assert summary["createdAt"].endswith("Z") and summary["updatedAt"].endswith("Z")


def test_a_mirrored_model_summary_names_its_source(
    client_for: Any, owner: Any, catalogue: dict[str, Model]
) -> None:
    body = client_for(owner).get(SEARCH, {"kind": "mirrored-model"}).json()
    assert [m["sourceModelId"] for m in body["models"]] == ["fraud-scorer-abc123"]


def test_private_entries_are_not_found_by_people_without_a_role(
    client_for: Any, outsider: Any, entry: Model, public_entry: Model
) -> None:
    client = client_for(outsider)
    assert names(client.get(SEARCH)) == ["Public model"]
    assert names(client.get(SEARCH, {"search": "Private model"})) == []
    assert names(client.get(SEARCH, {"search": "A model for tests"})) == ["Public model"]


def test_a_token_of_an_outsider_does_not_find_private_entries_either(
    client_for: Any, outsider: Any, make_token: Any, entry: Model
) -> None:
    token, secret = make_token(outsider, actions=["model:read"])
    response = client_for(None).get(SEARCH, **basic(token.access_key, secret))
    assert names(response) == []


def test_collaborators_find_the_private_entries_they_hold_a_role_on(
    client_for: Any, reviewer: Any, entry: Model
) -> None:
    assert names(client_for(reviewer).get(SEARCH, {"search": "Private"})) == ["Private model"]


def test_a_site_admin_finds_private_entries(client_for: Any, site_admin: Any, entry: Model) -> None:
    client = client_for(site_admin)
    assert names(client.get(SEARCH)) == ["Private model"]
    assert names(client.get(SEARCH, {"adminAccess": "true"})) == ["Private model"]


def test_admin_access_is_refused_to_people_who_are_not_administrators(
    client_for: Any, owner: Any, entry: Model
) -> None:
    message = error_of(client_for(owner).get(SEARCH, {"adminAccess": "true"}), 403)
    assert "administrators" in message


def test_a_token_without_model_read_may_not_search(
    client_for: Any, owner: Any, make_token: Any, entry: Model
) -> None:
    token, secret = make_token(owner, actions=["file:read"])
    response = client_for(None).get(SEARCH, **basic(token.access_key, secret))
    assert "model:read" in error_of(response, 403)


def test_a_token_limited_to_chosen_models_finds_only_those(
    client_for: Any, owner: Any, make_token: Any, catalogue: dict[str, Model]
) -> None:
    token, secret = make_token(owner, actions=["model:read"], scope="models")
    token.scoped_models.add(catalogue["speech"])
    response = client_for(None).get(SEARCH, **basic(token.access_key, secret))
    assert names(response) == ["Speech transcriber"]


# --- search and filters -------------------------------------------------------------------------


def test_search_matches_names_and_full_text_unless_title_only(
    client_for: Any, owner: Any, catalogue: dict[str, Model]
) -> None:
    client = client_for(owner)
    assert names(client.get(SEARCH, {"search": "TRANSCRIBER"})) == ["Speech transcriber"]
    assert names(client.get(SEARCH, {"search": "gradient boosted"})) == [
        "Satellite vision classifier"
    ]
    assert names(client.get(SEARCH, {"search": "gradient boosted", "titleOnly": "true"})) == []


def test_name_matches_come_before_full_text_matches(client_for: Any, owner: Any) -> None:
    entry(owner, "Kestrel tracker", description="Follows birds.")
    entry(owner, "Bird counter", description="Works beside the kestrel tracker.")
    Model.objects.filter(name="Bird counter").update(description="Works beside the kestrel.")
    assert names(client_for(owner).get(SEARCH, {"search": "kestrel"})) == [
        "Kestrel tracker",
        "Bird counter",
    ]


def test_kind_filters_by_entry_kind(
    client_for: Any, owner: Any, catalogue: dict[str, Model]
) -> None:
    client = client_for(owner)
    assert names(client.get(SEARCH, {"kind": "data-card"})) == ["Harbour images"]
    both = client.get(SEARCH + "?kind=model&kind=mirrored-model")
    assert sorted(names(both)) == [
        "Mirrored fraud scorer",
        "Satellite vision classifier",
        "Speech transcriber",
    ]


@pytest.mark.parametrize("key", ["organisations", "organisations[]"])
def test_organisations_filter_accepts_both_spellings(
    client_for: Any, owner: Any, catalogue: dict[str, Model], key: str
) -> None:
    assert names(client_for(owner).get(SEARCH, {key: "Other Agency"})) == ["Speech transcriber"]


@pytest.mark.parametrize("key", ["states", "states[]"])
def test_states_filter_accepts_both_spellings(
    client_for: Any, owner: Any, catalogue: dict[str, Model], key: str
) -> None:
    response = client_for(owner).get(SEARCH, {key: ["Production", "Review"]})
    assert names(response) == ["Satellite vision classifier"]


def test_libraries_and_task_filter_by_tags_which_must_all_be_present(
    client_for: Any, owner: Any, catalogue: dict[str, Model]
) -> None:
    client = client_for(owner)
    assert sorted(names(client.get(SEARCH, {"libraries": "vision"}))) == [
        "Harbour images",
        "Satellite vision classifier",
    ]
    response = client.get(SEARCH, {"libraries": "vision", "task": "maritime"})
    assert names(response) == ["Satellite vision classifier"]


@pytest.mark.parametrize("key", ["filters", "filters[]"])
def test_role_filters_keep_entries_where_the_caller_holds_the_role(
    client_for: Any, consumer: Any, entry: Model, public_entry: Model, owner: Any, key: str
) -> None:
    entry_of_someone_else = model_create(
        actor=Actor(user=owner), name="Owner only", description="Nobody else."
    )
    client = client_for(consumer)
    assert entry_of_someone_else.name in names(client.get(SEARCH))
    assert sorted(names(client.get(SEARCH, {key: "mine"}))) == ["Private model", "Public model"]
    assert sorted(names(client.get(SEARCH, {key: "consumer"}))) == [
        "Private model",
        "Public model",
    ]
    assert names(client.get(SEARCH, {key: "owner"})) == []


def test_review_role_names_are_accepted_as_filters(
    client_for: Any, reviewer: Any, entry: Model
) -> None:
    assert names(client_for(reviewer).get(SEARCH, {"filters": "msro"})) == ["Private model"]


def test_filters_combine(client_for: Any, owner: Any, catalogue: dict[str, Model]) -> None:
    client = client_for(owner)
    response = client.get(
        SEARCH,
        {"search": "satellite", "kind": "model", "states": "Production", "filters": "owner"},
    )
    assert names(response) == ["Satellite vision classifier"]
    assert names(client.get(SEARCH, {"search": "satellite", "kind": "data-card"})) == []


def test_allow_templating_and_schema_id_narrow_the_results(
    client_for: Any, owner: Any, catalogue: dict[str, Model]
) -> None:
    from models_app.services import card_from_schema

    Model.objects.filter(pk=catalogue["speech"].pk).update(allow_templating=True)
    card_from_schema(
        actor=Actor(user=owner), model=catalogue["vision"], schema_id="minimal-general-v10"
    )
    client = client_for(owner)
    assert names(client.get(SEARCH, {"allowTemplating": "true"})) == ["Speech transcriber"]
    assert names(client.get(SEARCH, {"schemaId": "minimal-general-v10"})) == [
        "Satellite vision classifier"
    ]


def test_results_are_paginated_with_the_total(client_for: Any, owner: Any) -> None:
    for n in range(7):
        entry(owner, f"Paged model {n}")
    client = client_for(owner)
    first = client.get(SEARCH, {"pageSize": "5"}).json()
    second = client.get(SEARCH, {"pageSize": "5", "page": "2"}).json()
    assert first["totalEntries"] == second["totalEntries"] == 7
    assert len(first["models"]) == 5 and len(second["models"]) == 2
    assert {m["id"] for m in first["models"]}.isdisjoint(m["id"] for m in second["models"])


def test_peers_are_answered_with_an_error_since_federation_is_off(
    client_for: Any, owner: Any
) -> None:
    body = client_for(owner).get(SEARCH, {"peers": "other-bailo"}).json()
    assert body["errors"]["other-bailo"]["message"] == "Federated search is not enabled"


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"page": "abc"}, "page must be a whole number"),
        ({"page": "-1"}, "page must be a whole number of 1 or more"),
        ({"pageSize": "0"}, "pageSize must be a whole number from 1 to 500"),
        ({"pageSize": "100000"}, "pageSize must be a whole number from 1 to 500"),
        ({"kind": "robot"}, "Unknown kind 'robot'"),
        ({"filters": "emperor"}, "Unknown role filter 'emperor'"),
        ({"search": "ab"}, "at least 3 characters"),
        ({"search": "x" * 201}, "too long"),
        ({"titleOnly": "maybe"}, "titleOnly must be true or false"),
        ({"allowTemplating": "yes please"}, "allowTemplating must be true or false"),
        ({"search": "abc\x00def"}, "must not contain NUL"),
        ({"states": "Review\x00"}, "must not contain NUL"),
        ({"schemaId": "minimal\x00"}, "must not contain NUL"),
        ({"page": "9" * 5000}, "page must be a whole number"),
    ],
)
def test_bad_input_is_a_400_in_bailos_error_shape(
    client_for: Any, owner: Any, params: dict[str, str], message: str
) -> None:
    assert message in error_of(client_for(owner).get(SEARCH, params), 400)


def test_too_many_filter_values_are_refused(client_for: Any, owner: Any) -> None:
    query = "&".join(f"states=s{n}" for n in range(51))
    assert "At most 50" in error_of(client_for(owner).get(f"{SEARCH}?{query}"), 400)


def test_search_text_with_query_syntax_is_taken_literally(
    client_for: Any, owner: Any, catalogue: dict[str, Model]
) -> None:
    for text in ["a & b | !c", "(((", "100%_off", "'; DROP TABLE x; --", '"unclosed']:
        response = client_for(owner).get(SEARCH, {"search": text})
        assert response.status_code == 200, (text, response.content)


# --- popular tags -------------------------------------------------------------------------------


def test_popular_tags_are_the_ten_most_used_on_visible_entries(
    client_for: Any, owner: Any, outsider: Any, make_entry: Any
) -> None:
    for n in range(12):
        entry(owner, f"Tagged {n}", tags=[f"t{m:02d}" for m in range(n + 1)])
    make_entry("Hidden", tags=["secret-tag"] * 1)
    tags = client_for(owner).get(TAGS).json()["tags"]
    assert tags == [f"t{m:02d}" for m in range(10)]
    assert "secret-tag" not in client_for(outsider).get(TAGS).json()["tags"]


# --- query counts -------------------------------------------------------------------------------


def test_the_number_of_queries_does_not_depend_on_the_number_of_results(
    client_for: Any, make_entry: Any, consumer: Any
) -> None:
    client = client_for(consumer)

    def count() -> int:
        client.get(SEARCH)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(SEARCH, {"search": "batch"})
        assert response.status_code == 200
        return len(captured.captured_queries)

    for n in range(5):
        make_entry(f"Batch model {n}", tags=["a"])
    with_five = count()
    for n in range(5, 25):
        make_entry(f"Batch model {n}", tags=["a", "b"])
    assert count() == with_five
    assert len(client.get(SEARCH, {"search": "batch"}).json()["models"]) == 25


# --- the selector and the index -----------------------------------------------------------------


def test_the_queried_document_is_exactly_the_indexed_expression() -> None:
    migration = importlib.import_module("models_app.migrations.0003_model_fulltext_index")
    assert FTS_DOCUMENT_SQL.format(name="name", description="description") == migration.DOCUMENT
    assert migration.FTS_INDEX == FTS_INDEX_NAME
    qs = Model.objects.annotate(document=EntryDocument())
    compiler = qs.query.get_compiler(using="default")
    sql, _ = EntryDocument().resolve_expression(qs.query).as_sql(compiler, connection)
    table = '"models_app_model"'
    assert sql == FTS_DOCUMENT_SQL.format(
        name=f'{table}."name"', description=f'{table}."description"'
    )


def test_model_search_returns_the_page_and_the_total(owner: Any) -> None:
    entry(owner, "Counted model", description="Words about lighthouses.")
    page = model_search(actor=Actor(user=owner), text="lighthouses")
    assert page.total == 1 and [e.name for e in page.entries] == ["Counted model"]


@pytest.fixture
def postgres_only() -> Iterator[None]:
    if connection.vendor != "postgresql":
        pytest.skip("the full-text index exists on PostgreSQL only")
    yield


@pytest.mark.usefixtures("postgres_only")
def test_postgresql_has_the_full_text_and_trigram_indexes() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'models_app_model' "
            "AND indexname IN ('models_app_model_fts', 'models_app_model_name_trgm')"
        )
        found = {row[0] for row in cursor.fetchall()}
    assert found == {"models_app_model_fts", "models_app_model_name_trgm"}


@pytest.mark.usefixtures("postgres_only")
def test_postgresql_plans_both_halves_of_a_search_on_their_indexes(owner: Any) -> None:
    with connection.cursor() as cursor:
        # Enough rows that an index beats walking the table, written in one statement.
        cursor.execute(
            "INSERT INTO models_app_model (id, name, description, kind, visibility, organisation,"
            " state, ungoverned_access, allow_templating, mirror_source_model_id,"
            " mirror_destination_model_id, created_at, updated_at)"
            " SELECT 'filler-' || n, 'Filler ' || n, 'Nothing to see.', 'model', 'public', '',"
            " '', false, false, '', '', now(), now() FROM generate_series(1, 2000) AS n"
        )
    entry(owner, "Lighthouse keeper", description="Keeps lights.")
    entry(owner, "Harbour guide", description="Guides ships past lighthouses.")
    spec = search_spec(text="lighthouse")
    qs = model_search_queryset(actor=Actor(user=owner), spec=spec)
    with connection.cursor() as cursor:
        # New GIN entries wait in a pending list until a vacuum; the planner prices that list
        # high, so move it into the indexes as a vacuum would, then refresh the statistics.
        cursor.execute("SELECT gin_clean_pending_list('models_app_model_fts'::regclass)")
        cursor.execute("SELECT gin_clean_pending_list('models_app_model_name_trgm'::regclass)")
        cursor.execute("ANALYZE models_app_model")
        # Small tables are cheaper to scan; forbidding plain scans shows the indexes serve the
        # query, which the GIN index can only do if the query repeats its expression exactly.
        cursor.execute("SET enable_seqscan = off")
        try:
            plan = qs.explain()
        finally:
            cursor.execute("SET enable_seqscan = on")
    assert "Bitmap Index Scan on models_app_model_fts" in plan, plan
    assert "Bitmap Index Scan on models_app_model_name_trgm" in plan, plan
    assert [e.name for e in model_search(actor=Actor(user=owner), text="lighthouse").entries] == [
        "Lighthouse keeper",
        "Harbour guide",
    ]


@pytest.mark.usefixtures("postgres_only")
def test_postgresql_full_text_search_matches_word_forms(owner: Any) -> None:
    entry(owner, "Plain model", description="It classifies lighthouses.")
    assert [e.name for e in model_search(actor=Actor(user=owner), text="lighthouse").entries] == [
        "Plain model"
    ]
    assert [e.name for e in model_search(actor=Actor(user=owner), text="classifying").entries] == [
        "Plain model"
    ]


# --- the official client ------------------------------------------------------------------------


@pytest.fixture
def dev_client(live_server: Any, settings: Any) -> Iterator[Any]:
    from bailo import Client
    from bailo.core.agent import Agent

    settings.BAILO_AUTH_MODE = "dev"
    agent = Agent()
    yield Client(live_server.url, agent)
    # Closing kept-alive sockets lets the server threads release their database connections.
    agent.session.close()


@pytest.mark.django_db(transaction=True)
def test_the_official_client_searches_models_and_data_cards(
    dev_client: Any, owner: Any, catalogue: dict[str, Model]
) -> None:
    from bailo import Datacard
    from bailo import Model as ClientModel

    found = ClientModel.search(dev_client, search="satellite")
    assert [m.model_id for m in found] == [catalogue["vision"].pk]
    (model,) = found
    assert model.name == "Satellite vision classifier"
    assert model.tags == ["vision", "maritime"]
    assert model.organisation == "Example Organisation"
    assert model.state == "Production"
    assert model.collaborators == [{"entity": "user:owen", "roles": ["owner"]}]
    filtered = ClientModel.search(
        dev_client, states=["Development"], organisations=["Other Agency"]
    )
    assert [m.name for m in filtered] == ["Speech transcriber"]
    assert ClientModel.search(dev_client, search="gradient boosted", title_only=True) == []
    cards = Datacard.search(dev_client)
    assert [c.name for c in cards] == ["Harbour images"]
    assert dev_client.get_model_tags()["tags"][0] == "vision"


# --- the two ways a text search decides visibility agree ----------------------------------------


def test_a_text_search_finds_the_same_through_a_session_as_through_a_token(
    client_for: Any,
    make_token: Any,
    make_entry: Any,
    owner: Any,
    consumer: Any,
    outsider: Any,
    site_admin: Any,
) -> None:
    # A session is decided on each match's own row (visible_split); a token looks each match up
    # by key through visible_to. Both must find the same entries in the same order.
    make_entry("Heron private", description="Wades in heron water.")
    make_entry("Quiet private", description="Mentions a heron once.", visibility="private")
    entry(owner, "Heron public", description="Open to all.")
    entry(owner, "Plain public", description="A heron in the text only.")
    deleted = entry(owner, "Heron gone", description="Deleted.")
    Model.objects.filter(pk=deleted.pk).update(deleted_at="2026-01-01T00:00:00Z")
    for person in (consumer, outsider, site_admin):
        token, secret = make_token(person, actions=["model:read"])
        for params in ({"search": "heron"}, {"search": "heron", "pageSize": "1", "page": "2"}):
            by_session = names(client_for(person).get(SEARCH, params))
            by_token = names(
                client_for(None).get(SEARCH, params, **basic(token.access_key, secret))
            )
            assert by_session == by_token, (person.username, params)
    everyone = names(client_for(consumer).get(SEARCH, {"search": "heron"}))
    # Name matches first, newest first; then the full-text-only matches, by relevance.
    assert everyone[:2] == ["Heron public", "Heron private"]
    assert sorted(everyone[2:]) == ["Plain public", "Quiet private"]
    assert names(client_for(outsider).get(SEARCH, {"search": "heron"})) == [
        "Heron public",
        "Plain public",
    ]


@pytest.mark.usefixtures("postgres_only")
def test_postgresql_a_text_search_reads_its_matches_not_every_entry(owner: Any) -> None:
    from models_app.search import _TextMatches

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO models_app_model (id, name, description, kind, visibility, organisation,"
            " state, ungoverned_access, allow_templating, mirror_source_model_id,"
            " mirror_destination_model_id, created_at, updated_at)"
            " SELECT 'filler-' || n, 'Filler ' || n, 'Nothing to see.', 'model', 'public', '',"
            " '', false, false, '', '', now(), now() FROM generate_series(1, 2000) AS n"
        )
    entry(owner, "Lighthouse keeper", description="Keeps lights.")
    matches = _TextMatches.of(Actor(user=owner), search_spec(text="lighthouse"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT gin_clean_pending_list('models_app_model_fts'::regclass)")
        cursor.execute("SELECT gin_clean_pending_list('models_app_model_name_trgm'::regclass)")
        cursor.execute("ANALYZE models_app_model")
        cursor.execute("SET enable_seqscan = off")
        try:
            cursor.execute("EXPLAIN " + matches.sql + "SELECT count(*) FROM u", matches.params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("SET enable_seqscan = on")
    assert "Bitmap Index Scan on models_app_model_fts" in plan, plan
    assert "Bitmap Index Scan on models_app_model_name_trgm" in plan, plan
    # Visibility is decided on the matches: no join against the entries table.
    assert "Join" not in plan, plan
