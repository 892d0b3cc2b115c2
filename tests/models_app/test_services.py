"""Entry, card, schema and migration services: rules and refusals, nothing half-written."""

from __future__ import annotations

import re
from typing import Any

import pytest

from core.errors import BadRequest, Conflict, Forbidden, NotFound
from core.models import AuditEvent
from models_app.models import Collaborator, Model, ModelCardRevision, Schema, SchemaMigration
from models_app.policy import Actor
from models_app.services import (
    card_from_schema,
    card_from_template,
    card_update,
    migrate_metadata,
    model_create,
    model_update,
    schema_create,
    schema_delete,
    schema_migration_apply,
    schema_migration_save,
)

pytestmark = pytest.mark.django_db

GOOD_CARD = {"overview": {"modelSummary": "Finds cats in pictures."}}


def test_ids_are_a_slug_and_six_characters(owner: Any) -> None:
    model = model_create(actor=Actor(user=owner), name="My Model: v2!", description="d")
    assert re.fullmatch(r"my-model-v2-[0-9a-z]{6}", model.id)


def test_the_creator_becomes_owner(owner: Any) -> None:
    model = model_create(actor=Actor(user=owner), name="Mine", description="d")
    assert list(Collaborator.objects.filter(model=model).values_list("entity", "role")) == [
        ("user:owen", "owner")
    ]
    assert AuditEvent.objects.filter(action="model:create", subject=model.id).count() == 1


def test_tags_are_lower_cased_and_deduplicated(owner: Any) -> None:
    model = model_create(
        actor=Actor(user=owner), name="T", description="d", tags=["NLP", "nlp", " Vision "]
    )
    assert sorted(model.tag_rows.values_list("name", flat=True)) == ["nlp", "vision"]


@pytest.mark.parametrize(
    "fields,message",
    [
        ({"name": ""}, "name is required"),
        ({"name": "!!!"}, "letter or digit"),
        ({"description": ""}, "description is required"),
        ({"kind": "spaceship"}, "kind must be one of"),
        ({"visibility": "secret"}, "visibility"),
        ({"organisation": "Nowhere"}, "organisation 'Nowhere'"),
        ({"state": "Retired"}, "state 'Retired'"),
        ({"tags": "nlp"}, "tags must be a list"),
        ({"collaborators": [{"entity": "user:ghost", "roles": ["owner"]}]}, "Unknown user"),
        ({"collaborators": [{"entity": "robot:x", "roles": []}]}, "not an entity"),
        ({"collaborators": [{"entity": "user:owen", "roles": ["boss"]}]}, "Unknown role"),
        (
            {
                "collaborators": [
                    {"entity": "user:owen", "roles": ["owner"]},
                    {"entity": "user:owen", "roles": ["consumer"]},
                ]
            },
            "more than once",
        ),
        # Mirrored models need MIRROR_IMPORT_ENABLED (tests/models_app/test_mirrored_models.py).
        ({"kind": "mirrored-model"}, "not enabled on this instance"),
        ({"settings_": {"ungovernedAccess": "yes"}}, "true or false"),
    ],
)
def test_bad_entry_input_is_refused_and_nothing_is_stored(
    owner: Any, fields: dict[str, Any], message: str
) -> None:
    values = {"name": "Fine", "description": "fine", **fields}
    with pytest.raises(BadRequest, match=message):
        model_create(actor=Actor(user=owner), **values)
    assert Model.all_objects.count() == 0 and Collaborator.objects.count() == 0


def test_the_last_owner_cannot_be_removed(owner: Any, entry: Any) -> None:
    before = list(Collaborator.objects.filter(model=entry).values_list("entity", "role"))
    with pytest.raises(BadRequest, match="at least one owner"):
        model_update(
            actor=Actor(user=owner),
            model=entry,
            changes={"collaborators": [{"entity": "user:connie", "roles": ["contributor"]}]},
        )
    assert list(Collaborator.objects.filter(model=entry).values_list("entity", "role")) == before


def test_only_owners_and_admins_change_settings(
    owner: Any, contributor: Any, site_admin: Any, entry: Any
) -> None:
    with pytest.raises(Forbidden):
        model_update(actor=Actor(user=contributor), model=entry, changes={"name": "X"})
    model_update(actor=Actor(user=site_admin), model=entry, changes={"name": "By admin"})
    model_update(actor=Actor(user=owner), model=entry, changes={"name": "By owner"})
    entry.refresh_from_db()
    assert entry.name == "By owner"


