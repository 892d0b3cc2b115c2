"""Entry pages: create, overview (tabs, details, card, migration notice) and settings."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.hooks import Slots
from models_app import frame, services
from models_app.models import Collaborator, Model, ModelCardRevision, SchemaMigration
from models_app.policy import Actor

pytestmark = pytest.mark.django_db


def page(response: Any) -> str:
    return response.content.decode()


def with_card(
    model: Model,
    owner: User,
    metadata: dict[str, Any] | None = None,
    schema_id: str = "minimal-general-v10",
) -> Model:
    actor = Actor(user=owner)
    services.card_from_schema(actor=actor, model=model, schema_id=schema_id)
    if metadata is not None:
        services.card_update(actor=actor, model=model, metadata=metadata)
    return Model.objects.get(pk=model.pk)


def roles_of(model: Model) -> dict[str, set[str]]:
    result: dict[str, set[str]] = {}
    for row in Collaborator.objects.filter(model=model):
        result.setdefault(row.entity, set()).add(row.role)
    return result


# --- /entry/new ----------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in_before_creating(client_for: Any) -> None:
    response = client_for(None).get("/entry/new")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_create_form_offers_the_configured_organisations_and_states(
    client_for: Any, outsider: User, settings: Any
) -> None:
    settings.BAILO_UI = {
        **settings.BAILO_UI,
        "modelDetails": {"organisations": ["Org A", "Org B"], "states": ["Alpha", "Beta"]},
    }
    html = page(client_for(outsider).get("/entry/new"))
    for value in ["Org A", "Org B", "Alpha", "Beta", "Data card", "Model"]:
        assert value in html


def test_creating_a_model_makes_the_creator_owner_and_shows_its_page(
    client_for: Any, outsider: User, contributor: User
) -> None:
    client = client_for(outsider)
    response = client.post(
        "/entry/new",
        {
            "kind": "model",
            "name": "Fraud detector",
            "description": "Finds **fraud**.",
            "organisation": "Example Organisation",
            "state": "Development",
            "tags": "Finance, fraud, finance",
            "visibility": "private",
            "collaborators": "user:connie, contributor\n\n",
        },
    )
    model = Model.objects.get(name="Fraud detector")
    assert response.status_code == 302 and response["Location"] == f"/model/{model.pk}"
    assert model.visibility == "private" and model.state == "Development"
    assert roles_of(model) == {"user:olive": {"owner"}, "user:connie": {"contributor"}}
    assert sorted(model.tag_rows.values_list("name", flat=True)) == ["finance", "fraud"]
    overview = page(client.get(response["Location"]))
    assert "<strong>fraud</strong>" in overview and "was created" in overview


def test_a_data_card_is_created_and_its_bailo_address_redirects_to_the_entry_page(
    client_for: Any, outsider: User
) -> None:
    client = client_for(outsider)
    client.post(
        "/entry/new",
        {"kind": "data-card", "name": "Census", "description": "People.", "visibility": "public"},
    )
    card = Model.objects.get(name="Census")
    assert card.kind == "data-card"
    redirect = client.get(f"/data-card/{card.pk}")
    assert redirect.status_code == 302 and redirect["Location"] == f"/model/{card.pk}"


def test_collaborators_without_a_role_become_consumers(client_for: Any, outsider: User) -> None:
    client_for(outsider).post(
        "/entry/new",
        {
            "kind": "model",
            "name": "Quiet",
            "description": "d",
            "visibility": "public",
            "collaborators": "user:olive, owner\ngroup:readers",
        },
    )
    assert roles_of(Model.objects.get(name="Quiet")) == {
        "user:olive": {"owner"},
        "group:readers": {"consumer"},
    }


def test_a_missing_name_is_a_field_error_and_nothing_is_created(
    client_for: Any, outsider: User
) -> None:
    response = client_for(outsider).post(
        "/entry/new", {"kind": "model", "name": "", "description": "d", "visibility": "public"}
    )
    html = page(response)
    assert response.status_code == 400
    assert re.search(r'name="name"[^>]*aria-invalid="true"', html)
    assert 'aria-describedby="id_name_error"' in html and 'id="id_name_error"' in html
    assert not Model.objects.exists()


def test_an_organisation_outside_the_configured_list_is_refused(
    client_for: Any, outsider: User
) -> None:
    response = client_for(outsider).post(
        "/entry/new",
        {
            "kind": "model",
            "name": "X",
            "description": "d",
            "visibility": "public",
            "organisation": "Nope Ltd",
        },
    )
    assert response.status_code == 400 and not Model.objects.exists()


def test_an_unknown_collaborator_is_a_form_error_from_the_service(
    client_for: Any, outsider: User
) -> None:
    response = client_for(outsider).post(
        "/entry/new",
        {
            "kind": "model",
            "name": "X",
            "description": "d",
            "visibility": "public",
            "collaborators": "user:nobody-here, contributor",
        },
    )
    assert response.status_code == 400
    assert "Unknown user &#x27;nobody-here&#x27;" in page(response)
    assert not Model.objects.exists()


# --- /model/<id> ---------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["owner", "contributor", "consumer", "reviewer", "site_admin"])
def test_people_with_a_role_and_admins_see_a_private_entry(
    client_for: Any, personas: dict[str, User], entry: Model, persona: str
) -> None:
    response = client_for(personas[persona]).get(f"/model/{entry.pk}")
    assert response.status_code == 200 and entry.name in page(response)


def test_an_outsider_gets_404_for_a_private_entry(
    client_for: Any, outsider: User, entry: Model
) -> None:
    assert client_for(outsider).get(f"/model/{entry.pk}").status_code == 404


def test_an_unknown_entry_is_404(client_for: Any, outsider: User) -> None:
    assert client_for(outsider).get("/model/no-such-thing-abc123").status_code == 404


def test_an_outsider_can_read_a_public_entry(
    client_for: Any, outsider: User, public_entry: Model
) -> None:
    response = client_for(outsider).get(f"/model/{public_entry.pk}")
    assert response.status_code == 200
    assert "Your roles</dt><dd>None" in page(response)


def test_anonymous_visitors_are_sent_to_sign_in_for_an_entry(
    client_for: Any, public_entry: Model
) -> None:
    assert client_for(None).get(f"/model/{public_entry.pk}").status_code == 302


def test_the_details_panel_lists_organisation_state_tags_roles_and_collaborators(
    client_for: Any, owner: User, make_entry: Any
) -> None:
    model = make_entry(
        "Detailed", organisation="Example Organisation", state="Review", tags=["vision", "cnn"]
    )
    html = page(client_for(owner).get(f"/model/{model.pk}"))
    for text in ["Example Organisation", "Review", "vision", "cnn", "Private", "user:connie"]:
        assert text in html
    assert "Your roles</dt><dd>Owner</dd>" in html
    assert "Model Senior Responsible Officer (msro)" in html


def tab_labels(html: str) -> list[str]:
    nav = html.split('class="entry-tabs"')[1].split("</nav>")[0]
    return re.findall(r">([A-Za-z ]+)</a>", nav)


@pytest.fixture
def own_tabs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the tabs this feature registers (later features add their own)."""
    keep: Slots[frame.EntryTab] = Slots("tabs under test")
    for tab in frame.ENTRY_TABS:
        if tab.key in {"overview", "settings"}:
            keep.add(tab)
    monkeypatch.setattr(frame, "ENTRY_TABS", keep)


