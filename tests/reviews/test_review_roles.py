"""Administrators create, edit and delete review roles, from the services and the Review roles tab
of the administration pages; nobody else can."""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import BadRequest, Conflict, Forbidden
from models_app.models import Collaborator, Schema
from models_app.policy import Actor
from reviews.models import Response, Review, ReviewRole
from reviews.roles import services as role_services

pytestmark = pytest.mark.django_db


def create(user: Any, **body: Any) -> ReviewRole:
    return role_services.review_role_create(actor=Actor(user=user), body=body)


# --- services -----------------------------------------------------------------------------------


def test_the_default_roles_msro_and_mtr_are_seeded() -> None:
    names = dict(ReviewRole.objects.values_list("short_name", "name"))
    assert names == {
        "msro": "Model Senior Responsible Officer",
        "mtr": "Model Technical Reviewer",
    }


def test_an_administrator_creates_a_role_with_its_fields(site_admin: Any) -> None:
    role = create(
        site_admin,
        shortName="ethics",
        name="Ethics reviewer",
        description="Checks the ethics case",
        defaultEntities=["group:ethics", "user:ed", "group:ethics"],
        lockEntities=True,
        kind="review",
    )
    assert (role.short_name, role.name, role.description) == (
        "ethics",
        "Ethics reviewer",
        "Checks the ethics case",
    )
    assert role.default_entities == ["group:ethics", "user:ed"] and role.lock_entities
    assert role_services.review_role_json(role)["shortName"] == "ethics"


def test_bailos_short_field_name_is_accepted(site_admin: Any) -> None:
    assert create(site_admin, short="legal", name="Legal").short_name == "legal"


@pytest.mark.parametrize("persona", ["owner", "reviewer", "outsider"])
def test_only_administrators_create_roles(persona: str, personas: dict[str, Any]) -> None:
    with pytest.raises(Forbidden):
        create(personas[persona], shortName="sneaky", name="Sneaky")
    assert not ReviewRole.objects.filter(short_name="sneaky").exists()


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        ({"name": "No short name"}, BadRequest, "shortName is required"),
        ({"shortName": "has space", "name": "X"}, BadRequest, "shortName is required"),
        ({"shortName": "owner", "name": "X"}, BadRequest, "system role"),
        ({"shortName": "new", "name": "X"}, BadRequest, "reserved"),
        ({"shortName": "x1"}, BadRequest, "name is required"),
        ({"shortName": "x1", "name": "X", "defaultEntities": ["alice"]}, BadRequest, "entity"),
        ({"shortName": "x1", "name": "X", "defaultEntities": "user:a"}, BadRequest, "list"),
        ({"shortName": "x1", "name": "X", "lockEntities": "yes"}, BadRequest, "true or false"),
        ({"shortName": "x1", "name": "X", "colour": "red"}, BadRequest, "Unknown"),
        ({"shortName": "msro", "name": "Another"}, Conflict, "already exists"),
        ({"shortName": "x1", "name": "model technical reviewer"}, Conflict, "already exists"),
    ],
)
def test_bad_role_input_is_refused_and_nothing_is_stored(
    site_admin: Any, body: dict[str, Any], error: type[Exception], message: str
) -> None:
    before = ReviewRole.objects.count()
    with pytest.raises(error, match=message):
        create(site_admin, **body)
    assert ReviewRole.objects.count() == before


def test_updating_a_role_adds_new_default_entities_to_entries_using_its_schemas(
    site_admin: Any, entry: Any, owner: Any
) -> None:
    from tests.releases.release_helpers import with_card

    with_card(entry, owner)
    role = ReviewRole.objects.get(short_name="mtr")
    role_services.review_role_update(
        actor=Actor(user=site_admin),
        role=role,
        body={"name": "Technical reviewer", "defaultEntities": ["group:tech"]},
    )
    role.refresh_from_db()
    assert role.name == "Technical reviewer" and role.default_entities == ["group:tech"]
    assert Collaborator.objects.filter(model=entry, entity="group:tech", role="mtr").exists()


def test_a_short_name_never_changes_and_non_admins_cannot_update(
    site_admin: Any, owner: Any
) -> None:
    role = ReviewRole.objects.get(short_name="mtr")
    with pytest.raises(BadRequest, match="cannot change"):
        role_services.review_role_update(
            actor=Actor(user=site_admin), role=role, body={"shortName": "tr"}
        )
    with pytest.raises(Forbidden):
        role_services.review_role_update(actor=Actor(user=owner), role=role, body={"name": "X"})
    assert ReviewRole.objects.get(pk=role.pk).name == "Model Technical Reviewer"


def test_deleting_a_role_strips_it_from_schemas_collaborators_and_reviews(
    site_admin: Any, release: Any, reviewer: Any
) -> None:
    Response.objects.create(
        kind="review",
        user=reviewer,
        entity="user:rita",
        review=Review.objects.get(release=release, role="msro"),
        decision="approve",
    )
    counts = role_services.review_role_delete(
        actor=Actor(user=site_admin), role=ReviewRole.objects.get(short_name="msro")
    )
    assert counts["reviews"] == 1 and counts["collaborators"] >= 1 and counts["schemas"] >= 2
    assert not ReviewRole.objects.filter(short_name="msro").exists()
    assert not any("msro" in s.review_roles for s in Schema.objects.all())
    assert not Collaborator.objects.filter(role="msro").exists()
    assert list(Review.all_objects.filter(release=release).values_list("role", flat=True)) == [
        "mtr"
    ]


