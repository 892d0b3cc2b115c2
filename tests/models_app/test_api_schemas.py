"""The v2 schemas and schema-migrations API: anyone signed in reads, administrators write."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from models_app.models import Schema, SchemaMigration
from models_app.policy import Actor
from models_app.services import card_from_schema
from tests.conftest import basic

pytestmark = pytest.mark.django_db

BAILO_IDS = {"minimal-general-v10", "minimal-data-card-v10", "minimal-access-request-general-v10"}
OWN_IDS = {"extended-general-v1", "extended-data-card-v1", "extended-access-request-v1"}
DEFAULT_IDS = BAILO_IDS | OWN_IDS
SIMPLE_SCHEMA = {
    "type": "object",
    "properties": {"overview": {"type": "object", "properties": {"name": {"type": "string"}}}},
}


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["message"]
    return body["error"]


def send(client: Client, method: str, path: str, body: Any = None, **extra: Any) -> Any:
    data = json.dumps(body) if body is not None else ""
    return getattr(client, method.lower())(
        f"/api/v2{path}", data=data, content_type="application/json", **extra
    )


def new_schema(**overrides: Any) -> dict[str, Any]:
    body = {
        "id": "team-card-v1",
        "name": "Team card",
        "description": "Our own card",
        "kind": "model",
        "jsonSchema": SIMPLE_SCHEMA,
        "reviewRoles": ["msro"],
    }
    body.update(overrides)
    return body


@pytest.fixture
def hidden_schema() -> Schema:
    return Schema.objects.create(
        id="old-card-v1", name="Old", kind="model", json_schema=SIMPLE_SCHEMA, hidden=True
    )


# --- reading -------------------------------------------------------------------------------------


def test_everyone_signed_in_lists_schemas_including_hidden_ones_by_default(
    client_for: Any, outsider: Any, hidden_schema: Schema
) -> None:
    schemas = client_for(outsider).get("/api/v2/schemas").json()["schemas"]
    assert {s["id"] for s in schemas} == DEFAULT_IDS | {"old-card-v1"}
    general = next(s for s in schemas if s["id"] == "minimal-general-v10")
    assert general["kind"] == "model"
    assert general["reviewRoles"] == ["msro", "mtr"]
    assert general["jsonSchema"]["type"] == "object"
    assert (general["active"], general["hidden"]) == (True, False)


@pytest.mark.parametrize(
    "query,expected",
    [
        ("?kind=model", {"minimal-general-v10", "extended-general-v1", "old-card-v1"}),
        ("?kind=dataCard", {"minimal-data-card-v10", "extended-data-card-v1"}),
        ("?hidden=false", DEFAULT_IDS),
        ("?hidden=true", {"old-card-v1"}),
        ("?kind=model&hidden=false", {"minimal-general-v10", "extended-general-v1"}),
    ],
)
def test_schemas_filter_by_kind_and_hidden(
    client_for: Any, outsider: Any, hidden_schema: Schema, query: str, expected: set[str]
) -> None:
    schemas = client_for(outsider).get(f"/api/v2/schemas{query}").json()["schemas"]
    assert {s["id"] for s in schemas} == expected


@pytest.mark.parametrize("query", ["?kind=spaceship", "?hidden=yes"])
def test_bad_schema_filters_are_refused(client_for: Any, outsider: Any, query: str) -> None:
    error_of(client_for(outsider).get(f"/api/v2/schemas{query}"), 400)


def test_one_schema_is_read_by_id(client_for: Any, outsider: Any) -> None:
    schema = client_for(outsider).get("/api/v2/schema/minimal-data-card-v10").json()["schema"]
    assert schema["id"] == "minimal-data-card-v10"
    assert schema["kind"] == "dataCard"


def test_an_unknown_schema_is_not_found(client_for: Any, outsider: Any) -> None:
    error = error_of(client_for(outsider).get("/api/v2/schema/nope-v1"), 404)
    assert error["context"] == {"schemaId": "nope-v1"}


def test_anonymous_callers_cannot_read_schemas() -> None:
    error_of(Client().get("/api/v2/schemas"), 401)


# --- writing -------------------------------------------------------------------------------------


def test_an_administrator_uploads_a_schema(client_for: Any, site_admin: Any) -> None:
    response = send(client_for(site_admin), "POST", "/schemas", new_schema())
    assert response.status_code == 200, response.content
    schema = response.json()["schema"]
    assert schema["id"] == "team-card-v1"
    assert schema["jsonSchema"] == SIMPLE_SCHEMA
    assert schema["reviewRoles"] == ["msro"]
    assert Schema.objects.filter(pk="team-card-v1").exists()


def test_only_administrators_upload_schemas(client_for: Any, owner: Any) -> None:
    before = Schema.objects.count()
    error = error_of(send(client_for(owner), "POST", "/schemas", new_schema()), 403)
    assert "administrators" in error["message"]
    assert Schema.objects.count() == before


def test_an_invalid_json_schema_is_refused_and_nothing_is_stored(
    client_for: Any, site_admin: Any
) -> None:
    before = Schema.objects.count()
    body = new_schema(jsonSchema={"type": "object", "properties": {"a": {"type": "colour"}}})
    error = error_of(send(client_for(site_admin), "POST", "/schemas", body), 400)
    assert "not a valid JSON Schema" in error["message"]
    assert error["context"]["validationErrors"][0]["property"]
    assert Schema.objects.count() == before


@pytest.mark.parametrize(
    "overrides,status,message",
    [
        ({"jsonSchema": "not an object"}, 400, "jsonSchema must be a JSON object"),
        ({"jsonSchema": {"type": "array"}}, 400, "type: object"),
        ({"kind": "spaceship"}, 400, "kind must be one of"),
        ({"reviewRoles": ["no boss!"]}, 400, "Review role short names"),
        ({"reviewRoles": "msro"}, 400, "must be a list"),
        ({"id": ""}, 400, "id is required"),
        ({"id": "minimal-general-v10"}, 409, "already exists"),
    ],
)
def test_bad_schema_uploads_are_refused_and_nothing_is_stored(
    client_for: Any, site_admin: Any, overrides: dict[str, Any], status: int, message: str
) -> None:
    before = Schema.objects.count()
    response = send(client_for(site_admin), "POST", "/schemas", new_schema(**overrides))
    assert message in error_of(response, status)["message"]
    assert Schema.objects.count() == before


def test_an_administrator_hides_and_deactivates_a_schema(client_for: Any, site_admin: Any) -> None:
    response = send(
        client_for(site_admin),
        "PATCH",
        "/schema/minimal-general-v10",
        {"hidden": True, "active": False},
    )
    assert response.status_code == 200, response.content
    assert (response.json()["schema"]["hidden"], response.json()["schema"]["active"]) == (
        True,
        False,
    )


def test_others_cannot_change_a_schema(client_for: Any, owner: Any) -> None:
    error_of(send(client_for(owner), "PATCH", "/schema/minimal-general-v10", {"hidden": True}), 403)
    assert Schema.objects.get(pk="minimal-general-v10").hidden is False


def test_read_only_schema_fields_cannot_be_patched(client_for: Any, site_admin: Any) -> None:
    response = send(client_for(site_admin), "PATCH", "/schema/minimal-general-v10", {"kind": "x"})
    assert "kind" in error_of(response, 400)["message"]


def test_an_unused_schema_is_deleted(
    client_for: Any, site_admin: Any, hidden_schema: Schema
) -> None:
    response = client_for(site_admin).delete("/api/v2/schema/old-card-v1")
    assert response.status_code == 200
    assert response.json() == {"deleted": True}
    assert not Schema.objects.filter(pk="old-card-v1").exists()


def test_a_schema_in_use_is_a_conflict_and_stays(
    client_for: Any, site_admin: Any, owner: Any, entry: Any
) -> None:
    card_from_schema(actor=Actor(user=owner), model=entry, schema_id="minimal-general-v10")
    response = client_for(site_admin).delete("/api/v2/schema/minimal-general-v10")
    assert "hide it" in error_of(response, 409)["message"]
    assert Schema.objects.filter(pk="minimal-general-v10").exists()


def test_others_cannot_delete_a_schema(client_for: Any, owner: Any, hidden_schema: Schema) -> None:
    error_of(client_for(owner).delete("/api/v2/schema/old-card-v1"), 403)
    assert Schema.objects.filter(pk="old-card-v1").exists()


def test_a_token_without_schema_write_cannot_upload_even_for_an_administrator(
    make_token: Any, site_admin: Any
) -> None:
    token, secret = make_token(site_admin, actions=["model:read", "model:write"])
    response = send(Client(), "POST", "/schemas", new_schema(), **basic(token.access_key, secret))
    assert "schema:write" in error_of(response, 403)["message"]
    assert not Schema.objects.filter(pk="team-card-v1").exists()


# --- schema migrations ---------------------------------------------------------------------------


@pytest.fixture
def target_schema() -> Schema:
    return Schema.objects.create(
        id="general-v11", name="v11", kind="model", json_schema=SIMPLE_SCHEMA
    )


def plan(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "General to v11",
        "description": "Moves the summary",
        "sourceSchema": "minimal-general-v10",
        "targetSchema": "general-v11",
        "questionMigrations": [
            {
                "id": "q1",
                "kind": "move",
                "sourcePath": "overview.modelSummary",
                "targetPath": "overview.name",
                "propertyType": "string",
            }
        ],
    }
    body.update(overrides)
    return body


def test_an_administrator_creates_reads_and_replaces_a_migration_plan(
    client_for: Any, site_admin: Any, outsider: Any, target_schema: Schema
) -> None:
    admin = client_for(site_admin)
    created = send(admin, "POST", "/schema-migration", plan())
    assert created.status_code == 200, created.content
    migration = created.json()["schemaMigration"]
    assert migration["id"].startswith("general-to-v11-")
    assert (migration["sourceSchema"], migration["targetSchema"]) == (
        "minimal-general-v10",
        "general-v11",
    )
    assert migration["draft"] is False
    assert migration["questionMigrations"][0]["targetPath"] == "overview.name"

    reader = client_for(outsider)
    listed = reader.get("/api/v2/schema-migrations?sourceSchema=minimal-general-v10").json()
    assert [m["id"] for m in listed["schemaMigrations"]] == [migration["id"]]
    assert reader.get("/api/v2/schema-migrations?sourceSchema=general-v11").json() == {
        "schemaMigrations": []
    }
    one = reader.get(f"/api/v2/schema-migration/{migration['id']}").json()["schemaMigration"]
    assert one == migration

    replaced = send(
        admin, "PUT", f"/schema-migration/{migration['id']}", {"name": "Renamed", "draft": True}
    )
    assert replaced.status_code == 200, replaced.content
    assert replaced.json()["schemaMigration"]["name"] == "Renamed"
    assert replaced.json()["schemaMigration"]["draft"] is True
    assert (
        replaced.json()["schemaMigration"]["questionMigrations"] == migration["questionMigrations"]
    )


def test_only_administrators_create_or_change_migration_plans(
    client_for: Any, owner: Any, site_admin: Any, target_schema: Schema
) -> None:
    error_of(send(client_for(owner), "POST", "/schema-migration", plan()), 403)
    assert not SchemaMigration.objects.exists()
    created = send(client_for(site_admin), "POST", "/schema-migration", plan()).json()
    migration_id = created["schemaMigration"]["id"]
    error_of(
        send(client_for(owner), "PUT", f"/schema-migration/{migration_id}", {"name": "Mine"}), 403
    )
    assert SchemaMigration.objects.get(pk=migration_id).name == "General to v11"


@pytest.mark.parametrize(
    "overrides,status",
    [
        ({"questionMigrations": [{"kind": "move", "sourcePath": "a"}]}, 400),
        ({"questionMigrations": "all"}, 400),
        ({"targetSchema": "minimal-general-v10"}, 400),
        ({"targetSchema": "minimal-data-card-v10"}, 400),
        ({"targetSchema": "nope-v1"}, 404),
        ({"name": ""}, 400),
        ({"draft": "yes"}, 400),
    ],
)
def test_bad_migration_plans_are_refused_and_nothing_is_stored(
    client_for: Any, site_admin: Any, target_schema: Schema, overrides: dict[str, Any], status: int
) -> None:
    error_of(send(client_for(site_admin), "POST", "/schema-migration", plan(**overrides)), status)
    assert not SchemaMigration.objects.exists()


def test_an_unknown_migration_plan_is_not_found(client_for: Any, site_admin: Any) -> None:
    error_of(client_for(site_admin).get("/api/v2/schema-migration/nope-000000"), 404)
    error_of(
        send(client_for(site_admin), "PUT", "/schema-migration/nope-000000", {"name": "x"}), 404
    )
