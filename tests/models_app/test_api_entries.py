"""The v2 entries and cards API: Bailo's shapes, its refusals, and nothing stored on bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from models_app.models import Collaborator, Model, ModelCardRevision, Schema, SchemaMigration
from models_app.policy import Actor
from models_app.services import card_from_schema, card_update, model_update
from tests.conftest import basic

pytestmark = pytest.mark.django_db

GOOD_CARD = {"overview": {"modelSummary": "Finds cats in pictures."}}


def error_of(response: Any, status: int) -> dict[str, Any]:
    """The ``error`` object of a Bailo-shaped refusal with this status."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def send(client: Client, method: str, path: str, body: Any = None, **extra: Any) -> Any:
    data = json.dumps(body) if body is not None else ""
    return getattr(client, method.lower())(
        f"/api/v2{path}", data=data, content_type="application/json", **extra
    )


def with_card(model: Model, user: Any, metadata: dict[str, Any] | None = None) -> Model:
    card_from_schema(actor=Actor(user=user), model=model, schema_id="minimal-general-v10")
    if metadata is not None:
        card_update(actor=Actor(user=user), model=model, metadata=metadata)
    model.refresh_from_db()
    return model


STATE_RULES_SCHEMA = {
    "type": "object",
    "properties": {
        "overview": {
            "title": "Overview",
            "type": "object",
            "properties": {
                "summary": {
                    "title": "What does the model do?",
                    "type": "string",
                    "requiredByModelStates": ["Review", "Production"],
                },
                "risks": {
                    "title": "Known risks",
                    "type": "string",
                    "requiredByModelStates": ["Production"],
                },
            },
        }
    },
}


def with_state_rules(model: Model, user: Any, metadata: dict[str, Any]) -> Model:
    """A card on a schema whose questions ``Review`` and ``Production`` require."""
    Schema.objects.get_or_create(
        id="state-rules-v1",
        defaults={"name": "State rules", "kind": "model", "json_schema": STATE_RULES_SCHEMA},
    )
    card_from_schema(actor=Actor(user=user), model=model, schema_id="state-rules-v1")
    card_update(actor=Actor(user=user), model=model, metadata=metadata)
    model.refresh_from_db()
    return model


def collaborators(model: Model) -> list[tuple[str, str]]:
    return list(Collaborator.objects.filter(model=model).values_list("entity", "role"))


# --- creating and reading entries ----------------------------------------------------------------


def test_a_signed_in_user_creates_a_model_and_becomes_its_owner(
    client_for: Any, outsider: Any
) -> None:
    response = send(
        client_for(outsider),
        "POST",
        "/models",
        {
            "name": "Cat finder",
            "description": "Finds cats.",
            "kind": "model",
            "visibility": "private",
            "tags": ["Vision"],
            "settings": {"ungovernedAccess": False},
        },
    )
    assert response.status_code == 200, response.content
    model = response.json()["model"]
    assert model["id"].startswith("cat-finder-")
    assert model["name"] == "Cat finder"
    assert model["kind"] == "model"
    assert model["visibility"] == "private"
    assert model["tags"] == ["vision"]
    assert model["collaborators"] == [{"entity": "user:olive", "roles": ["owner"]}]
    assert model["settings"] == {"ungovernedAccess": False, "allowTemplating": False, "mirror": {}}
    assert "card" not in model
    assert Model.objects.filter(pk=model["id"]).exists()


def test_a_model_without_a_name_is_refused_and_nothing_is_stored(
    client_for: Any, outsider: Any
) -> None:
    before = Model.objects.count()
    error = error_of(send(client_for(outsider), "POST", "/models", {"description": "d"}), 400)
    assert error["message"] == "name is required"
    assert Model.objects.count() == before


def test_anonymous_callers_cannot_create_models() -> None:
    error_of(send(Client(), "POST", "/models", {"name": "x", "description": "d"}), 401)
    assert not Model.objects.exists()


def test_collaborators_read_the_entry_with_its_card(
    client_for: Any, consumer: Any, owner: Any, entry: Any
) -> None:
    with_card(entry, owner, GOOD_CARD)
    body = client_for(consumer).get(f"/api/v2/model/{entry.id}").json()["model"]
    assert body["id"] == entry.id
    assert body["card"]["schemaId"] == "minimal-general-v10"
    assert body["card"]["version"] == 2
    assert body["card"]["metadata"] == GOOD_CARD
    assert {"entity": "user:rita", "roles": ["msro"]} in body["collaborators"]