def test_unknown_fields_are_refused(owner: Any, entry: Any) -> None:
    with pytest.raises(BadRequest, match="read-only"):
        model_update(actor=Actor(user=owner), model=entry, changes={"id": "other"})


def test_a_card_starts_from_a_schema_and_each_save_is_a_revision(
    owner: Any, contributor: Any, entry: Any
) -> None:
    first = card_from_schema(actor=Actor(user=owner), model=entry, schema_id="minimal-general-v10")
    assert first.version == 1 and first.metadata == {}
    second = card_update(actor=Actor(user=contributor), model=entry, metadata=GOOD_CARD)
    assert second.version == 2
    entry.refresh_from_db()
    assert entry.card_id == second.pk


def test_a_card_that_fails_its_schema_is_not_saved(owner: Any, entry: Any) -> None:
    card_from_schema(actor=Actor(user=owner), model=entry, schema_id="extended-general-v1")
    bad = {"overview": {"modelSummary": "ok"}, "performance": {"accuracy": 7}}
    with pytest.raises(BadRequest) as caught:
        card_update(actor=Actor(user=owner), model=entry, metadata=bad)
    assert caught.value.context["validationErrors"] == [
        {"property": "performance.accuracy", "message": "7 is greater than the maximum of 1"}
    ]
    assert ModelCardRevision.objects.filter(model=entry).count() == 1


def test_missing_required_answers_are_named(owner: Any, entry: Any) -> None:
    card_from_schema(actor=Actor(user=owner), model=entry, schema_id="extended-general-v1")
    with pytest.raises(BadRequest) as caught:
        card_update(actor=Actor(user=owner), model=entry, metadata={"overview": {}})
    assert {"property": "overview.modelSummary", "message": "is required"} in caught.value.context[
        "validationErrors"
    ]


def test_consumers_cannot_edit_the_card(consumer: Any, owner: Any, entry: Any) -> None:
    card_from_schema(actor=Actor(user=owner), model=entry, schema_id="minimal-general-v10")
    with pytest.raises(Forbidden):
        card_update(actor=Actor(user=consumer), model=entry, metadata=GOOD_CARD)


def test_unknown_hidden_and_wrong_kind_schemas_are_refused(owner: Any, entry: Any) -> None:
    me = Actor(user=owner)
    with pytest.raises(NotFound):
        card_from_schema(actor=me, model=entry, schema_id="no-such-schema")
    with pytest.raises(BadRequest, match="not for a model"):
        card_from_schema(actor=me, model=entry, schema_id="minimal-data-card-v10")
    Schema.objects.filter(pk="minimal-general-v10").update(hidden=True)
    with pytest.raises(BadRequest, match="hidden"):
        card_from_schema(actor=me, model=entry, schema_id="minimal-general-v10")
    assert not ModelCardRevision.objects.exists()


def test_a_second_schema_choice_is_a_conflict(owner: Any, entry: Any) -> None:
    card_from_schema(actor=Actor(user=owner), model=entry, schema_id="minimal-general-v10")
    with pytest.raises(Conflict):
        card_from_schema(actor=Actor(user=owner), model=entry, schema_id="minimal-general-v10")


def test_state_changes_need_a_card_that_meets_the_state(owner: Any, entry: Any) -> None:
    me = Actor(user=owner)
    card_from_schema(actor=me, model=entry, schema_id="extended-general-v1")
    card_update(actor=me, model=entry, metadata=GOOD_CARD)
    with pytest.raises(BadRequest, match="state 'Production'") as caught:
        model_update(actor=me, model=entry, changes={"state": "Production"})
    assert caught.value.context["validationErrors"][0]["property"] == "intendedUse.purpose"
    entry.refresh_from_db()
    assert entry.state == ""
    model_update(actor=me, model=entry, changes={"state": "Review"})
    entry.refresh_from_db()
    assert entry.state == "Review"


def test_templates_copy_the_card_of_an_entry_that_allows_it(
    owner: Any, make_entry: Any, entry: Any
) -> None:
    me = Actor(user=owner)
    template = make_entry("Template", visibility="public")
    card_from_schema(actor=me, model=template, schema_id="minimal-general-v10")
    card_update(actor=me, model=template, metadata=GOOD_CARD)
    with pytest.raises(BadRequest, match="does not allow templating"):
        card_from_template(actor=me, model=entry, template_id=template.id)
    model_update(actor=me, model=template, changes={"settings": {"allowTemplating": True}})
    copied = card_from_template(actor=me, model=entry, template_id=template.id)
    assert copied.metadata == GOOD_CARD and copied.schema_id == "minimal-general-v10"


