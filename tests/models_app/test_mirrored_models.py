"""Mirrored models on the import side: creating one, its source model ID, its card (the source's
answers with local additional information), history, compare and schema migration.

Imports are the mirroring feature's; here the imported card revisions are written directly as
``ModelCardRevision`` rows with ``mirrored=True`` (the shared contract), as an import leaves them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.errors import BadRequest
from models_app import selectors, services
from models_app.models import EntryKind, Model, ModelCardRevision, SchemaMigration
from models_app.policy import Actor

pytestmark = pytest.mark.django_db

SOURCE = "fraud-scorer-abc123"
SOURCE_CARD = {
    "overview": {"modelSummary": "Scores card payments for fraud."},
    "anotherPage": {"sectionOne": {"q1": "Trained on 2024 payments."}},
}


def page(response: Any) -> str:
    return response.content.decode()


def error_of(response: Any, status: int) -> str:
    assert response.status_code == status, response.content
    return str(response.json()["error"]["message"])


def imported(
    model: Model,
    version: int,
    metadata: dict[str, Any],
    schema_id: str = "minimal-general-v10",
) -> ModelCardRevision:
    """A card revision as an import writes it: mirrored, with the source's version number."""
    return ModelCardRevision.objects.create(
        model=model, schema_id=schema_id, version=version, metadata=metadata, mirrored=True
    )


@pytest.fixture
def mirror(make_entry: Any, mirror_import: None) -> Model:
    """A private mirrored model (owner, contributor, consumer, reviewer), not yet imported."""
    return make_entry(  # type: ignore[no-any-return]
        "Mirrored scorer",
        kind=EntryKind.MIRRORED_MODEL,
        settings_={"mirror": {"sourceModelId": SOURCE}},
    )


@pytest.fixture
def imported_mirror(mirror: Model) -> Model:
    """The mirrored model after its first import: the source card's versions 1 and 2."""
    imported(mirror, 1, {"overview": {"modelSummary": "First draft."}})
    imported(mirror, 2, SOURCE_CARD)
    return Model.objects.get(pk=mirror.pk)


# --- creating ------------------------------------------------------------------------------------


def test_the_create_page_offers_no_mirrored_model_while_import_is_disabled(
    client_for: Any, owner: User
) -> None:
    client = client_for(owner)
    html = page(client.get("/entry/new"))
    assert "Mirrored model" not in html and "Source Model ID" not in html
    response = client.post(
        "/entry/new",
        {"kind": "mirrored-model", "name": "Sneaky", "description": "d", "visibility": "public"},
    )
    assert response.status_code == 400
    assert not Model.objects.filter(name="Sneaky").exists()


def test_the_api_refuses_a_mirrored_model_while_import_is_disabled(
    client_for: Any, owner: User
) -> None:
    body = {
        "name": "Sneaky",
        "description": "d",
        "kind": "mirrored-model",
        "settings": {"mirror": {"sourceModelId": SOURCE}},
    }
    response = client_for(owner).post("/api/v2/models", body, content_type="application/json")
    assert "not enabled" in error_of(response, 400)
    assert not Model.all_objects.filter(name="Sneaky").exists()


def test_the_create_page_offers_a_mirrored_model_that_needs_a_source_model_id(
    client_for: Any, owner: User, mirror_import: None
) -> None:
    client = client_for(owner)
    html = page(client.get("/entry/new"))
    assert 'value="mirrored-model"' in html and "Source Model ID" in html
    fields = {"kind": "mirrored-model", "name": "Copy", "description": "d", "visibility": "public"}
    refused = client.post("/entry/new", fields)
    assert refused.status_code == 400
    assert "needs the ID of its source model" in page(refused)
    assert not Model.objects.filter(name="Copy").exists()

    created = client.post("/entry/new", {**fields, "source_model_id": f"  {SOURCE} "})
    assert created.status_code == 302
    model = Model.objects.get(name="Copy")
    assert model.kind == EntryKind.MIRRORED_MODEL and model.mirror_source_model_id == SOURCE


def test_the_api_creates_a_mirrored_model_only_with_a_source_model_id(
    client_for: Any, owner: User, mirror_import: None
) -> None:
    client = client_for(owner)
    body: dict[str, Any] = {"name": "Copy", "description": "d", "kind": "mirrored-model"}
    refused = client.post("/api/v2/models", body, content_type="application/json")
    assert "sourceModelId" in error_of(refused, 400)
    body["settings"] = {"mirror": {"sourceModelId": SOURCE}}
    made = client.post("/api/v2/models", body, content_type="application/json")
    assert made.status_code == 200, made.content
    assert made.json()["model"]["settings"]["mirror"] == {"sourceModelId": SOURCE}