def test_an_outsider_sees_a_public_entry_but_not_a_private_one(
    client_for: Any, outsider: Any, entry: Any, public_entry: Any
) -> None:
    client = client_for(outsider)
    assert client.get(f"/api/v2/model/{public_entry.id}").status_code == 200
    error = error_of(client.get(f"/api/v2/model/{entry.id}"), 404)
    assert entry.id in error["message"]


def test_an_unknown_entry_is_not_found(client_for: Any, site_admin: Any) -> None:
    error_of(client_for(site_admin).get("/api/v2/model/no-such-model-000000"), 404)


def test_an_entry_of_a_kind_asked_for_is_found(client_for: Any, owner: Any, entry: Any) -> None:
    client = client_for(owner)
    assert client.get(f"/api/v2/model/{entry.id}?kind=model").status_code == 200
    both = f"/api/v2/model/{entry.id}?kind=data-card&kind=model"
    assert client.get(both).json()["model"]["id"] == entry.id
    # Kinds Bailo has and this instance does not are valid, and match nothing.
    other = f"/api/v2/model/{entry.id}?kind=untrusted-model&kind=model"
    assert client.get(other).status_code == 200
    error_of(client.get(f"/api/v2/model/{entry.id}?kind=mirrored-data-card"), 404)


def test_an_entry_of_another_kind_than_those_asked_for_is_not_found(
    client_for: Any, owner: Any, entry: Any
) -> None:
    client = client_for(owner)
    path = f"/api/v2/model/{entry.id}?kind=data-card&kind=mirrored-model"
    error = error_of(client.get(path), 404)
    assert entry.id in error["message"]


def test_an_unknown_kind_is_refused(client_for: Any, owner: Any, entry: Any) -> None:
    error = error_of(client_for(owner).get(f"/api/v2/model/{entry.id}?kind=spaceship"), 400)
    assert "spaceship" in error["message"]


def test_a_kind_filter_does_not_reveal_a_private_entry(
    client_for: Any, outsider: Any, entry: Any
) -> None:
    error_of(client_for(outsider).get(f"/api/v2/model/{entry.id}?kind=model"), 404)


# --- updating entries ----------------------------------------------------------------------------


def test_the_owner_updates_details_and_may_send_the_unchanged_kind(
    client_for: Any, owner: Any, entry: Any
) -> None:
    response = send(
        client_for(owner),
        "PATCH",
        f"/model/{entry.id}",
        {"kind": "model", "description": "New words", "tags": ["a", "B"], "state": "Development"},
    )
    assert response.status_code == 200, response.content
    body = response.json()["model"]
    assert body["description"] == "New words"
    assert body["tags"] == ["a", "b"]
    assert body["state"] == "Development"


def test_the_kind_of_an_entry_cannot_change(client_for: Any, owner: Any, entry: Any) -> None:
    error = error_of(
        send(client_for(owner), "PATCH", f"/model/{entry.id}", {"kind": "data-card"}), 400
    )
    assert "kind" in error["message"]
    entry.refresh_from_db()
    assert entry.kind == "model"


def test_an_administrator_may_update_any_entry(
    client_for: Any, site_admin: Any, entry: Any
) -> None:
    response = send(client_for(site_admin), "PATCH", f"/model/{entry.id}", {"name": "Renamed"})
    assert response.status_code == 200
    assert response.json()["model"]["name"] == "Renamed"


def test_a_contributor_cannot_change_the_details(
    client_for: Any, contributor: Any, entry: Any
) -> None:
    response = send(client_for(contributor), "PATCH", f"/model/{entry.id}", {"name": "Mine now"})
    assert "owner" in error_of(response, 403)["message"]
    entry.refresh_from_db()
    assert entry.name == "Private model"


def test_a_duplicate_collaborator_is_refused_and_nothing_changes(
    client_for: Any, owner: Any, entry: Any
) -> None:
    before = collaborators(entry)
    response = send(
        client_for(owner),
        "PATCH",
        f"/model/{entry.id}",
        {
            "collaborators": [
                {"entity": "user:owen", "roles": ["owner"]},
                {"entity": "user:cody", "roles": ["consumer"]},
                {"entity": "user:cody", "roles": ["contributor"]},
            ]
        },
    )
    assert "user:cody is listed more than once" in error_of(response, 400)["message"]
    assert collaborators(entry) == before


