"""Bailo's v3 review routes: asking a review's role again (``POST /api/v3/review/{id}/notify``),
the newest decision (``GET /api/v3/review/{id}/responses/latest``) and the panel's "Request
re-review" button. Who may, who may not, and what bad input gets."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core import mail

from models_app.policy import Actor
from reviews.models import Response, Review
from reviews.services import review_respond

pytestmark = pytest.mark.django_db


def msro(release: Any) -> Review:
    return Review.objects.get(release=release, role="msro")


def notify(client: Any, review_id: Any) -> Any:
    return client.post(f"/api/v3/review/{review_id}/notify", content_type="application/json")


def latest(client: Any, review_id: Any) -> Any:
    return client.get(f"/api/v3/review/{review_id}/responses/latest")


# --- notify ---------------------------------------------------------------------------------------


def test_an_owner_asks_the_role_holders_again_and_nothing_is_written(
    release: Any, owner: Any, reviewer: Any, client_for: Any
) -> None:
    review = msro(release)
    mail.outbox.clear()
    before = Response.objects.count()
    response = notify(client_for(owner), review.pk)
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "OK", "notified": 1}
    assert [m.to for m in mail.outbox] == [[reviewer.email]]
    message = mail.outbox[0]
    assert "Review requested again" in message.subject
    assert "owen has asked for another review of release 1.0.0" in message.body
    assert f"/model/{release.model_id}/release/1.0.0" in message.body
    assert Response.objects.count() == before


def test_asking_again_within_30_seconds_is_refused_per_person(
    release: Any, owner: Any, contributor: Any, client_for: Any
) -> None:
    review = msro(release)
    owner_client = client_for(owner)
    assert notify(owner_client, review.pk).status_code == 200
    mail.outbox.clear()
    again = notify(owner_client, review.pk)
    assert again.status_code == 429
    assert again["Retry-After"] == "30"
    assert "try again in 30 seconds" in again.json()["error"]["message"]
    assert mail.outbox == []
    # Someone else may still ask.
    assert notify(client_for(contributor), review.pk).status_code == 200


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("contributor", 200),
        ("consumer", 403),
        ("reviewer", 403),
        ("site_admin", 403),
        ("outsider", 404),
        ("anonymous", 401),
    ],
)
def test_only_owners_and_contributors_may_ask_again(
    release: Any, personas: dict[str, Any], client_for: Any, persona: str, status: int
) -> None:
    mail.outbox.clear()
    response = notify(client_for(personas[persona]), msro(release).pk)
    assert response.status_code == status, response.content
    if status >= 400:
        assert set(response.json()) == {"error"}
        assert mail.outbox == []


def test_an_approved_review_needs_no_asking(
    release: Any, owner: Any, reviewer: Any, client_for: Any
) -> None:
    review = msro(release)
    review_respond(actor=Actor(user=reviewer), review=review, decision="approve")
    mail.outbox.clear()
    response = notify(client_for(owner), review.pk)
    assert response.status_code == 409
    assert "already approved" in response.json()["error"]["message"]
    assert mail.outbox == []


@pytest.mark.parametrize(("review_id", "status"), [("abc", 400), ("999999", 404)])
def test_a_bad_or_unknown_review_id_is_refused(
    release: Any, owner: Any, client_for: Any, review_id: str, status: int
) -> None:
    for response in (notify(client_for(owner), review_id), latest(client_for(owner), review_id)):
        assert response.status_code == status
        assert set(response.json()) == {"error"}


def test_a_token_needs_model_write_to_ask_again(release: Any, owner: Any, make_token: Any) -> None:
    from django.test import Client

    from tests.conftest import basic

    reader, secret = make_token(owner, actions=["model:read"])
    client = Client()
    refused = client.post(
        f"/api/v3/review/{msro(release).pk}/notify", **basic(reader.access_key, secret)
    )
    assert refused.status_code == 403
    writer, secret = make_token(owner, actions=["model:read", "model:write"])
    allowed = client.post(
        f"/api/v3/review/{msro(release).pk}/notify", **basic(writer.access_key, secret)
    )
    assert allowed.status_code == 200


# --- latest response ------------------------------------------------------------------------------


def test_the_latest_response_is_the_newest_decision(
    release: Any, reviewer: Any, consumer: Any, client_for: Any
) -> None:
    review = msro(release)
    client = client_for(consumer)
    none_yet = latest(client, review.pk)
    assert none_yet.status_code == 404
    assert "no responses yet" in none_yet.json()["error"]["message"]
    actor = Actor(user=reviewer)
    review_respond(actor=actor, review=review, decision="request_changes", comment="Add a licence")
    newest = review_respond(actor=actor, review=review, decision="approve")
    response = latest(client, review.pk)
    assert response.status_code == 200
    body = response.json()["response"]
    assert body["id"] == str(newest.pk) and body["decision"] == "approve"
    assert body["parentId"] == str(review.pk) and body["entity"] == "user:rita"


def test_outsiders_cannot_read_the_responses_of_a_private_entry(
    release: Any, reviewer: Any, outsider: Any, client_for: Any
) -> None:
    review = msro(release)
    review_respond(actor=Actor(user=reviewer), review=review, decision="approve")
    assert latest(client_for(outsider), review.pk).status_code == 404
    assert latest(client_for(None), review.pk).status_code == 401


# --- the panel's button ---------------------------------------------------------------------------


def test_the_release_page_offers_request_re_review_to_owners_only(
    release: Any, owner: Any, consumer: Any, reviewer: Any, client_for: Any
) -> None:
    review = msro(release)
    url = f"/model/{release.model_id}/release/{release.semver}"
    action = f'action="/model/{release.model_id}/review/{review.pk}/notify"'
    owner_client = client_for(owner)
    assert action in owner_client.get(url).content.decode()
    assert action not in client_for(consumer).get(url).content.decode()
    mail.outbox.clear()
    posted = owner_client.post(
        f"/model/{release.model_id}/review/{review.pk}/notify", {"next": url}
    )
    assert posted.status_code == 302 and posted["Location"] == url
    assert [m.to for m in mail.outbox] == [[reviewer.email]]
    page = owner_client.get(url).content.decode()
    assert "Asked again for the msro review: e-mailed 1 reviewer." in page
    # Approved roles are not offered the button.
    review_respond(actor=Actor(user=reviewer), review=review, decision="approve")
    assert action not in owner_client.get(url).content.decode()


def test_consumers_cannot_post_the_request_re_review_form(
    release: Any, consumer: Any, client_for: Any
) -> None:
    mail.outbox.clear()
    review = msro(release)
    response = client_for(consumer).post(f"/model/{release.model_id}/review/{review.pk}/notify")
    assert response.status_code == 403
    assert mail.outbox == []


# --- the OpenAPI documents ------------------------------------------------------------------------


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys)), f"duplicated keys: {sorted(keys)}"
    return dict(pairs)


def test_the_openapi_documents_list_the_new_operations(client_for: Any, owner: Any) -> None:
    client = client_for(owner)
    documents = {}
    for url in ("/api/v3/api-docs/swagger.json", "/api/v2/openapi.json"):
        # Swagger UI refuses a document that names a key twice (e.g. 200 and "200").
        documents[url] = json.loads(client.get(url).content, object_pairs_hook=_no_duplicates)
    v3 = documents["/api/v3/api-docs/swagger.json"]["paths"]
    v2 = documents["/api/v2/openapi.json"]["paths"]
    operations = {
        "notify": v3["/api/v3/review/{review_id}/notify"]["post"],
        "latest": v3["/api/v3/review/{review_id}/responses/latest"]["get"],
        "html": v2["/api/v2/model/{model_id}/model-card/{version}/html"]["get"],
        "import": v2["/api/v2/model/{model_id}/import-model-card-text"]["post"],
    }
    for name, operation in operations.items():
        errors = [code for code in operation["responses"] if code.startswith("4")]
        assert errors, f"{name} documents no 4xx"
        for code in errors:
            schema = operation["responses"][code]["content"]["application/json"]["schema"]
            # Every refusal refers to the one error shape among the document's schemas.
            assert schema == {"$ref": "#/components/schemas/Error"}, name
    assert operations["notify"]["responses"]["429"]
    assert operations["html"]["responses"]["200"]["content"]["text/html"]
    body = operations["import"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["text"]
    assert {"502", "503"} <= set(operations["import"]["responses"])


def test_an_access_request_review_can_be_asked_again_too(
    entry: Any,
    owner: Any,
    consumer: Any,
    reviewer: Any,
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from tests.access.access_request_helpers import ask

    with django_capture_on_commit_callbacks(execute=True):
        access_request = ask(consumer, entry)
    review = Review.objects.get(access_request=access_request, role="msro")
    mail.outbox.clear()
    response = notify(client_for(owner), review.pk)
    assert response.status_code == 200, response.content
    assert [m.to for m in mail.outbox] == [[reviewer.email]]
    assert "access request" in mail.outbox[0].body
    # The person who asked for access is not an owner or contributor.
    assert notify(client_for(consumer), review.pk).status_code == 403
