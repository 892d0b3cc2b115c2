"""The administrators' pages for schemas, schema migration plans and review roles."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from models_app.models import Schema, SchemaMigration
from models_app.policy import Actor
from models_app.services import card_from_schema, schema_create

pytestmark = pytest.mark.django_db

SIMPLE_SCHEMA = {
    "type": "object",
    "properties": {
        "overview": {
            "type": "object",
            "title": "Overview",
            "properties": {
                "summary": {"type": "string", "title": "Summary"},
                "owner": {"type": "string", "title": "Owner"},
            },
        },
        "notes": {"type": "string", "title": "Notes"},
    },
}
TARGET_SCHEMA = {
    "type": "object",
    "properties": {
        "about": {
            "type": "object",
            "title": "About",
            "properties": {"description": {"type": "string", "title": "Description"}},
        },
        "notes": {"type": "string", "title": "Notes"},
    },
}

PAGES = [
    "/administration/",
    "/administration/schemas/new",
    "/administration/schemas/minimal-general-v10",
    "/administration/schemas/minimal-general-v10/usage",
    "/administration/migrations",
    "/administration/migrations/new",
    "/administration/review-roles",
]
POSTS = [
    "/administration/schemas/new",
    "/administration/schemas/minimal-general-v10/update",
    "/administration/schemas/minimal-general-v10/delete",
    "/administration/migrations/new",
]


def make_schema(admin: User, schema_id: str, body: dict[str, Any] | None = None) -> Schema:
    return schema_create(
        actor=Actor(user=admin),
        schema_id=schema_id,
        name=schema_id.replace("-", " ").title(),
        kind="model",
        json_schema=body or SIMPLE_SCHEMA,
    )


# --- who may come in --------------------------------------------------------------------------


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(url: str) -> None:
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("url", PAGES)
def test_people_who_are_not_administrators_are_refused_every_page(
    client_for: Any, owner: User, url: str
) -> None:
    response = client_for(owner).get(url)
    assert response.status_code == 403
    assert "Only administrators" in response.content.decode()


@pytest.mark.parametrize("url", POSTS)
def test_people_who_are_not_administrators_cannot_change_anything(
    client_for: Any, outsider: User, url: str
) -> None:
    before = Schema.objects.filter(pk="minimal-general-v10").values().get()
    response = client_for(outsider).post(
        url, {"active": "false", "id": "x", "name": "x", "kind": "model", "json_text": "{}"}
    )
    assert response.status_code == 403
    assert Schema.objects.filter(pk="minimal-general-v10").values().get() == before
    assert not Schema.objects.filter(pk="x").exists()


@pytest.mark.parametrize("url", PAGES)
def test_administrators_see_every_page(client_for: Any, site_admin: User, url: str) -> None:
    assert client_for(site_admin).get(url).status_code == 200


def test_the_administration_page_links_to_the_django_admin(
    client_for: Any, site_admin: User
) -> None:
    page = client_for(site_admin).get("/administration/").content.decode()
    assert 'href="/admin/"' in page
    assert 'aria-current="page">Schemas' in page


# --- listing schemas --------------------------------------------------------------------------


def test_the_schema_list_shows_each_schema_with_its_usage(
    client_for: Any, site_admin: User, owner: User, make_entry: Any
) -> None:
    first = make_entry("First")
    second = make_entry("Second")
    make_entry("No card yet")
    for model in (first, second):
        card_from_schema(actor=Actor(user=owner), model=model, schema_id="minimal-general-v10")
    response = client_for(site_admin).get("/administration/")
    rows = {row["schema"].id: row["usage"] for row in response.context["rows"]}
    assert rows["minimal-general-v10"] == 2
    assert rows["minimal-data-card-v10"] == 0
    assert "2 entries" in response.content.decode()


def test_the_schema_list_takes_the_same_number_of_queries_however_many_schemas(
    client_for: Any, site_admin: User
) -> None:
    client = client_for(site_admin)
    client.get("/administration/")
    with CaptureQueriesContext(connection) as few:
        client.get("/administration/")
    for n in range(5):
        make_schema(site_admin, f"extra-schema-{n}")
    with CaptureQueriesContext(connection) as many:
        response = client.get("/administration/")
    assert len(response.context["rows"]) == 11
    assert len(many) == len(few)


def test_hidden_schemas_are_listed_for_administrators(client_for: Any, site_admin: User) -> None:
    Schema.objects.filter(pk="minimal-data-card-v10").update(hidden=True)
    page = client_for(site_admin).get("/administration/").content.decode()
    assert "minimal-data-card-v10" in page


# --- uploading --------------------------------------------------------------------------------


def upload(client: Client, follow: bool = False, **fields: Any) -> Any:
    data: dict[str, Any] = {
        "id": "team-model-v1",
        "name": "Team model card",
        "description": "For the team",
        "kind": "model",
        "review_roles": ["msro"],
    }
    data.update(fields)
    return client.post("/administration/schemas/new", data, follow=follow)


def test_an_administrator_uploads_a_schema_from_a_file(client_for: Any, site_admin: User) -> None:
    file = SimpleUploadedFile(
        "schema.json", json.dumps(SIMPLE_SCHEMA).encode(), content_type="application/json"
    )
    response = upload(client_for(site_admin), json_file=file)
    assert response.status_code == 302
    assert response["Location"] == "/administration/schemas/team-model-v1"
    schema = Schema.objects.get(pk="team-model-v1")
    assert schema.json_schema == SIMPLE_SCHEMA
    assert schema.review_roles == ["msro"]
    assert schema.kind == "model" and schema.active and not schema.hidden


def test_an_administrator_uploads_a_schema_by_pasting_it(client_for: Any, site_admin: User) -> None:
    response = upload(client_for(site_admin), json_text=json.dumps(SIMPLE_SCHEMA), follow=True)
    assert response.status_code == 200
    assert "Schema team-model-v1 was created." in response.content.decode()
    assert Schema.objects.get(pk="team-model-v1").json_schema == SIMPLE_SCHEMA


@pytest.mark.parametrize(
    ("fields", "message", "field_id"),
    [
        ({"json_text": "{not json"}, "jsonSchema is not valid JSON", "id_json_text"),
        ({"json_text": ""}, "jsonSchema is required", "id_json_text"),
        (
            {"json_text": json.dumps({"type": "object", "properties": {"a": {"type": 5}}})},
            "jsonSchema is not a valid JSON Schema",
            "id_json_text",
        ),
        ({"json_text": json.dumps({"type": "string"})}, "must describe an object", "id_json_text"),
        ({"json_text": "[]"}, "jsonSchema must be a JSON object", "id_json_text"),
        ({"id": "", "json_text": "{}"}, "id is required", "id_id"),
        ({"id": "has spaces", "json_text": "{}"}, "id may use letters", "id_id"),
        ({"name": "", "json_text": "{}"}, "name is required", "id_name"),
        ({"kind": "spaceship", "json_text": "{}"}, "kind must be one of", "id_kind"),
        ({"review_roles": ["no pe!"], "json_text": "{}"}, "Review role short names", None),
    ],
)
def test_an_invalid_upload_shows_the_error_keeps_the_input_and_stores_nothing(
    client_for: Any,
    site_admin: User,
    fields: dict[str, Any],
    message: str,
    field_id: str | None,
) -> None:
    before = Schema.objects.count()
    response = upload(client_for(site_admin), **fields)
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert 'role="alert"' in page
    if field_id:
        start = page.index(f'id="{field_id}"')
        assert 'aria-invalid="true"' in page[start : page.index(">", start)]
    assert Schema.objects.count() == before
    assert 'value="Team model card"' in page or fields.get("name") == ""


def test_a_file_that_is_not_utf8_is_refused(client_for: Any, site_admin: User) -> None:
    file = SimpleUploadedFile("schema.json", b"\xff\xfe{}", content_type="application/json")
    response = upload(client_for(site_admin), json_file=file)
    assert response.status_code == 400
    assert "UTF-8" in response.content.decode()
    assert not Schema.objects.filter(pk="team-model-v1").exists()


def test_uploading_a_schema_with_an_existing_id_is_a_409_with_a_message(
    client_for: Any, site_admin: User
) -> None:
    response = upload(
        client_for(site_admin), id="minimal-general-v10", json_text=json.dumps(SIMPLE_SCHEMA)
    )
    assert response.status_code == 409
    assert "A schema with id minimal-general-v10 already exists" in response.content.decode()
    assert Schema.objects.get(pk="minimal-general-v10").json_schema != SIMPLE_SCHEMA


def test_the_upload_form_offers_every_review_role(client_for: Any, site_admin: User) -> None:
    page = client_for(site_admin).get("/administration/schemas/new").content.decode()
    assert 'value="msro"' in page and 'value="mtr"' in page


# --- changing and deleting --------------------------------------------------------------------


def test_an_administrator_marks_a_schema_inactive_and_active_again(
    client_for: Any, site_admin: User
) -> None:
    client = client_for(site_admin)
    url = "/administration/schemas/minimal-general-v10/update"
    response = client.post(url, {"active": "false", "return_to": "list"})
    assert response.status_code == 302 and response["Location"] == "/administration/"
    assert Schema.objects.get(pk="minimal-general-v10").active is False
    client.post(url, {"active": "true"})
    assert Schema.objects.get(pk="minimal-general-v10").active is True


def test_an_administrator_hides_and_shows_a_schema(client_for: Any, site_admin: User) -> None:
    client = client_for(site_admin)
    url = "/administration/schemas/minimal-general-v10/update"
    response = client.post(url, {"hidden": "true"})
    assert response["Location"] == "/administration/schemas/minimal-general-v10"
    assert Schema.objects.get(pk="minimal-general-v10").hidden is True
    client.post(url, {"hidden": "false"})
    assert Schema.objects.get(pk="minimal-general-v10").hidden is False


def test_an_administrator_changes_the_review_roles_of_a_schema(
    client_for: Any, site_admin: User
) -> None:
    client = client_for(site_admin)
    url = "/administration/schemas/minimal-general-v10/update"
    client.post(url, {"review_roles_submitted": "1", "review_roles": ["mtr"]})
    assert Schema.objects.get(pk="minimal-general-v10").review_roles == ["mtr"]
    client.post(url, {"review_roles_submitted": "1"})
    assert Schema.objects.get(pk="minimal-general-v10").review_roles == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"active": "maybe"}, "active must be true or false"),
        ({}, "Nothing to change"),
        ({"review_roles_submitted": "1", "review_roles": ["no pe!"]}, "Review role short names"),
    ],
)
def test_a_bad_change_is_shown_on_the_schema_page_and_nothing_changes(
    client_for: Any, site_admin: User, data: dict[str, Any], message: str
) -> None:
    before = Schema.objects.filter(pk="minimal-general-v10").values().get()
    response = client_for(site_admin).post(
        "/administration/schemas/minimal-general-v10/update", data
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Schema.objects.filter(pk="minimal-general-v10").values().get() == before


def test_an_unused_schema_can_be_deleted(client_for: Any, site_admin: User) -> None:
    make_schema(site_admin, "unused-v1")
    response = client_for(site_admin).post("/administration/schemas/unused-v1/delete")
    assert response.status_code == 302
    assert not Schema.objects.filter(pk="unused-v1").exists()


def test_a_schema_in_use_cannot_be_deleted_and_the_page_says_why(
    client_for: Any, site_admin: User, owner: User, entry: Any
) -> None:
    card_from_schema(actor=Actor(user=owner), model=entry, schema_id="minimal-general-v10")
    response = client_for(site_admin).post("/administration/schemas/minimal-general-v10/delete")
    assert response.status_code == 409
    assert "is used by cards" in response.content.decode()
    assert Schema.objects.filter(pk="minimal-general-v10").exists()


def test_an_unknown_schema_is_a_404(client_for: Any, site_admin: User) -> None:
    client = client_for(site_admin)
    assert client.get("/administration/schemas/no-such-schema").status_code == 404
    assert client.post("/administration/schemas/no-such-schema/delete").status_code == 404


def test_changes_need_a_post(client_for: Any, site_admin: User) -> None:
    client = client_for(site_admin)
    assert client.get("/administration/schemas/minimal-general-v10/delete").status_code == 405
    assert client.get("/administration/schemas/minimal-general-v10/update").status_code == 405


def test_the_usage_page_lists_the_entries_whose_current_card_uses_the_schema(
    client_for: Any, site_admin: User, owner: User, make_entry: Any
) -> None:
    used = make_entry("Uses it")
    unused = make_entry("Does not")
    card_from_schema(actor=Actor(user=owner), model=used, schema_id="minimal-general-v10")
    page = client_for(site_admin).get("/administration/schemas/minimal-general-v10/usage")
    text = page.content.decode()
    assert used.id in text and unused.id not in text


# --- migration plans --------------------------------------------------------------------------


@pytest.fixture
def schemas(site_admin: User) -> tuple[Schema, Schema]:
    return make_schema(site_admin, "source-v1"), make_schema(site_admin, "target-v2", TARGET_SCHEMA)


def test_the_plan_form_lists_every_question_of_the_source_with_the_targets_paths(
    client_for: Any, site_admin: User, schemas: Any
) -> None:
    response = client_for(site_admin).get(
        "/administration/migrations/new?source=source-v1&target=target-v2"
    )
    assert response.status_code == 200
    assert {r["path"] for r in response.context["rows"]} == {
        "overview.summary",
        "overview.owner",
        "notes",
    }
    assert set(response.context["target_paths"]) == {"about.description", "notes"}
    page = response.content.decode()
    assert 'name="kind:overview.summary"' in page
    assert '<option value="about.description" >about.description</option>' in page


def plan_form(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Source to target",
        "description": "Moves the summary",
        "source": "source-v1",
        "target": "target-v2",
        "questions_for": "source-v1",
        "kind:overview.summary": "move",
        "target:overview.summary": "about.description",
        "kind:overview.owner": "delete",
        "kind:notes": "keep",
        "status": "draft",
    }
    data.update(fields)
    return data


def test_an_administrator_creates_a_draft_plan(
    client_for: Any, site_admin: User, schemas: Any
) -> None:
    response = client_for(site_admin).post("/administration/migrations/new", plan_form())
    assert response.status_code == 302
    plan = SchemaMigration.objects.get()
    assert response["Location"] == f"/administration/migrations/{plan.id}"
    assert plan.draft is True
    assert plan.source_schema_id == "source-v1" and plan.target_schema_id == "target-v2"
    by_path = {q.pop("sourcePath"): q for q in plan.question_migrations}
    assert {q.pop("id") for q in by_path.values()} == {"q1", "q2"}
    assert by_path == {
        "overview.summary": {
            "kind": "move",
            "targetPath": "about.description",
            "propertyType": "string",
        },
        "overview.owner": {"kind": "delete", "targetPath": None, "propertyType": "string"},
    }


def test_an_administrator_edits_a_plan_and_makes_it_final(
    client_for: Any, site_admin: User, schemas: Any
) -> None:
    client = client_for(site_admin)
    client.post("/administration/migrations/new", plan_form())
    plan = SchemaMigration.objects.get()
    page = client.get(f"/administration/migrations/{plan.id}")
    rows = {r["path"]: (r["kind"], r["target"]) for r in page.context["rows"]}
    assert rows == {
        "overview.summary": ("move", "about.description"),
        "overview.owner": ("delete", ""),
        "notes": ("keep", ""),
    }
    response = client.post(
        f"/administration/migrations/{plan.id}",
        plan_form(**{"kind:overview.owner": "keep"}, status="final"),
    )
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.draft is False
    assert [q["sourcePath"] for q in plan.question_migrations] == ["overview.summary"]
    assert SchemaMigration.objects.count() == 1
    assert "Final" in client.get("/administration/migrations").content.decode()


def test_showing_questions_saves_nothing(client_for: Any, site_admin: User, schemas: Any) -> None:
    response = client_for(site_admin).post(
        "/administration/migrations/new", plan_form(status="", questions_for="")
    )
    assert response.status_code == 200
    assert len(response.context["rows"]) == 3
    assert not SchemaMigration.objects.exists()


def test_saving_after_changing_the_source_schema_asks_to_look_at_its_questions_first(
    client_for: Any, site_admin: User, schemas: Any
) -> None:
    response = client_for(site_admin).post(
        "/administration/migrations/new", plan_form(source="target-v2", target="source-v1")
    )
    assert response.status_code == 200
    assert "The source schema changed" in response.content.decode()
    assert not SchemaMigration.objects.exists()


@pytest.mark.parametrize(
    ("fields", "message", "status"),
    [
        ({"name": ""}, "name is required", 400),
        ({"target:overview.summary": ""}, "Choose where overview.summary moves to", 400),
        ({"kind:overview.summary": "teleport"}, "Choose keep, move or delete", 400),
        ({"target": ""}, "Choose a target schema", 400),
        ({"target": "source-v1"}, "must differ", 400),
        ({"target": "minimal-data-card-v10"}, "within one kind", 400),
    ],
)
def test_an_invalid_plan_is_shown_with_its_error_and_not_saved(
    client_for: Any,
    site_admin: User,
    schemas: Any,
    fields: dict[str, Any],
    message: str,
    status: int,
) -> None:
    response = client_for(site_admin).post("/administration/migrations/new", plan_form(**fields))
    assert response.status_code == status
    assert message in response.content.decode()
    assert not SchemaMigration.objects.exists()


def test_an_unknown_plan_is_a_404(client_for: Any, site_admin: User) -> None:
    assert client_for(site_admin).get("/administration/migrations/nope-abc123").status_code == 404


def test_non_administrators_cannot_edit_a_plan(
    client_for: Any, site_admin: User, outsider: User, schemas: Any
) -> None:
    client_for(site_admin).post("/administration/migrations/new", plan_form())
    plan = SchemaMigration.objects.get()
    client = client_for(outsider)
    assert client.get(f"/administration/migrations/{plan.id}").status_code == 403
    response = client.post(f"/administration/migrations/{plan.id}", plan_form(status="final"))
    assert response.status_code == 403
    plan.refresh_from_db()
    assert plan.draft is True


# --- review roles -----------------------------------------------------------------------------


def test_the_review_roles_tab_lists_the_roles(client_for: Any, site_admin: User) -> None:
    page = client_for(site_admin).get("/administration/review-roles").content.decode()
    assert "Model Senior Responsible Officer" in page and "msro" in page
    assert "Model Technical Reviewer" in page