def test_removing_the_last_owner_is_refused_and_nothing_changes(
    client_for: Any, owner: Any, entry: Any
) -> None:
    before = collaborators(entry)
    response = send(
        client_for(owner),
        "PATCH",
        f"/model/{entry.id}",
        {"collaborators": [{"entity": "user:owen", "roles": ["contributor"]}]},
    )
    assert "at least one owner" in error_of(response, 400)["message"]
    assert collaborators(entry) == before


def test_a_state_change_is_refused_naming_each_question_the_state_needs(
    client_for: Any, owner: Any, entry: Any
) -> None:
    with_state_rules(entry, owner, {"overview": {"summary": ""}})
    response = send(client_for(owner), "PATCH", f"/model/{entry.id}", {"state": "Production"})
    error = error_of(response, 400)
    assert "What does the model do? (overview.summary)" in error["message"]
    assert "Known risks (overview.risks)" in error["message"]
    assert error["context"]["state"] == "Production"
    assert [p["property"] for p in error["context"]["validationErrors"]] == [
        "overview.risks",
        "overview.summary",
    ]
    entry.refresh_from_db()
    assert entry.state == ""


def test_a_state_whose_questions_are_answered_is_accepted(
    client_for: Any, owner: Any, entry: Any
) -> None:
    with_state_rules(entry, owner, {"overview": {"summary": "Finds cats."}})
    client = client_for(owner)
    response = send(client, "PATCH", f"/model/{entry.id}", {"state": "Production"})
    assert "Known risks" in error_of(response, 400)["message"]
    assert "What does the model do?" not in error_of(response, 400)["message"]
    response = send(client, "PATCH", f"/model/{entry.id}", {"state": "Review"})
    assert response.status_code == 200
    assert response.json()["model"]["state"] == "Review"


def test_unknown_fields_in_an_update_are_refused(client_for: Any, owner: Any, entry: Any) -> None:
    response = send(client_for(owner), "PATCH", f"/model/{entry.id}", {"colour": "blue"})
    assert "colour" in error_of(response, 400)["message"]


# --- deleting ------------------------------------------------


@pytest.mark.parametrize(
    "persona,status",
    [("contributor", 403), ("site_admin", 403), ("outsider", 404)],
)
def test_deleting_is_refused_to_non_owners_before_anything_else(
    client_for: Any, personas: dict[str, Any], entry: Any, persona: str, status: int
) -> None:
    error_of(client_for(personas[persona]).delete(f"/api/v2/model/{entry.id}"), status)


# --- my permissions ------------------------------------------------------------------------------


def test_permissions_mine_says_what_the_caller_may_do(
    client_for: Any, owner: Any, consumer: Any, entry: Any
) -> None:
    mine = client_for(owner).get(f"/api/v2/model/{entry.id}/permissions/mine").json()
    assert mine["permissions"]["editEntry"] == {"hasPermission": True}
    assert mine["permissions"]["editEntryCard"] == {"hasPermission": True}
    theirs = client_for(consumer).get(f"/api/v2/model/{entry.id}/permissions/mine").json()
    assert theirs["permissions"]["editEntry"]["hasPermission"] is False
    assert "owner" in theirs["permissions"]["editEntry"]["info"]
    assert theirs["permissions"]["createAccessRequest"] == {"hasPermission": True}


# --- cards ---------------------------------------------------------------------------------------


def test_a_card_is_set_up_from_a_schema_then_saved_as_revisions(
    client_for: Any, contributor: Any, entry: Any
) -> None:
    client = client_for(contributor)
    setup = send(
        client, "POST", f"/model/{entry.id}/setup/from-schema", {"schemaId": "minimal-general-v10"}
    )
    assert setup.status_code == 200, setup.content
    assert setup.json()["card"] == {
        **setup.json()["card"],
        "modelId": entry.id,
        "schemaId": "minimal-general-v10",
        "version": 1,
        "metadata": {},
        "mirrored": False,
        "createdBy": "connie",
    }
    saved = send(client, "PUT", f"/model/{entry.id}/model-cards", {"metadata": GOOD_CARD})
    assert saved.status_code == 200, saved.content
    assert saved.json()["card"]["version"] == 2
    assert saved.json()["card"]["metadata"] == GOOD_CARD

    latest = client.get(f"/api/v2/model/{entry.id}/model-card/latest").json()["modelCard"]
    assert (latest["version"], latest["metadata"]) == (2, GOOD_CARD)
    first = client.get(f"/api/v2/model/{entry.id}/model-card/1?mirrored=False").json()
    assert first["modelCard"]["metadata"] == {}
    revisions = client.get(f"/api/v2/model/{entry.id}/model-card-revisions").json()
    assert [r["version"] for r in revisions["modelCardRevisions"]] == [2, 1]


