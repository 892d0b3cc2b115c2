"""Card pages: choosing a schema or template, editing, history and comparison."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User

from models_app import services
from models_app.models import Model, ModelCardRevision, Schema
from models_app.policy import Actor

pytestmark = pytest.mark.django_db

# Our extended schema: its questions (state rules, enums, dates) are what these pages are tested on.
GENERAL = "extended-general-v1"


def page(response: Any) -> str:
    return response.content.decode()


def versions(model: Model) -> list[int]:
    return sorted(ModelCardRevision.objects.filter(model=model).values_list("version", flat=True))


def start_card(model: Model, owner: User, *saves: dict[str, Any]) -> Model:
    actor = Actor(user=owner)
    services.card_from_schema(actor=actor, model=model, schema_id=GENERAL)
    for metadata in saves:
        services.card_update(actor=actor, model=model, metadata=metadata)
    return Model.objects.get(pk=model.pk)


def field_tag(html: str, name: str) -> str:
    match = re.search(rf'<(?:input|textarea|select)[^>]*name="{re.escape(name)}"[^>]*>', html)
    assert match, f"no input named {name}"
    return match.group(0)


# --- choosing a schema ---------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["owner", "contributor"])
def test_editors_see_the_visible_schemas_of_their_entrys_kind(
    client_for: Any, personas: dict[str, User], entry: Model, persona: str, site_admin: User
) -> None:
    Schema.objects.create(
        id="secret-v1", name="Hidden one", kind="model", json_schema={}, hidden=True
    )
    response = client_for(personas[persona]).get(f"/model/{entry.pk}/schema")
    html = page(response)
    assert response.status_code == 200
    assert "Minimal Schema v10" in html and "Extended general model card" in html
    assert "Hidden one" not in html and "Data Card Schema" not in html
    assert "Access Request Schema" not in html and "Extended access request" not in html


def test_a_data_card_is_offered_data_card_schemas(
    client_for: Any, owner: User, make_entry: Any
) -> None:
    card = make_entry("Census", kind="data-card")
    html = page(client_for(owner).get(f"/model/{card.pk}/schema"))
    assert "Minimal Data Card Schema v10" in html and "Extended data card" in html
    assert "Minimal Schema v10" not in html


@pytest.mark.parametrize("persona", ["consumer", "reviewer"])
def test_consumers_and_reviewers_cannot_choose_a_schema(
    client_for: Any, personas: dict[str, User], entry: Model, persona: str
) -> None:
    client = client_for(personas[persona])
    assert client.get(f"/model/{entry.pk}/schema").status_code == 403
    assert client.post(f"/model/{entry.pk}/schema", {"schemaId": GENERAL}).status_code == 403
    assert versions(entry) == []


def test_an_outsider_gets_404_choosing_a_schema_for_a_private_entry(
    client_for: Any, outsider: User, entry: Model
) -> None:
    assert client_for(outsider).get(f"/model/{entry.pk}/schema").status_code == 404
    assert (
        client_for(outsider).post(f"/model/{entry.pk}/schema", {"schemaId": GENERAL}).status_code
        == 404
    )


def test_choosing_a_schema_writes_version_one_and_opens_the_form(
    client_for: Any, owner: User, entry: Model
) -> None:
    response = client_for(owner).post(f"/model/{entry.pk}/schema", {"schemaId": GENERAL})
    assert response.status_code == 302 and response["Location"] == f"/model/{entry.pk}/card/edit"
    assert versions(entry) == [1]


def test_choosing_a_hidden_or_unknown_schema_shows_why_on_the_page(
    client_for: Any, owner: User, entry: Model
) -> None:
    Schema.objects.create(id="secret-v1", name="Hidden", kind="model", json_schema={}, hidden=True)
    client = client_for(owner)
    hidden = client.post(f"/model/{entry.pk}/schema", {"schemaId": "secret-v1"})
    assert hidden.status_code == 400 and "is hidden" in page(hidden)
    unknown = client.post(f"/model/{entry.pk}/schema", {"schemaId": "nope"})
    assert unknown.status_code == 404 and "Schema nope not found" in page(unknown)
    assert versions(entry) == []


def test_an_entry_with_a_card_sends_the_schema_page_to_the_editor(
    client_for: Any, owner: User, entry: Model
) -> None:
    start_card(entry, owner)
    response = client_for(owner).get(f"/model/{entry.pk}/schema")
    assert response.status_code == 302 and response["Location"].endswith("/card/edit")


# --- templates -----------------------------------------------------------------------------------


def test_templates_list_only_visible_entries_that_allow_templating(
    client_for: Any, owner: User, outsider: User, entry: Model, make_entry: Any
) -> None:
    shared = start_card(make_entry("Shared model", visibility="public"), owner, {})
    services.model_update(
        actor=Actor(user=owner), model=shared, changes={"settings": {"allowTemplating": True}}
    )
    start_card(make_entry("Closed model", visibility="public"), owner, {})
    private = start_card(make_entry("Secret model"), owner, {})
    services.model_update(
        actor=Actor(user=owner), model=private, changes={"settings": {"allowTemplating": True}}
    )
    mine = services.model_create(
        actor=Actor(user=outsider), name="Mine", description="d", visibility="private"
    )
    html = page(client_for(outsider).get(f"/model/{mine.pk}/template"))
    assert "Shared model" in html
    assert "Closed model" not in html and "Secret model" not in html


def test_using_a_template_copies_its_answers(
    client_for: Any, owner: User, entry: Model, make_entry: Any
) -> None:
    source = start_card(
        make_entry("Source", visibility="public"), owner, {"intendedUse": {"riskLevel": "Low"}}
    )
    services.model_update(
        actor=Actor(user=owner), model=source, changes={"settings": {"allowTemplating": True}}
    )
    response = client_for(owner).post(f"/model/{entry.pk}/template", {"templateId": source.pk})
    assert response.status_code == 302
    card = ModelCardRevision.objects.get(model=entry)
    assert card.metadata == {"intendedUse": {"riskLevel": "Low"}}


def test_a_template_that_does_not_allow_templating_is_refused_on_the_page(
    client_for: Any, owner: User, entry: Model, public_entry: Model
) -> None:
    start_card(public_entry, owner, {})
    response = client_for(owner).post(
        f"/model/{entry.pk}/template", {"templateId": public_entry.pk}
    )
    assert response.status_code == 400 and "does not allow templating" in page(response)


def test_consumers_cannot_use_a_template(client_for: Any, consumer: User, entry: Model) -> None:
    assert client_for(consumer).get(f"/model/{entry.pk}/template").status_code == 403


# --- editing -------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["consumer", "reviewer"])
def test_consumers_and_reviewers_get_403_editing_the_card(
    client_for: Any, personas: dict[str, User], owner: User, entry: Model, persona: str
) -> None:
    start_card(entry, owner)
    client = client_for(personas[persona])
    assert client.get(f"/model/{entry.pk}/card/edit").status_code == 403
    response = client.post(f"/model/{entry.pk}/card/edit", {"card.performance.accuracy": "0.5"})
    assert response.status_code == 403
    assert versions(entry) == [1]


def test_an_outsider_gets_404_editing_a_private_card(
    client_for: Any, outsider: User, owner: User, entry: Model
) -> None:
    start_card(entry, owner)
    assert client_for(outsider).get(f"/model/{entry.pk}/card/edit").status_code == 404


def test_an_outsider_gets_403_editing_a_public_card(
    client_for: Any, outsider: User, owner: User, public_entry: Model
) -> None:
    start_card(public_entry, owner)
    assert client_for(outsider).get(f"/model/{public_entry.pk}/card/edit").status_code == 403


def test_editing_before_a_schema_is_chosen_leads_to_the_schema_page(
    client_for: Any, owner: User, entry: Model
) -> None:
    response = client_for(owner).get(f"/model/{entry.pk}/card/edit")
    assert response.status_code == 302 and response["Location"] == f"/model/{entry.pk}/schema"


def test_the_form_has_a_tab_per_page_completion_and_required_markers(
    client_for: Any, contributor: User, owner: User, make_entry: Any
) -> None:
    model = start_card(make_entry("Staged", state="Development"), owner)
    Model.objects.filter(pk=model.pk).update(state="Production")
    html = page(client_for(contributor).get(f"/model/{model.pk}/card/edit"))
    nav = html.split('aria-label="Card pages"')[1].split("</nav>")[0]
    assert re.findall(r'<a href="#[^"]+">([^<]+)</a>', nav) == [
        "Overview",
        "Intended use",
        "Performance",
    ]
    assert "0 of 3 answered" in nav and "0 of 4 answered" in nav
    assert "(required in Production)" in html  # purpose: requiredByModelStates
    assert 'name="card.intendedUse.riskLevel"' in html and '<option value="High"' in html
    assert 'type="date"' in field_tag(html, "card.performance.lastEvaluated")
    assert 'type="radio"' in field_tag(html, "card.performance.biasReviewed")
    assert 'value="" checked' in html  # the yes/no question starts as "Not answered"
    assert field_tag(html, "card.overview.modelSummary").startswith("<textarea")


def test_an_invalid_answer_is_shown_beside_its_field_and_nothing_is_saved(
    client_for: Any, owner: User, entry: Model
) -> None:
    start_card(entry, owner)
    response = client_for(owner).post(
        f"/model/{entry.pk}/card/edit",
        {"card.performance.accuracy": "7", "card.intendedUse.riskLevel": "High"},
    )
    html = page(response)
    assert response.status_code == 400
    tag = field_tag(html, "card.performance.accuracy")
    assert 'aria-invalid="true"' in tag and 'value="7"' in tag
    described = re.search(r'aria-describedby="([^"]+)"', tag)
    assert described and "q-performance--accuracy-error" in described.group(1).split()
    assert re.search(
        r'id="q-performance--accuracy-error"[^>]*>7 is greater than the maximum of 1<', html
    )
    assert "aria-invalid" not in field_tag(html, "card.intendedUse.riskLevel")
    assert "The card was not saved" in html
    assert versions(entry) == [1]


def test_a_valid_save_writes_a_new_revision_with_typed_values(
    client_for: Any, contributor: User, owner: User, entry: Model
) -> None:
    start_card(entry, owner)
    client = client_for(contributor)
    response = client.post(
        f"/model/{entry.pk}/card/edit",
        {
            "card.overview.modelSummary": "Spots cats.",
            "card.overview.tags": "vision, cats",
            "card.performance.accuracy": "0.93",
            "card.performance.biasReviewed": "true",
            "card.intendedUse.purpose": "",
        },
    )
    assert response.status_code == 302 and response["Location"] == f"/model/{entry.pk}"
    card = ModelCardRevision.objects.get(model=entry, version=2)
    assert card.metadata == {
        "overview": {"modelSummary": "Spots cats.", "tags": ["vision", "cats"]},
        "performance": {"accuracy": 0.93, "biasReviewed": True},
    }
    assert card.created_by == contributor
    assert "Card saved as version 2" in page(client.get(response["Location"]))


def test_a_state_requirement_is_enforced_beside_the_question(
    client_for: Any, owner: User, make_entry: Any
) -> None:
    model = start_card(make_entry("Strict", state="Development"), owner)
    Model.objects.filter(pk=model.pk).update(state="Production")
    response = client_for(owner).post(
        f"/model/{model.pk}/card/edit", {"card.overview.modelSummary": "Enough."}
    )
    assert response.status_code == 400
    assert "is required in state &#x27;Production&#x27;" in page(response)
    assert 'aria-invalid="true"' in field_tag(page(response), "card.intendedUse.purpose")
    assert versions(model) == [1]


def test_the_edit_form_shows_the_current_answers(
    client_for: Any, owner: User, entry: Model
) -> None:
    start_card(entry, owner, {"performance": {"accuracy": 0.5, "biasReviewed": True}})
    html = page(client_for(owner).get(f"/model/{entry.pk}/card/edit"))
    assert 'value="0.5"' in field_tag(html, "card.performance.accuracy")
    assert "checked" in field_tag(html, "card.performance.biasReviewed")


# --- history and comparison ----------------------------------------------------------------------


def test_the_history_lists_versions_with_author_and_schema(
    client_for: Any, owner: User, consumer: User, entry: Model
) -> None:
    start_card(entry, owner, {}, {"performance": {"accuracy": 0.1}})
    response = client_for(consumer).get(f"/model/{entry.pk}/card/history")
    html = page(response)
    assert response.status_code == 200
    rows = re.findall(r'<th scope="row">(\d+)', html)
    assert rows == ["3", "2", "1"]
    assert "owen" in html and GENERAL in html
    assert '<option value="2" selected>' in html and '<option value="3" selected>' in html


def test_an_outsider_gets_404_on_the_history_of_a_private_entry(
    client_for: Any, outsider: User, owner: User, entry: Model
) -> None:
    start_card(entry, owner)
    assert client_for(outsider).get(f"/model/{entry.pk}/card/history").status_code == 404
    assert client_for(outsider).get(f"/model/{entry.pk}/card/compare?a=1&b=1").status_code == 404


def test_comparing_two_versions_highlights_changed_rows(
    client_for: Any, owner: User, consumer: User, entry: Model
) -> None:
    start_card(
        entry,
        owner,
        {"performance": {"accuracy": 0.5}, "intendedUse": {"riskLevel": "Low"}},
        {"performance": {"accuracy": 0.75}, "intendedUse": {"riskLevel": "Low"}},
    )
    response = client_for(consumer).get(f"/model/{entry.pk}/card/compare?a=2&b=3")
    html = page(response)
    assert response.status_code == 200
    changed = re.findall(r'<tr class="changed">(.*?)</tr>', html, re.S)
    assert len(changed) == 1
    assert "Headline accuracy" in changed[0] and "(changed)" in changed[0]
    assert "0.5" in changed[0] and "0.75" in changed[0]
    assert "1 answer changed" in html
    assert html.count('<tr class="changed">') == html.count('class="visually-hidden">(changed)')


@pytest.mark.parametrize("query", ["", "?a=1", "?a=x&b=1", "?a=0&b=1"])
def test_comparing_without_two_valid_versions_is_a_bad_request(
    client_for: Any, owner: User, entry: Model, query: str
) -> None:
    start_card(entry, owner)
    response = client_for(owner).get(f"/model/{entry.pk}/card/compare{query}")
    assert response.status_code == 400 and 'role="alert"' in page(response)


def test_comparing_a_version_that_does_not_exist_is_404(
    client_for: Any, owner: User, entry: Model
) -> None:
    start_card(entry, owner)
    assert client_for(owner).get(f"/model/{entry.pk}/card/compare?a=1&b=9").status_code == 404


def test_bailos_default_model_schema_is_edited_and_saved_through_the_form(
    client_for: Any, owner: User, entry: Model
) -> None:
    services.card_from_schema(actor=Actor(user=owner), model=entry, schema_id="minimal-general-v10")
    client = client_for(owner)
    html = page(client.get(f"/model/{entry.pk}/card/edit"))
    for name in (
        "card.overview.modelSummary",
        "card.overview.datasets",
        "card.overview.metrics",
        "card.anotherPage.sectionOne.q3",
        "card.anotherPage.sectionTwo.questionFour",
    ):
        field_tag(html, name)
    response = client.post(
        f"/model/{entry.pk}/card/edit",
        {
            "card.overview.modelSummary": "Finds cats.",
            "card.overview.metrics": '[{"name": "accuracy", "value": 0.9}]',
            "card.anotherPage.sectionOne.q3": "2026-12-03",
        },
    )
    assert response.status_code == 302, page(response)
    card = Model.objects.get(pk=entry.pk).card
    assert card is not None and card.metadata == {
        "overview": {
            "modelSummary": "Finds cats.",
            "metrics": [{"name": "accuracy", "value": 0.9}],
        },
        "anotherPage": {"sectionOne": {"q3": "2026-12-03"}},
    }