def test_owners_see_overview_first_and_settings_last(
    client_for: Any, owner: User, entry: Model
) -> None:
    html = page(client_for(owner).get(f"/model/{entry.pk}"))
    labels = tab_labels(html)
    assert labels[0] == "Overview" and labels[-1] == "Settings"
    assert f'href="/model/{entry.pk}" aria-current="page"' in html


def test_data_cards_have_only_overview_and_settings_tabs(
    client_for: Any, owner: User, make_entry: Any
) -> None:
    card = make_entry("Census", kind="data-card")
    assert tab_labels(page(client_for(owner).get(f"/model/{card.pk}"))) == ["Overview", "Settings"]


def test_contributors_do_not_see_the_settings_tab(
    client_for: Any, contributor: User, entry: Model
) -> None:
    html = page(client_for(contributor).get(f"/model/{entry.pk}"))
    assert f"/model/{entry.pk}/settings" not in html and "Settings" not in tab_labels(html)


@pytest.mark.usefixtures("own_tabs")
def test_a_registered_tab_appears_in_order_for_the_kinds_it_names(
    client_for: Any, owner: User, entry: Model, make_entry: Any
) -> None:
    frame.ENTRY_TABS.add(
        frame.EntryTab("history", "History", "card-history", 20, frame.MODEL_KINDS)
    )
    as_model = tab_labels(page(client_for(owner).get(f"/model/{entry.pk}")))
    assert as_model == ["Overview", "History", "Settings"]
    card = make_entry("Census", kind="data-card")
    assert tab_labels(page(client_for(owner).get(f"/model/{card.pk}"))) == ["Overview", "Settings"]