def test_card_revisions_are_listed_in_a_fixed_number_of_queries(
    client_for: Any, owner: Any, entry: Any, django_assert_max_num_queries: Any
) -> None:
    with_card(entry, owner)
    for n in range(5):
        card_update(
            actor=Actor(user=owner), model=entry, metadata={"overview": {"modelSummary": f"v{n}"}}
        )
    client = client_for(owner)
    client.get("/api/v2/entities/me")  # warm the session
    with django_assert_max_num_queries(8):
        response = client.get(f"/api/v2/model/{entry.id}/model-card-revisions")
    assert len(response.json()["modelCardRevisions"]) == 6


@pytest.mark.parametrize(
    "version,status",
    [("3", 404), ("0", 400), ("abc", 400), ("latest", 404)],
)
def test_unknown_or_malformed_card_versions_are_refused(
    client_for: Any, owner: Any, make_entry: Any, version: str, status: int
) -> None:
    bare = make_entry("No card yet")
    error_of(client_for(owner).get(f"/api/v2/model/{bare.id}/model-card/{version}"), status)


def test_a_bad_mirrored_flag_is_refused(client_for: Any, owner: Any, entry: Any) -> None:
    with_card(entry, owner)
    response = client_for(owner).get(f"/api/v2/model/{entry.id}/model-card/1?mirrored=maybe")
    assert "mirrored" in error_of(response, 400)["message"]


def test_card_metadata_that_fails_the_schema_lists_each_problem_and_is_not_saved(
    client_for: Any, owner: Any, entry: Any
) -> None:
    with_card(entry, owner)
    before = ModelCardRevision.objects.count()
    response = send(
        client_for(owner),
        "PUT",
        f"/model/{entry.id}/model-cards",
        {
            "metadata": {
                "overview": {"modelSummary": ""},
                "anotherPage": {"sectionTwo": {"questionThree": "many"}},
            }
        },
    )
    error = error_of(response, 400)
    problems = error["context"]["validationErrors"]
    assert {p["property"] for p in problems} == {
        "overview.modelSummary",
        "anotherPage.sectionTwo.questionThree",
    }
    assert all(set(p) == {"property", "message"} for p in problems)
    assert ModelCardRevision.objects.count() == before


def test_a_card_without_metadata_is_refused(client_for: Any, owner: Any, entry: Any) -> None:
    with_card(entry, owner)
    response = send(client_for(owner), "PUT", f"/model/{entry.id}/model-cards", {"metadata": []})
    assert "metadata" in error_of(response, 400)["message"]


def test_consumers_cannot_save_the_card(
    client_for: Any, owner: Any, consumer: Any, entry: Any
) -> None:
    with_card(entry, owner)
    before = ModelCardRevision.objects.count()
    response = send(
        client_for(consumer), "PUT", f"/model/{entry.id}/model-cards", {"metadata": GOOD_CARD}
    )
    error_of(response, 403)
    assert ModelCardRevision.objects.count() == before


def test_an_unknown_schema_is_not_found_and_nothing_is_stored(
    client_for: Any, owner: Any, entry: Any
) -> None:
    response = send(
        client_for(owner), "POST", f"/model/{entry.id}/setup/from-schema", {"schemaId": "nope-v1"}
    )
    assert error_of(response, 404)["context"] == {"schemaId": "nope-v1"}
    assert not ModelCardRevision.objects.filter(model=entry).exists()


def test_a_data_card_cannot_use_a_model_schema(
    client_for: Any, owner: Any, make_entry: Any
) -> None:
    data_card = make_entry("Some data", kind="data-card")
    client = client_for(owner)
    error_of(
        send(
            client,
            "POST",
            f"/model/{data_card.id}/setup/from-schema",
            {"schemaId": "minimal-general-v10"},
        ),
        400,
    )
    ok = send(
        client,
        "POST",
        f"/model/{data_card.id}/setup/from-schema",
        {"schemaId": "minimal-data-card-v10"},
    )
    assert ok.json()["card"]["schemaId"] == "minimal-data-card-v10"


def test_choosing_a_schema_twice_is_a_conflict(client_for: Any, owner: Any, entry: Any) -> None:
    with_card(entry, owner)
    response = send(
        client_for(owner),
        "POST",
        f"/model/{entry.id}/setup/from-schema",
        {"schemaId": "minimal-general-v10"},
    )
    error_of(response, 409)
    assert ModelCardRevision.objects.filter(model=entry).count() == 1