# --- the source model ID -------------------------------------------------------------------------


def test_before_the_first_import_owners_see_the_source_and_may_change_it(
    client_for: Any, owner: User, contributor: User, mirror: Model
) -> None:
    html = page(client_for(owner).get(f"/model/{mirror.pk}"))
    assert "This is a mirrored model" in html and SOURCE in html
    assert f"/model/{mirror.pk}/mirror/source" in html
    assert "There is no model card yet" in html
    assert "Add additional information" not in html and "Choose a schema" not in html
    # Contributors see the banner, but only owners may change settings.
    other = page(client_for(contributor).get(f"/model/{mirror.pk}"))
    assert SOURCE in other and f"/model/{mirror.pk}/mirror/source" not in other

    response = client_for(owner).post(
        f"/model/{mirror.pk}/mirror/source", {"sourceModelId": "other-source-xyz789"}
    )
    assert response.status_code == 302
    assert Model.objects.get(pk=mirror.pk).mirror_source_model_id == "other-source-xyz789"


def test_before_the_first_import_the_api_changes_the_source(
    client_for: Any, owner: User, mirror: Model
) -> None:
    response = client_for(owner).patch(
        f"/api/v2/model/{mirror.pk}",
        {"settings": {"mirror": {"sourceModelId": "other-source-xyz789"}}},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["model"]["settings"]["mirror"]["sourceModelId"] == "other-source-xyz789"


def test_after_the_first_import_the_source_can_no_longer_be_changed(
    client_for: Any, owner: User, imported_mirror: Model
) -> None:
    client = client_for(owner)
    html = page(client.get(f"/model/{imported_mirror.pk}"))
    assert "it can no longer be changed" in html
    assert f"/model/{imported_mirror.pk}/mirror/source" not in html
    assert "can no longer be changed" in page(
        client.get(f"/model/{imported_mirror.pk}/mirror/source")
    )

    posted = client.post(
        f"/model/{imported_mirror.pk}/mirror/source", {"sourceModelId": "other-source-xyz789"}
    )
    assert posted.status_code == 400 and "can no longer be changed" in page(posted)
    patched = client.patch(
        f"/api/v2/model/{imported_mirror.pk}",
        {"settings": {"mirror": {"sourceModelId": "other-source-xyz789"}}},
        content_type="application/json",
    )
    assert "can no longer be changed" in error_of(patched, 400)
    assert Model.objects.get(pk=imported_mirror.pk).mirror_source_model_id == SOURCE


def test_after_the_first_import_echoing_the_same_source_back_is_no_change(
    client_for: Any, owner: User, imported_mirror: Model
) -> None:
    # Clients send the settings back with every update; the unchanged source is not refused.
    response = client_for(owner).patch(
        f"/api/v2/model/{imported_mirror.pk}",
        {"description": "Now described here.", "settings": {"mirror": {"sourceModelId": SOURCE}}},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    model = Model.objects.get(pk=imported_mirror.pk)
    assert model.description == "Now described here." and model.mirror_source_model_id == SOURCE


@pytest.mark.parametrize(
    ("mirror_settings", "message"),
    [
        ({"sourceModelId": ""}, "needs settings.mirror.sourceModelId"),
        ({"sourceModelId": None}, "needs settings.mirror.sourceModelId"),
        ({"sourceModelId": "x" * 201}, "at most 200 characters"),
        ({"sourceModelId": "abc\u202edef"}, "control characters"),
        ({"sourceModelId": 12}, "must be a model id"),
        ({"destinationModelId": "elsewhere-abc123"}, "cannot export to another mirror"),
    ],
)
def test_a_bad_source_model_id_is_refused_and_nothing_changes(
    client_for: Any, owner: User, mirror: Model, mirror_settings: Any, message: str
) -> None:
    response = client_for(owner).patch(
        f"/api/v2/model/{mirror.pk}",
        {"settings": {"mirror": mirror_settings}},
        content_type="application/json",
    )
    assert message in error_of(response, 400)
    assert Model.objects.get(pk=mirror.pk).mirror_source_model_id == SOURCE


def test_only_owners_may_change_the_source(
    client_for: Any, contributor: User, consumer: User, outsider: User, mirror: Model
) -> None:
    url = f"/model/{mirror.pk}/mirror/source"
    body = {"sourceModelId": "other-source-xyz789"}
    for user, status in ((contributor, 403), (consumer, 403), (outsider, 404)):
        assert client_for(user).get(url).status_code == status
        assert client_for(user).post(url, body).status_code == status
        api = client_for(user).patch(
            f"/api/v2/model/{mirror.pk}",
            {"settings": {"mirror": body}},
            content_type="application/json",
        )
        assert api.status_code == status
    assert Model.objects.get(pk=mirror.pk).mirror_source_model_id == SOURCE


def test_the_source_page_is_only_for_mirrored_models(
    client_for: Any, owner: User, entry: Model
) -> None:
    assert client_for(owner).get(f"/model/{entry.pk}/mirror/source").status_code == 404


# --- the card: source answers with additional information ---------------------------------------


def test_the_card_shows_each_source_answer_under_the_configured_headings(
    client_for: Any, owner: User, consumer: User, imported_mirror: Model, settings: Any
) -> None:
    settings.MIRROR_ORIGINAL_ANSWER_HEADING = "From the source"
    settings.MIRROR_ADDITIONAL_INFO_HEADING = "Added here"
    html = page(client_for(owner).get(f"/model/{imported_mirror.pk}"))
    card = html.split('id="card-heading"')[1]
    assert "Scores card payments for fraud." in card and "First draft." not in card
    assert card.count("From the source") == card.count("Added here") > 0
    assert "None added" in card
    assert "Add additional information" in card and "Edit card" not in card
    assert "There is no model card yet" not in html
    assert "Add additional information" not in page(
        client_for(consumer).get(f"/model/{imported_mirror.pk}")
    )


def test_owners_and_contributors_add_information_beside_the_source_answers(
    client_for: Any, owner: User, contributor: User, imported_mirror: Model
) -> None:
    url = f"/model/{imported_mirror.pk}/card/edit"
    form = page(client_for(contributor).get(url))
    assert "Add additional information" in form and "Import from text" not in form
    # Each question shows the source's answer beside the input for the local one.
    assert "Scores card payments for fraud." in form and "Original answer" in form
    response = client_for(contributor).post(
        url,
        {
            "card.overview.modelSummary": "Approved for use on the payments network.",
            "card.anotherPage.sectionTwo.questionThree": "3",
        },
    )
    assert response.status_code == 302, page(response)
    local = ModelCardRevision.objects.get(model=imported_mirror, mirrored=False)
    assert local.version == 1 and local.schema_id == "minimal-general-v10"
    assert local.metadata == {
        "overview": {"modelSummary": "Approved for use on the payments network."},
        "anotherPage": {"sectionTwo": {"questionThree": 3}},
    }
    assert Model.objects.get(pk=imported_mirror.pk).card_id == local.pk
    # The imported revisions are untouched.
    assert ModelCardRevision.objects.filter(model=imported_mirror, mirrored=True).count() == 2
    source = selectors.latest_mirrored_revision(imported_mirror)
    assert source is not None and source.metadata == SOURCE_CARD

    html = page(client_for(owner).get(f"/model/{imported_mirror.pk}"))
    original, added = html.split("Scores card payments for fraud.", 1)
    assert "Original answer" in original[-400:]
    assert "Additional information" in added[:400]
    assert "Approved for use on the payments network." in added[:600]


def test_invalid_additional_information_is_shown_beside_the_field_and_nothing_is_saved(
    client_for: Any, owner: User, imported_mirror: Model
) -> None:
    response = client_for(owner).post(
        f"/model/{imported_mirror.pk}/card/edit",
        {"card.anotherPage.sectionTwo.questionThree": "lots"},
    )
    assert response.status_code == 400
    html = page(response)
    assert "The card was not saved" in html and 'aria-invalid="true"' in html
    assert not ModelCardRevision.objects.filter(model=imported_mirror, mirrored=False).exists()


def test_people_who_may_not_edit_the_card_cannot_add_information(
    client_for: Any, consumer: User, reviewer: User, outsider: User, imported_mirror: Model
) -> None:
    url = f"/model/{imported_mirror.pk}/card/edit"
    body = {"card.overview.modelSummary": "Mine now."}
    api = f"/api/v2/model/{imported_mirror.pk}/model-cards"
    for user, status in ((consumer, 403), (reviewer, 403), (outsider, 404)):
        assert client_for(user).get(url).status_code == status
        assert client_for(user).post(url, body).status_code == status
        put = client_for(user).put(
            api,
            json.dumps({"metadata": {"overview": {"modelSummary": "Mine now."}}}),
            content_type="application/json",
        )
        assert put.status_code == status
    assert not ModelCardRevision.objects.filter(model=imported_mirror, mirrored=False).exists()


def test_the_api_saves_additional_information_as_the_local_card(
    client_for: Any, owner: User, imported_mirror: Model
) -> None:
    client = client_for(owner)
    metadata = {"overview": {"modelSummary": "Local notes."}}
    response = client.put(
        f"/api/v2/model/{imported_mirror.pk}/model-cards",
        json.dumps({"metadata": metadata}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    card = response.json()["card"]
    assert card["mirrored"] is False and card["version"] == 1 and card["metadata"] == metadata
    latest = client.get(f"/api/v2/model/{imported_mirror.pk}/model-card/latest").json()
    assert latest["modelCard"]["metadata"] == metadata
    source = client.get(f"/api/v2/model/{imported_mirror.pk}/model-card/latest?mirrored=true")
    assert source.json()["modelCard"]["metadata"] == SOURCE_CARD
    bad = client.put(
        f"/api/v2/model/{imported_mirror.pk}/model-cards",
        json.dumps({"metadata": {"anotherPage": {"sectionTwo": {"questionThree": "lots"}}}}),
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert ModelCardRevision.objects.filter(model=imported_mirror, mirrored=False).count() == 1


def test_before_the_first_import_there_is_nothing_to_add_information_to(
    client_for: Any, owner: User, mirror: Model
) -> None:
    response = client_for(owner).put(
        f"/api/v2/model/{mirror.pk}/model-cards",
        json.dumps({"metadata": {"overview": {"modelSummary": "Too early."}}}),
        content_type="application/json",
    )
    assert "no model card yet" in error_of(response, 400)
    redirected = client_for(owner).get(f"/model/{mirror.pk}/card/edit")
    assert redirected.status_code == 302 and redirected["Location"] == f"/model/{mirror.pk}"
    assert not ModelCardRevision.objects.filter(model=mirror).exists()


def test_additional_information_survives_a_new_import(
    client_for: Any, owner: User, imported_mirror: Model
) -> None:
    services.card_update(
        actor=Actor(user=owner),
        model=imported_mirror,
        metadata={"overview": {"modelSummary": "Checked by our team."}},
    )
    # A re-import brings the source's version 3; the local card is not touched.
    imported(imported_mirror, 3, {"overview": {"modelSummary": "Retrained in 2025."}})
    html = page(client_for(owner).get(f"/model/{imported_mirror.pk}"))
    assert "Retrained in 2025." in html and "Checked by our team." in html
    assert "Version 3, imported from the source" in html
    local = Model.objects.get(pk=imported_mirror.pk).card
    assert local is not None and local.metadata == {
        "overview": {"modelSummary": "Checked by our team."}
    }


def test_a_state_does_not_require_additional_information(
    owner: User, imported_mirror: Model, settings: Any
) -> None:
    # Additional information only adds to the source's answers, which are what a state asks.
    Model.objects.filter(pk=imported_mirror.pk).update(state="Production")
    model = Model.objects.get(pk=imported_mirror.pk)
    revision = services.card_update(actor=Actor(user=owner), model=model, metadata={})
    assert revision.version == 1 and revision.mirrored is False


# --- history, compare and migration --------------------------------------------------------------


def test_history_and_compare_use_the_source_revisions(
    client_for: Any, owner: User, imported_mirror: Model
) -> None:
    services.card_update(
        actor=Actor(user=owner),
        model=imported_mirror,
        metadata={"overview": {"modelSummary": "Local only."}},
    )
    client = client_for(owner)
    history = page(client.get(f"/model/{imported_mirror.pk}/card/history"))
    assert "as imported" in history
    rows = history.split("<tbody>")[1].split("</tbody>")[0]
    assert rows.count("<tr>") == 2  # the source's two versions, not the local one
    assert "(current)" in rows.split("</tr>")[0]
    compare = page(client.get(f"/model/{imported_mirror.pk}/card/compare?a=1&b=2"))
    assert "First draft." in compare and "Scores card payments for fraud." in compare
    assert "Local only." not in compare
    assert client.get(f"/model/{imported_mirror.pk}/card/compare?a=1&b=3").status_code == 404


@pytest.fixture
def to_v11(site_admin: User) -> SchemaMigration:
    """A final migration from the default model schema to a newer one."""
    admin = Actor(user=site_admin)
    services.schema_create(
        actor=admin,
        schema_id="general-v11",
        name="General v11",
        kind="model",
        json_schema={
            "type": "object",
            "properties": {
                "summary": {
                    "type": "object",
                    "title": "Summary",
                    "properties": {"text": {"type": "string", "title": "Text"}},
                }
            },
        },
    )
    return services.schema_migration_save(
        actor=admin,
        name="To v11",
        source_schema_id="minimal-general-v10",
        target_schema_id="general-v11",
        question_migrations=[
            {"kind": "move", "sourcePath": "overview.modelSummary", "targetPath": "summary.text"}
        ],
        draft=False,
    )


def test_migration_is_not_offered_while_the_local_card_follows_the_source_schema(
    client_for: Any, owner: User, imported_mirror: Model, to_v11: SchemaMigration
) -> None:
    actor = Actor(user=owner)
    services.card_update(actor=actor, model=imported_mirror, metadata={})
    model = Model.objects.get(pk=imported_mirror.pk)
    assert "A migration is available" not in page(client_for(owner).get(f"/model/{model.pk}"))
    with pytest.raises(BadRequest, match="already follows the schema of the imported card"):
        services.schema_migration_apply(actor=actor, model=model, migration=to_v11)
    posted = client_for(owner).post(f"/model/{model.pk}/card/migrate", {"migrationId": to_v11.pk})
    assert posted.status_code == 400
    refreshed = Model.objects.get(pk=model.pk)
    assert refreshed.card is not None and refreshed.card.schema_id == "minimal-general-v10"


def test_migration_is_offered_once_the_source_card_moved_to_another_schema(
    client_for: Any, owner: User, imported_mirror: Model, to_v11: SchemaMigration
) -> None:
    actor = Actor(user=owner)
    services.card_update(
        actor=actor, model=imported_mirror, metadata={"overview": {"modelSummary": "Ours."}}
    )
    imported(imported_mirror, 3, {"summary": {"text": "Moved."}}, schema_id="general-v11")
    client = client_for(owner)
    assert "A migration is available" in page(client.get(f"/model/{imported_mirror.pk}"))
    response = client.post(f"/model/{imported_mirror.pk}/card/migrate", {"migrationId": to_v11.pk})
    assert response.status_code == 302
    local = Model.objects.get(pk=imported_mirror.pk).card
    assert local is not None and local.schema_id == "general-v11"
    assert local.metadata["summary"] == {"text": "Ours."}
    # Now both follow general-v11: nothing more to offer.
    assert "A migration is available" not in page(client.get(f"/model/{imported_mirror.pk}"))


# --- selectors ------------------------------------------------------------------------------------


def test_the_selectors_say_whether_and_what_was_imported(mirror: Model) -> None:
    assert selectors.has_mirrored_revisions(mirror) is False
    assert selectors.latest_mirrored_revision(mirror) is None
    imported(mirror, 4, {"overview": {"modelSummary": "Four."}})
    imported(mirror, 2, {"overview": {"modelSummary": "Two."}})
    assert selectors.has_mirrored_revisions(mirror) is True
    latest = selectors.latest_mirrored_revision(mirror)
    assert latest is not None and latest.version == 4


# --- query counts --------------------------------------------------------------------------------


def test_query_count_of_a_mirrored_overview_does_not_grow_with_revisions_people_or_tags(
    client_for: Any, owner: User, make_user: Any, make_entry: Any, mirror_import: None
) -> None:
    def make(name: str, revisions: int, tags: list[str]) -> Model:
        model = make_entry(
            name,
            kind=EntryKind.MIRRORED_MODEL,
            tags=tags,
            settings_={"mirror": {"sourceModelId": SOURCE}},
        )
        for version in range(1, revisions + 1):
            imported(model, version, {"overview": {"modelSummary": f"Version {version}."}})
        services.card_update(
            actor=Actor(user=owner), model=model, metadata={"overview": {"modelSummary": "Ours."}}
        )
        return Model.objects.get(pk=model.pk)

    small = make("Small mirror", 1, ["one"])
    big = make("Big mirror", 8, [f"tag{i}" for i in range(12)])
    people = [make_user(f"watcher{i}") for i in range(10)]
    services.model_update(
        actor=Actor(user=owner),
        model=big,
        changes={
            "collaborators": [
                {"entity": f"user:{owner.username}", "roles": ["owner"]},
                *({"entity": f"user:{u.username}", "roles": ["consumer"]} for u in people),
            ]
        },
    )
    client = client_for(owner)
    client.get(f"/model/{small.pk}")  # warm caches (session, content types)

    def count(model: Model, path: str = "") -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(f"/model/{model.pk}{path}")
            assert response.status_code == 200
            assert "Original answer" in page(response)
        return len(ctx)

    assert count(big) == count(small)
    # The additional-information form and the history too.
    assert count(big, "/card/edit") == count(small, "/card/edit")
    client.get(f"/model/{small.pk}/card/history")
    with CaptureQueriesContext(connection) as small_history:
        client.get(f"/model/{small.pk}/card/history")
    with CaptureQueriesContext(connection) as big_history:
        client.get(f"/model/{big.pk}/card/history")
    assert len(big_history) == len(small_history)


def test_the_text_import_of_the_card_form_is_not_offered_on_a_mirrored_model(
    client_for: Any, owner: User, imported_mirror: Model
) -> None:
    response = client_for(owner).post(
        f"/model/{imported_mirror.pk}/card/import", {"text": "Summary: copied"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/model/{imported_mirror.pk}/card/edit"
    assert not ModelCardRevision.objects.filter(model=imported_mirror, mirrored=False).exists()


def test_the_ui_configuration_publishes_the_import_settings(client_for: Any, owner: User) -> None:
    config = client_for(owner).get("/api/v2/config/ui").json()["uiConfig"]
    assert config["modelMirror"]["import"] == {
        "enabled": False,
        "originalAnswerHeading": "Original answer",
        "additionalInfoHeading": "Additional information",
    }


def test_a_state_change_asks_the_source_card_not_the_additional_information(
    client_for: Any, owner: User, mirror: Model
) -> None:
    # The source's card lacks the summary Review requires: the state is refused.
    imported(mirror, 1, {"overview": {"tags": ["fraud"]}}, schema_id="extended-general-v1")
    client = client_for(owner)

    def move_to(state: str) -> Any:
        return client.patch(
            f"/api/v2/model/{mirror.pk}", {"state": state}, content_type="application/json"
        )

    assert "Summary" in json.dumps(move_to("Review").json())
    assert move_to("Review").status_code == 400
    # Additional information does not stand in for the source's answer...
    services.card_update(
        actor=Actor(user=owner),
        model=mirror,
        metadata={"overview": {"modelSummary": "Our summary."}},
    )
    assert move_to("Review").status_code == 400
    # ...and once the source's card answers it, the state is allowed.
    imported(
        mirror,
        2,
        {"overview": {"modelSummary": "Scores payments."}},
        schema_id="extended-general-v1",
    )
    assert move_to("Review").status_code == 200
    assert Model.objects.get(pk=mirror.pk).state == "Review"


def test_the_entry_json_carries_the_imported_card_as_mirrored_card(
    client_for: Any, owner: User, imported_mirror: Model
) -> None:
    client = client_for(owner)
    before = client.get(f"/api/v2/model/{imported_mirror.pk}").json()["model"]
    assert before["mirroredCard"]["version"] == 2 and before["mirroredCard"]["mirrored"] is True
    assert before["mirroredCard"]["metadata"] == SOURCE_CARD and "card" not in before
    services.card_update(
        actor=Actor(user=owner),
        model=imported_mirror,
        metadata={"overview": {"modelSummary": "Ours."}},
    )
    after = client.get(f"/api/v2/model/{imported_mirror.pk}").json()["model"]
    assert after["card"]["metadata"] == {"overview": {"modelSummary": "Ours."}}
    assert after["card"]["mirrored"] is False and after["mirroredCard"]["version"] == 2


def test_models_that_are_not_mirrored_have_no_mirrored_card(
    client_for: Any, owner: User, entry: Model
) -> None:
    assert "mirroredCard" not in client_for(owner).get(f"/api/v2/model/{entry.pk}").json()["model"]


@pytest.mark.parametrize("page_name", ["schema", "template"])
def test_a_mirrored_model_offers_no_schema_or_template_of_its_own(
    client_for: Any, owner: User, imported_mirror: Model, page_name: str
) -> None:
    client = client_for(owner)
    response = client.post(
        f"/model/{imported_mirror.pk}/{page_name}",
        {"schemaId": "extended-general-v1", "templateId": "anything"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/model/{imported_mirror.pk}/card/edit"
    assert not ModelCardRevision.objects.filter(model=imported_mirror, mirrored=False).exists()