def test_without_a_card_editors_are_offered_a_schema_and_others_told_there_is_none(
    client_for: Any, owner: User, consumer: User, entry: Model
) -> None:
    as_owner = page(client_for(owner).get(f"/model/{entry.pk}"))
    assert f"/model/{entry.pk}/schema" in as_owner and f"/model/{entry.pk}/template" in as_owner
    as_consumer = page(client_for(consumer).get(f"/model/{entry.pk}"))
    assert "No card yet." in as_consumer and "/schema" not in as_consumer


def test_the_card_is_shown_read_only_by_page_with_markdown_rendered(
    client_for: Any, owner: User, consumer: User, entry: Model
) -> None:
    with_card(
        entry,
        owner,
        {
            "overview": {"modelSummary": "It *detects* things", "tags": ["a", "b"]},
            "performance": {"accuracy": 0.91, "biasReviewed": True},
        },
        schema_id="extended-general-v1",
    )
    html = page(client_for(consumer).get(f"/model/{entry.pk}"))
    for text in ["Overview", "Intended use", "Performance", "Summary", "<em>detects</em>", "0.91"]:
        assert text in html
    assert "Bias has been reviewed" in html and "Yes" in html
    assert "Version 2" in html and "<form" not in html.split('id="card-heading"')[1]
    assert f"/model/{entry.pk}/card/edit" not in html


def test_query_count_of_the_overview_does_not_grow_with_collaborators_or_tags(
    client_for: Any, owner: User, make_user: Any, make_entry: Any
) -> None:
    small = with_card(make_entry("Small", tags=["one"]), owner, {})
    big = with_card(make_entry("Big", tags=[f"tag{i}" for i in range(15)]), owner, {})
    extra = [make_user(f"extra{i}") for i in range(12)]
    people = [{"entity": f"user:{u.username}", "roles": ["consumer"]} for u in extra]
    services.model_update(
        actor=Actor(user=owner),
        model=big,
        changes={"collaborators": [{"entity": "user:owen", "roles": ["owner"]}, *people]},
    )
    client = client_for(owner)
    client.get(f"/model/{small.pk}")  # warm caches (session, content types)

    def count(model: Model) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/model/{model.pk}").status_code == 200
        return len(ctx)

    assert count(big) == count(small)


# --- migration notice ----------------------------------------------------------------------------