def test_a_card_starts_from_a_template_that_allows_it(
    client_for: Any, owner: Any, entry: Any, make_entry: Any
) -> None:
    template = with_card(make_entry("Template"), owner, GOOD_CARD)
    client = client_for(owner)
    refused = send(
        client, "POST", f"/model/{entry.id}/setup/from-template", {"templateId": template.id}
    )
    assert "does not allow templating" in error_of(refused, 400)["message"]
    model_update(
        actor=Actor(user=owner), model=template, changes={"settings": {"allowTemplating": True}}
    )
    response = send(
        client, "POST", f"/model/{entry.id}/setup/from-template", {"templateId": template.id}
    )
    assert response.status_code == 200, response.content
    assert response.json()["card"]["metadata"] == GOOD_CARD


def test_a_template_the_caller_cannot_see_is_not_found(
    client_for: Any, owner: Any, outsider: Any, make_entry: Any
) -> None:
    hidden = with_card(
        make_entry("Secret template", settings_={"allowTemplating": True}), owner, GOOD_CARD
    )
    mine = send(
        client_for(outsider), "POST", "/models", {"name": "Mine", "description": "d"}
    ).json()["model"]
    response = send(
        client_for(outsider),
        "POST",
        f"/model/{mine['id']}/setup/from-template",
        {"templateId": hidden.id},
    )
    error_of(response, 404)


# --- schema migrations applied to entries --------------------------------------------------------


@pytest.fixture
def migration(site_admin: Any) -> SchemaMigration:
    source = Schema.objects.get(pk="minimal-general-v10")
    target = Schema.objects.create(
        id="general-v11",
        name="General v11",
        kind="model",
        json_schema={
            "type": "object",
            "properties": {
                "summary": {"type": "object", "properties": {"text": {"type": "string"}}}
            },
        },
    )
    return SchemaMigration.objects.create(
        id="to-v11-abcdef",
        name="To v11",
        source_schema=source,
        target_schema=target,
        draft=False,
        question_migrations=[
            {
                "id": "q1",
                "kind": "move",
                "sourcePath": "overview.modelSummary",
                "targetPath": "summary.text",
                "propertyType": "string",
            },
            {
                "id": "q2",
                "kind": "delete",
                "sourcePath": "overview",
                "targetPath": None,
                "propertyType": "object",
            },
        ],
    )


def test_the_owner_migrates_the_card_to_a_new_schema(
    client_for: Any, owner: Any, entry: Any, migration: SchemaMigration
) -> None:
    with_card(entry, owner, GOOD_CARD)
    response = send(
        client_for(owner), "POST", f"/model/{entry.id}/migrate-schema/{migration.id}", {}
    )
    assert response.status_code == 200, response.content
    assert response.json()["response"] == "Successfully migrated model schema"
    card = response.json()["card"]
    assert (card["schemaId"], card["version"]) == ("general-v11", 3)
    assert card["metadata"] == {"summary": {"text": "Finds cats in pictures."}}


def test_a_contributor_cannot_migrate_the_card(
    client_for: Any, owner: Any, contributor: Any, entry: Any, migration: SchemaMigration
) -> None:
    with_card(entry, owner, GOOD_CARD)
    error_of(
        send(client_for(contributor), "POST", f"/model/{entry.id}/migrate-schema/{migration.id}"),
        403,
    )
    entry.refresh_from_db()
    assert entry.card is not None and entry.card.schema_id == "minimal-general-v10"


def test_an_unknown_or_draft_migration_is_refused(
    client_for: Any, owner: Any, entry: Any, migration: SchemaMigration
) -> None:
    with_card(entry, owner, GOOD_CARD)
    client = client_for(owner)
    error_of(send(client, "POST", f"/model/{entry.id}/migrate-schema/nope-000000"), 404)
    SchemaMigration.objects.filter(pk=migration.pk).update(draft=True)
    assert (
        "draft"
        in error_of(send(client, "POST", f"/model/{entry.id}/migrate-schema/{migration.id}"), 400)[
            "message"
        ]
    )
    assert ModelCardRevision.objects.filter(model=entry).count() == 2


# --- roles and entities --------------------------------------------------------------------------


def test_roles_list_review_roles_then_system_roles(client_for: Any, outsider: Any) -> None:
    roles = client_for(outsider).get("/api/v2/roles").json()["roles"]
    assert [r["id"] for r in roles] == ["msro", "mtr", "consumer", "contributor", "owner"]
    assert roles[0] == {**roles[0], "shortName": "msro", "kind": "review"}
    assert roles[-1] == {**roles[-1], "name": "Owner", "kind": "system"}
    assert all(r["description"] for r in roles)