def test_only_admins_manage_schemas(owner: Any, site_admin: Any) -> None:
    body = {"type": "object", "properties": {"page": {"type": "object", "properties": {}}}}
    with pytest.raises(Forbidden):
        schema_create(
            actor=Actor(user=owner), schema_id="s1", name="S", kind="model", json_schema=body
        )
    schema = schema_create(
        actor=Actor(user=site_admin), schema_id="s1", name="S", kind="model", json_schema=body
    )
    with pytest.raises(Conflict):
        schema_create(
            actor=Actor(user=site_admin), schema_id="s1", name="S", kind="model", json_schema=body
        )
    schema_delete(actor=Actor(user=site_admin), schema=schema)
    assert not Schema.objects.filter(pk="s1").exists()


@pytest.mark.parametrize(
    "body,message",
    [
        ({"type": "object", "properties": {"a": {"type": "strin"}}}, "not a valid JSON Schema"),
        ([1, 2], "must be a JSON object"),
        ({"type": "array"}, "must describe an object"),
    ],
)
def test_invalid_json_schemas_are_refused(site_admin: Any, body: Any, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        schema_create(
            actor=Actor(user=site_admin), schema_id="bad", name="B", kind="model", json_schema=body
        )
    assert not Schema.objects.filter(pk="bad").exists()


def test_schemas_in_use_cannot_be_deleted(site_admin: Any, owner: Any, entry: Any) -> None:
    card_from_schema(actor=Actor(user=owner), model=entry, schema_id="minimal-general-v10")
    with pytest.raises(Conflict, match="hide it"):
        schema_delete(
            actor=Actor(user=site_admin), schema=Schema.objects.get(pk="minimal-general-v10")
        )


def test_migrations_move_and_delete_answers() -> None:
    plan = [
        {"kind": "move", "sourcePath": "a.b", "targetPath": "x.y.z"},
        {"kind": "delete", "sourcePath": "a.c"},
        {"kind": "move", "sourcePath": "missing.q", "targetPath": "x.q"},
    ]
    assert migrate_metadata({"a": {"b": 1, "c": 2, "d": 3}}, plan) == {
        "a": {"d": 3},
        "x": {"y": {"z": 1}},
    }


def test_an_owner_applies_a_final_migration(site_admin: Any, owner: Any, entry: Any) -> None:
    me = Actor(user=owner)
    target_body = {
        "type": "object",
        "properties": {"summary": {"type": "object", "properties": {"text": {"type": "string"}}}},
    }
    schema_create(
        actor=Actor(user=site_admin),
        schema_id="v2",
        name="V2",
        kind="model",
        json_schema=target_body,
    )
    card_from_schema(actor=me, model=entry, schema_id="minimal-general-v10")
    card_update(actor=me, model=entry, metadata=GOOD_CARD)
    migration = schema_migration_save(
        actor=Actor(user=site_admin),
        name="General to V2",
        source_schema_id="minimal-general-v10",
        target_schema_id="v2",
        question_migrations=[
            {"kind": "move", "sourcePath": "overview.modelSummary", "targetPath": "summary.text"}
        ],
        draft=True,
    )
    with pytest.raises(BadRequest, match="draft"):
        schema_migration_apply(actor=me, model=entry, migration=migration)
    migration.draft = False
    migration.save()
    revision = schema_migration_apply(actor=me, model=entry, migration=migration)
    assert revision.schema_id == "v2" and revision.version == 3
    assert revision.metadata == {"overview": {}, "summary": {"text": "Finds cats in pictures."}}
    assert SchemaMigration.objects.count() == 1


def test_schemas_keep_their_property_order() -> None:
    """Page and question order is the schema's key order, on every database."""
    schema = Schema.objects.get(pk="extended-general-v1")
    assert list(schema.json_schema["properties"]) == ["overview", "intendedUse", "performance"]
    assert list(schema.json_schema["properties"]["overview"]["properties"]) == [
        "modelSummary",
        "tags",
        "modelOwners",
    ]
    bailo = Schema.objects.get(pk="minimal-general-v10")
    assert list(bailo.json_schema["properties"]) == ["overview", "anotherPage"]
    assert list(bailo.json_schema["properties"]["overview"]["properties"]) == [
        "modelSummary",
        "datasets",
        "metrics",
    ]
