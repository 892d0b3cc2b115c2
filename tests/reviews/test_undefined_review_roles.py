"""A schema may name a review role nobody has defined yet, as in Bailo: it is accepted, shown as
undefined to administrators, owes no review until the role exists, holds access requests until
then, and its reviews open on open releases and access requests when an administrator creates
the role."""

from __future__ import annotations

from typing import Any

import pytest

from access.access_requests.selectors import access_request_state
from access.access_requests.services import access_request_create
from access.models import AccessRequest
from models_app.models import Collaborator, Model, Schema
from models_app.policy import Action, Actor, allowed
from models_app.services import card_from_schema, schema_create, schema_update
from reviews.models import Review
from reviews.roles import services as role_services
from reviews.services import review_respond
from tests.releases.release_helpers import make_release

pytestmark = pytest.mark.django_db

REQUEST = {"overview": {"name": "Legal check", "entities": ["user:cody"]}}
AR_SCHEMA = {
    "type": "object",
    "properties": {
        "overview": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "entities": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["name"],
        }
    },
}


def legal_schema(admin: Any, kind: str, roles: list[str], schema_id: str) -> Schema:
    return schema_create(
        actor=Actor(user=admin),
        schema_id=schema_id,
        name=f"Legal {kind}",
        kind=kind,
        json_schema=AR_SCHEMA if kind == "accessRequest" else {"type": "object"},
        review_roles=roles,
    )


def create_legal_role(admin: Any) -> None:
    role_services.review_role_create(
        actor=Actor(user=admin), body={"shortName": "legal", "name": "Legal reviewer"}
    )


def ask(consumer: Any, entry: Model, schema: Schema) -> AccessRequest:
    return access_request_create(
        actor=Actor(user=consumer), model=entry, schema_id=schema.pk, metadata=REQUEST
    )


def roles_reviewing(**subject: Any) -> list[str]:
    return sorted(Review.objects.filter(**subject).values_list("role", flat=True))


def state(access_request: AccessRequest) -> str:
    fresh = AccessRequest.objects.select_related("schema").get(pk=access_request.pk)
    return access_request_state(fresh)


# --- accepted and shown ---------------------------------------------------------------------------


def test_a_schema_may_name_a_role_that_does_not_exist_yet(site_admin: Any) -> None:
    schema = legal_schema(site_admin, "model", ["msro", "legal"], "legal-card-v1")
    assert schema.review_roles == ["msro", "legal"]
    schema_update(
        actor=Actor(user=site_admin), schema=schema, changes={"reviewRoles": ["later-role"]}
    )
    assert Schema.objects.get(pk="legal-card-v1").review_roles == ["later-role"]


def test_a_malformed_role_name_is_refused(site_admin: Any) -> None:
    from core.errors import BadRequest

    with pytest.raises(BadRequest, match="Review role short names"):
        legal_schema(site_admin, "model", ["not a name"], "bad-roles-v1")
    assert not Schema.objects.filter(pk="bad-roles-v1").exists()


def test_the_schema_pages_show_an_undefined_role_as_undefined(
    client_for: Any, site_admin: Any
) -> None:
    legal_schema(site_admin, "model", ["msro", "legal"], "legal-card-v1")
    client = client_for(site_admin)
    listing = client.get("/administration/").content.decode()
    assert "legal (undefined)" in listing and "msro (undefined)" not in listing
    detail = client.get("/administration/schemas/legal-card-v1").content.decode()
    assert 'value="legal" checked' in detail and "undefined" in detail
    assert "Nobody reviews for it until an administrator creates it" in detail
    # Saving the roles form as shown keeps the undefined role.
    response = client.post(
        "/administration/schemas/legal-card-v1/update",
        {"review_roles_submitted": "1", "review_roles": ["msro", "legal"]},
    )
    assert response.status_code == 302
    assert Schema.objects.get(pk="legal-card-v1").review_roles == ["msro", "legal"]


# --- reviews wait for the role, then open ---------------------------------------------------------


def test_an_access_request_waits_for_an_undefined_role_then_its_review_opens(
    site_admin: Any, consumer: Any, reviewer: Any, entry: Model
) -> None:
    schema = legal_schema(site_admin, "accessRequest", ["legal"], "legal-access-v1")
    request = ask(consumer, entry, schema)
    assert roles_reviewing(access_request=request) == []
    # Not approved for want of reviews: the role owes one as soon as it exists.
    assert state(request) == "pending"
    assert not allowed(Actor(user=consumer), Action.FILE_DOWNLOAD, entry)

    create_legal_role(site_admin)
    assert roles_reviewing(access_request=request) == ["legal"]
    assert state(request) == "pending"

    Collaborator.objects.create(model=entry, entity="user:rita", role="legal")
    review = Review.objects.get(access_request=request, role="legal")
    review_respond(actor=Actor(user=reviewer), review=review, decision="approve")
    assert state(request) == "approved"
    assert allowed(Actor(user=consumer), Action.FILE_DOWNLOAD, entry)


def test_an_approval_by_the_defined_roles_is_not_enough_while_another_is_undefined(
    site_admin: Any, consumer: Any, reviewer: Any, entry: Model
) -> None:
    schema = legal_schema(site_admin, "accessRequest", ["msro", "legal"], "legal-access-v1")
    request = ask(consumer, entry, schema)
    assert roles_reviewing(access_request=request) == ["msro"]
    msro = Review.objects.get(access_request=request, role="msro")
    review_respond(actor=Actor(user=reviewer), review=msro, decision="approve")
    assert state(request) == "pending"
    assert not allowed(Actor(user=consumer), Action.FILE_DOWNLOAD, entry)

    create_legal_role(site_admin)
    assert roles_reviewing(access_request=request) == ["legal", "msro"]
    assert state(request) == "pending"


def test_a_published_release_gets_the_review_of_a_role_defined_later(
    site_admin: Any, owner: Any, entry: Model, django_capture_on_commit_callbacks: Any
) -> None:
    legal_schema(site_admin, "model", ["msro", "legal"], "legal-card-v1")
    card_from_schema(actor=Actor(user=owner), model=entry, schema_id="legal-card-v1")
    carded = Model.objects.get(pk=entry.pk)
    with django_capture_on_commit_callbacks(execute=True):  # reviews open after the commit
        published = make_release(carded, owner, "1.0.0")
        draft = make_release(carded, owner, "1.1.0", draft=True)
    assert roles_reviewing(release=published) == ["msro"]

    create_legal_role(site_admin)
    assert roles_reviewing(release=published) == ["legal", "msro"]
    assert roles_reviewing(release=draft) == []


def test_creating_a_role_through_the_api_back_fills_its_reviews(
    client_for: Any, site_admin: Any, consumer: Any, entry: Model
) -> None:
    schema = legal_schema(site_admin, "accessRequest", ["legal"], "legal-access-v1")
    request = ask(consumer, entry, schema)
    response = client_for(site_admin).post(
        "/api/v2/review/roles",
        {"shortName": "legal", "name": "Legal reviewer"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert roles_reviewing(access_request=request) == ["legal"]


def test_only_administrators_create_the_role_that_opens_the_reviews(
    client_for: Any, site_admin: Any, owner: Any, consumer: Any, entry: Model
) -> None:
    schema = legal_schema(site_admin, "accessRequest", ["legal"], "legal-access-v1")
    request = ask(consumer, entry, schema)
    response = client_for(owner).post(
        "/api/v2/review/roles",
        {"shortName": "legal", "name": "Legal reviewer"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert roles_reviewing(access_request=request) == []