@pytest.fixture
def migration(site_admin: User) -> Iterator[SchemaMigration]:
    target = services.schema_create(
        actor=Actor(user=site_admin),
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
    yield services.schema_migration_save(
        actor=Actor(user=site_admin),
        name="To v11",
        source_schema_id="minimal-general-v10",
        target_schema_id=target.pk,
        question_migrations=[
            {"kind": "move", "sourcePath": "overview.modelSummary", "targetPath": "summary.text"}
        ],
        draft=False,
    )


def test_owners_are_told_a_migration_is_available_and_can_apply_it(
    client_for: Any, owner: User, entry: Model, migration: SchemaMigration
) -> None:
    with_card(entry, owner, {"overview": {"modelSummary": "Moved text"}})
    client = client_for(owner)
    assert "A migration is available" in page(client.get(f"/model/{entry.pk}"))
    response = client.post(f"/model/{entry.pk}/card/migrate", {"migrationId": migration.pk})
    assert response.status_code == 302
    card = ModelCardRevision.objects.get(pk=Model.objects.get(pk=entry.pk).card_id)
    assert card.schema_id == "general-v11"
    assert card.metadata["summary"] == {"text": "Moved text"}
    assert "A migration is available" not in page(client.get(f"/model/{entry.pk}"))


def test_contributors_see_no_migration_notice_and_cannot_apply_one(
    client_for: Any, owner: User, contributor: User, entry: Model, migration: SchemaMigration
) -> None:
    with_card(entry, owner, {})
    client = client_for(contributor)
    assert "A migration is available" not in page(client.get(f"/model/{entry.pk}"))
    response = client.post(f"/model/{entry.pk}/card/migrate", {"migrationId": migration.pk})
    assert response.status_code == 403
    assert Model.objects.get(pk=entry.pk).card.schema_id == "minimal-general-v10"  # type: ignore[union-attr]


def test_applying_an_unavailable_migration_shows_the_error_on_the_overview(
    client_for: Any, owner: User, entry: Model
) -> None:
    with_card(entry, owner, {})
    response = client_for(owner).post(f"/model/{entry.pk}/card/migrate", {"migrationId": "nope"})
    assert response.status_code == 400
    assert "That migration is not available" in page(response)


# --- /model/<id>/settings ------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["owner", "site_admin"])
def test_owners_and_admins_open_the_settings(
    client_for: Any, personas: dict[str, User], entry: Model, persona: str
) -> None:
    html = page(client_for(personas[persona]).get(f"/model/{entry.pk}/settings"))
    for heading in ["Details", "Access", "Settings", "Add a collaborator"]:
        assert f">{heading}</h" in html


@pytest.mark.parametrize("persona", ["contributor", "consumer", "reviewer"])
def test_other_collaborators_get_403_on_settings(
    client_for: Any, personas: dict[str, User], entry: Model, persona: str
) -> None:
    client = client_for(personas[persona])
    assert client.get(f"/model/{entry.pk}/settings").status_code == 403
    response = client.post(
        f"/model/{entry.pk}/settings", {"form": "settings", "settings-allow_templating": "on"}
    )
    assert response.status_code == 403
    assert not Model.objects.get(pk=entry.pk).allow_templating


def test_an_outsider_gets_404_on_the_settings_of_a_private_entry(
    client_for: Any, outsider: User, entry: Model
) -> None:
    assert client_for(outsider).get(f"/model/{entry.pk}/settings").status_code == 404


def test_an_outsider_gets_403_on_the_settings_of_a_public_entry(
    client_for: Any, outsider: User, public_entry: Model
) -> None:
    assert client_for(outsider).get(f"/model/{public_entry.pk}/settings").status_code == 403


def details(**changes: Any) -> dict[str, Any]:
    data = {
        "form": "details",
        "details-name": "Private model",
        "details-description": "A model for tests",
        "details-organisation": "",
        "details-state": "",
        "details-tags": "",
        "details-visibility": "private",
    }
    data.update({f"details-{k}": v for k, v in changes.items()})
    return data


def test_owners_change_the_details(client_for: Any, owner: User, entry: Model) -> None:
    response = client_for(owner).post(
        f"/model/{entry.pk}/settings",
        details(name="Renamed", tags="a, b", visibility="public", state="Development"),
    )
    assert response.status_code == 302
    model = Model.objects.get(pk=entry.pk)
    assert (model.name, model.visibility, model.state) == ("Renamed", "public", "Development")
    assert sorted(model.tag_rows.values_list("name", flat=True)) == ["a", "b"]


def test_an_empty_description_is_a_field_error(client_for: Any, owner: User, entry: Model) -> None:
    response = client_for(owner).post(f"/model/{entry.pk}/settings", details(description=""))
    assert response.status_code == 400
    assert 'id="id_details-description_error"' in page(response)


def test_a_state_the_card_does_not_satisfy_is_refused_and_nothing_changes(
    client_for: Any, owner: User, entry: Model
) -> None:
    with_card(entry, owner, {}, schema_id="extended-general-v1")
    response = client_for(owner).post(
        f"/model/{entry.pk}/settings", details(state="Production", name="Changed too")
    )
    assert response.status_code == 400
    assert "does not meet the requirements of state" in page(response)
    model = Model.objects.get(pk=entry.pk)
    assert (model.state, model.name) == ("", "Private model")


def test_the_state_field_says_what_each_state_still_needs(
    client_for: Any, owner: User, entry: Model
) -> None:
    from tests.models_app.test_api_entries import with_state_rules

    with_state_rules(entry, owner, {"overview": {"summary": "Finds cats."}})
    html = page(client_for(owner).get(f"/model/{entry.pk}/settings"))
    assert 'id="id_details-state_helptext"' in html
    assert "Production needs answers to: Known risks." in html
    assert "Review needs" not in html


def test_a_refused_state_is_explained_beside_the_state_field(
    client_for: Any, owner: User, entry: Model
) -> None:
    from tests.models_app.test_api_entries import with_state_rules

    with_state_rules(entry, owner, {"overview": {"summary": ""}})
    response = client_for(owner).post(f"/model/{entry.pk}/settings", details(state="Review"))
    assert response.status_code == 400
    html = page(response)
    assert 'id="id_details-state_error"' in html
    error = html.split('id="id_details-state_error"', 1)[1].split("</small>", 1)[0]
    assert "What does the model do? (overview.summary)" in error
    assert Model.objects.get(pk=entry.pk).state == ""


def test_removing_the_last_owner_is_refused(client_for: Any, owner: User, entry: Model) -> None:
    collaborators = ["user:owen", "user:connie", "user:cody", "user:rita"]
    data: dict[str, Any] = {"form": "access", "entity": collaborators, "row-0-remove": "1"}
    for index, name in enumerate(collaborators[1:], start=1):
        data[f"row-{index}-roles"] = ["consumer"]
    response = client_for(owner).post(f"/model/{entry.pk}/settings", data)
    assert response.status_code == 400
    assert "at least one owner" in page(response)
    assert roles_of(entry)["user:owen"] == {"owner"}


def test_owners_change_roles_and_remove_collaborators(
    client_for: Any, owner: User, entry: Model
) -> None:
    data = {
        "form": "access",
        "entity": ["user:owen", "user:connie", "user:cody", "user:rita"],
        "row-0-roles": ["owner"],
        "row-1-roles": ["owner", "contributor"],
        "row-2-remove": "1",
        "row-3-roles": ["msro", "mtr", "not-a-role"],
    }
    response = client_for(owner).post(f"/model/{entry.pk}/settings", data)
    assert response.status_code == 302
    assert roles_of(entry) == {
        "user:owen": {"owner"},
        "user:connie": {"owner", "contributor"},
        "user:rita": {"msro", "mtr"},
    }


def test_owners_add_a_user_or_group_collaborator(
    client_for: Any, owner: User, outsider: User, entry: Model
) -> None:
    client = client_for(owner)
    url = f"/model/{entry.pk}/settings"
    added = client.post(
        url,
        {"form": "add-collaborator", "add-kind": "user", "add-name": "olive", "add-roles": "mtr"},
    )
    assert added.status_code == 302
    client.post(
        url,
        {
            "form": "add-collaborator",
            "add-kind": "group",
            "add-name": "ops",
            "add-roles": "consumer",
        },
    )
    assert roles_of(entry)["user:olive"] == {"mtr"}
    assert roles_of(entry)["group:ops"] == {"consumer"}


def test_adding_an_existing_collaborator_is_refused(
    client_for: Any, owner: User, entry: Model
) -> None:
    response = client_for(owner).post(
        f"/model/{entry.pk}/settings",
        {"form": "add-collaborator", "add-kind": "user", "add-name": "cody", "add-roles": "owner"},
    )
    assert response.status_code == 400
    assert "listed more than once" in page(response)
    assert roles_of(entry)["user:cody"] == {"consumer"}


def test_adding_a_collaborator_needs_a_role(client_for: Any, owner: User, entry: Model) -> None:
    response = client_for(owner).post(
        f"/model/{entry.pk}/settings",
        {"form": "add-collaborator", "add-kind": "user", "add-name": "olive"},
    )
    assert response.status_code == 400 and 'id="id_add-roles_error"' in page(response)


def test_owners_switch_ungoverned_access_and_templating(
    client_for: Any, owner: User, entry: Model
) -> None:
    client = client_for(owner)
    url = f"/model/{entry.pk}/settings"
    client.post(url, {"form": "settings", "settings-ungoverned_access": "on"})
    model = Model.objects.get(pk=entry.pk)
    assert model.ungoverned_access and not model.allow_templating
    client.post(url, {"form": "settings", "settings-allow_templating": "on"})
    model = Model.objects.get(pk=entry.pk)
    assert model.allow_templating and not model.ungoverned_access


def test_data_cards_have_no_ungoverned_access_setting(client_for: Any, make_entry: Any) -> None:
    card = make_entry("Census", kind="data-card")
    owner = User.objects.get(username="owen")
    html = page(client_for(owner).get(f"/model/{card.pk}/settings"))
    assert "Allow templating" in html and "Ungoverned access" not in html


def test_an_unknown_settings_form_is_a_bad_request(
    client_for: Any, owner: User, entry: Model
) -> None:
    response = client_for(owner).post(f"/model/{entry.pk}/settings", {"form": "nope"})
    assert response.status_code == 400


def test_registered_settings_sections_render_after_the_built_in_ones(
    client_for: Any, owner: User, entry: Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(frame, "SETTINGS_SECTIONS", Slots("sections under test"))
    html = page(client_for(owner).get(f"/model/{entry.pk}/settings"))
    assert "Deletion" not in html
    frame.SETTINGS_SECTIONS.add(
        frame.SettingsSection("deletion", "Deletion", "models_app/_card_compare_form.html", 90)
    )
    html = page(client_for(owner).get(f"/model/{entry.pk}/settings"))
    assert 'href="#deletion">Deletion</a>' in html
    # A stand-in template: it renders after the built-in sections.
    assert html.index('id="settings-heading"') < html.index('class="compare-form"')