def test_a_failed_delete_leaves_everything_in_place(
    site_admin: Any, release: Any, monkeypatch: Any
) -> None:
    """One transaction: if the last step fails, schemas, collaborators and reviews keep the
    role (the failure is injected at the database's last write)."""
    role = ReviewRole.objects.get(short_name="msro")

    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(ReviewRole, "delete", explode)
    with pytest.raises(RuntimeError):
        role_services.review_role_delete(actor=Actor(user=site_admin), role=role)
    monkeypatch.undo()
    assert "msro" in Schema.objects.get(pk="minimal-general-v10").review_roles
    assert Collaborator.objects.filter(role="msro").exists()
    assert Review.objects.filter(role="msro").exists()


def test_non_admins_cannot_delete_roles(owner: Any) -> None:
    with pytest.raises(Forbidden):
        role_services.review_role_delete(
            actor=Actor(user=owner), role=ReviewRole.objects.get(short_name="mtr")
        )
    assert ReviewRole.objects.filter(short_name="mtr").exists()


def test_roles_can_be_listed_for_one_schema(site_admin: Any) -> None:
    create(site_admin, shortName="extra", name="Extra")
    everything = [r.short_name for r in role_services.review_role_list()]
    assert everything == ["extra", "msro", "mtr"]
    ar_roles = role_services.review_role_list(schema_id="minimal-access-request-general-v10")
    assert [r.short_name for r in ar_roles] == ["msro"]


# --- the administration pages -------------------------------------------------------------------


PAGES = "/administration/review-roles"


def test_the_review_roles_tab_lists_roles_with_their_schemas(
    client_for: Any, site_admin: Any
) -> None:
    page = client_for(site_admin).get(PAGES)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Model Senior Responsible Officer" in html and "minimal-general-v10" in html
    assert 'href="/administration/review-roles/new"' in html


@pytest.mark.parametrize(
    "path",
    [PAGES, f"{PAGES}/new", f"{PAGES}/mtr", f"{PAGES}/mtr/delete"],
)
def test_non_admins_get_403_and_anonymous_visitors_the_sign_in_page(
    path: str, client_for: Any, owner: Any
) -> None:
    assert client_for(owner).get(path).status_code == 403
    assert client_for(owner).post(path, {"name": "X", "short_name": "x"}).status_code in {403, 405}
    anonymous = client_for(None).get(path)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    assert ReviewRole.objects.count() == 2


def test_an_administrator_creates_a_role_from_the_form(client_for: Any, site_admin: Any) -> None:
    client = client_for(site_admin)
    assert client.get(f"{PAGES}/new").status_code == 200
    response = client.post(
        f"{PAGES}/new",
        {
            "short_name": "ethics",
            "name": "Ethics reviewer",
            "description": "Ethics",
            "default_entities": "group:ethics\nuser:ed",
            "lock_entities": "on",
        },
    )
    assert response.status_code == 302
    role = ReviewRole.objects.get(short_name="ethics")
    assert role.default_entities == ["group:ethics", "user:ed"] and role.lock_entities


def test_a_bad_form_shows_the_error_beside_its_field_with_its_status(
    client_for: Any, site_admin: Any
) -> None:
    client = client_for(site_admin)
    response = client.post(f"{PAGES}/new", {"short_name": "msro", "name": "Dup"})
    assert response.status_code == 409
    html = response.content.decode()
    assert 'id="short-name-error"' in html and 'aria-invalid="true"' in html
    response = client.post(
        f"{PAGES}/new", {"short_name": "ok", "name": "Ok", "default_entities": "alice"}
    )
    assert response.status_code == 400
    assert 'id="default-entities-error"' in response.content.decode()
    assert ReviewRole.objects.count() == 2


def test_an_administrator_edits_a_role_from_the_form(client_for: Any, site_admin: Any) -> None:
    client = client_for(site_admin)
    page = client.get(f"{PAGES}/mtr")
    assert page.status_code == 200 and "Model Technical Reviewer" in page.content.decode()
    response = client.post(
        f"{PAGES}/mtr", {"name": "Technical reviewer", "description": "d", "default_entities": ""}
    )
    assert response.status_code == 302
    assert ReviewRole.objects.get(short_name="mtr").name == "Technical reviewer"
    assert client.post(f"{PAGES}/mtr", {"name": ""}).status_code == 400
    assert client.get(f"{PAGES}/nope").status_code == 404


def test_an_administrator_deletes_a_role_after_seeing_what_goes_with_it(
    client_for: Any, site_admin: Any, release: Any
) -> None:
    client = client_for(site_admin)
    confirm = client.get(f"{PAGES}/msro/delete")
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert "minimal-general-v10" in html and "1 review" in html
    response = client.post(f"{PAGES}/msro/delete")
    assert response.status_code == 302
    assert not ReviewRole.objects.filter(short_name="msro").exists()
    assert not Review.objects.filter(role="msro").exists()


def test_an_entry_taking_a_card_can_be_given_its_roles_default_holders(
    site_admin: Any, entry: Any, owner: Any
) -> None:
    from tests.releases.release_helpers import with_card

    ReviewRole.objects.filter(short_name="msro").update(default_entities=["group:officers"])
    assert role_services.default_entities_apply(entry) == 0  # no card yet
    with_card(entry, owner)
    entry.refresh_from_db()
    assert role_services.default_entities_apply(entry) == 1
    assert role_services.default_entities_apply(entry) == 0
    assert Collaborator.objects.filter(model=entry, entity="group:officers", role="msro").exists()