def test_roles_of_an_entry_follow_the_schema_of_its_card(
    client_for: Any, owner: Any, entry: Any, make_entry: Any
) -> None:
    Schema.objects.filter(pk="minimal-general-v10").update(review_roles=["mtr"])
    with_card(entry, owner)
    roles = client_for(owner).get(f"/api/v2/roles?modelId={entry.id}").json()["roles"]
    assert [r["id"] for r in roles] == ["mtr", "consumer", "contributor", "owner"]


def test_roles_of_an_entry_the_caller_cannot_see_are_not_found(
    client_for: Any, outsider: Any, entry: Any
) -> None:
    error_of(client_for(outsider).get(f"/api/v2/roles?modelId={entry.id}"), 404)


def test_entities_match_users_and_groups_by_name(
    client_for: Any, outsider: Any, make_user: Any
) -> None:
    make_user("sam-lee")
    make_user("leena")
    Group.objects.create(name="lee-team")
    results = client_for(outsider).get("/api/v2/entities?q=LEE").json()["results"]
    assert results == [
        {"kind": "user", "id": "leena", "name": "leena"},
        {"kind": "user", "id": "sam-lee", "name": "sam-lee"},
        {"kind": "group", "id": "lee-team", "name": "lee-team"},
    ]


def test_entity_queries_shorter_than_three_characters_find_nothing(
    client_for: Any, outsider: Any
) -> None:
    assert client_for(outsider).get("/api/v2/entities?q=ol").json() == {"results": []}


def test_entities_need_a_query_and_a_signed_in_caller(client_for: Any, outsider: Any) -> None:
    error = error_of(client_for(outsider).get("/api/v2/entities"), 400)
    assert error["context"]["validationErrors"][0]["property"] == "q"
    error_of(Client().get("/api/v2/entities?q=olive"), 401)


# --- bodies that are not what we expect ----------------------------------------------------------


@pytest.mark.parametrize(
    "raw,message",
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"text"', "must be a JSON object"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused(
    client_for: Any, outsider: Any, raw: bytes, message: str
) -> None:
    response = client_for(outsider).post(
        "/api/v2/models", data=raw, content_type="application/json"
    )
    assert message in error_of(response, 400)["message"]
    assert not Model.objects.exists()


def test_a_body_over_the_limit_is_413_in_bailo_shape_and_nothing_is_stored(
    client_for: Any, outsider: Any
) -> None:
    huge = json.dumps({"name": "Big", "description": "x" * 120_000})
    response = client_for(outsider).post(
        "/api/v2/models", data=huge, content_type="application/json"
    )
    error = error_of(response, 413)
    assert "100 kB" in error["message"]
    assert error["context"] == {"limitBytes": 102400}
    assert not Model.objects.exists()


def test_a_card_over_the_limit_is_413_and_not_saved(
    client_for: Any, owner: Any, entry: Any
) -> None:
    with_card(entry, owner)
    big = {"metadata": {"overview": {"modelSummary": "y" * 110_000}}}
    error_of(send(client_for(owner), "PUT", f"/model/{entry.id}/model-cards", big), 413)
    assert ModelCardRevision.objects.filter(model=entry).count() == 1


# --- tokens --------------------------------------------------------------------------------------


def test_a_token_without_model_write_cannot_update_the_entry(
    make_token: Any, owner: Any, entry: Any
) -> None:
    token, secret = make_token(owner, actions=["model:read"])
    client, credentials = Client(), basic(token.access_key, secret)
    assert send(client, "GET", f"/model/{entry.id}", **credentials).status_code == 200
    response = send(client, "PATCH", f"/model/{entry.id}", {"name": "x"}, **credentials)
    assert "model:write" in error_of(response, 403)["message"]


@pytest.mark.parametrize("value", [{}, {"id": "x"}, ["x"], 7])
def test_a_mirror_id_that_is_not_text_is_refused(
    client_for: Any, outsider: Any, value: Any
) -> None:
    body = {
        "name": "Mirror",
        "description": "d",
        "settings": {"mirror": {"destinationModelId": value}},
    }
    response = client_for(outsider).post(
        "/api/v2/models", data=json.dumps(body), content_type="application/json"
    )
    assert "destinationModelId" in error_of(response, 400)["message"]
    assert not Model.objects.exists()
