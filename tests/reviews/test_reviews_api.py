"""The reviews API: listing reviews with Bailo's filters, responding to a release's review,
comments and responses, and review roles."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reviews.models import Response, Review, ReviewRole
from tests.conftest import basic

pytestmark = pytest.mark.django_db

API = "/api/v2"


def post(client: Any, path: str, body: Any, **extra: Any) -> Any:
    return client.post(f"{API}{path}", json.dumps(body), content_type="application/json", **extra)


def review_path(release: Any) -> str:
    return f"/model/{release.model_id}/release/{release.semver}/review"


# --- GET|HEAD /reviews --------------------------------------------------------------------------


def test_a_reviewer_lists_their_open_reviews_in_bailos_shape(
    release: Any, reviewer: Any, client_for: Any
) -> None:
    response = client_for(reviewer).get(f"{API}/reviews")
    assert response.status_code == 200
    assert response["x-count"] == "1"
    (item,) = response.json()["reviews"]
    assert item["kind"] == "release" and item["role"] == "msro"
    assert item["modelId"] == release.model_id and item["semver"] == "1.0.0"
    assert item["status"] is None and item["responses"] == []
    assert {"_id", "createdAt", "updatedAt"} <= set(item)


def test_head_gives_the_count_in_x_count(release: Any, reviewer: Any, client_for: Any) -> None:
    response = client_for(reviewer).head(f"{API}/reviews?open=true")
    assert response.status_code == 200 and response["x-count"] == "1"
    assert response.content == b""


def test_open_false_and_the_clients_active_flag_select_archived_or_open(
    release: Any, reviewer: Any, client_for: Any
) -> None:
    client = client_for(reviewer)
    post(client, review_path(release), {"role": "msro", "decision": "approve"})
    assert client.get(f"{API}/reviews?open=true").json()["reviews"] == []
    assert client.get(f"{API}/reviews?active=true").json()["reviews"] == []
    (archived,) = client.get(f"{API}/reviews?open=false").json()["reviews"]
    assert archived["status"] == "approve"
    assert archived["responses"][0]["decision"] == "approve"
    assert archived["responses"][0]["entity"] == "user:rita"
    assert len(client.get(f"{API}/reviews?active=false").json()["reviews"]) == 1


def test_filters_model_semver_kind_and_access_request(
    release: Any, reviewer: Any, client_for: Any
) -> None:
    client = client_for(reviewer)

    def count(query: str) -> int:
        return len(client.get(f"{API}/reviews?{query}").json()["reviews"])

    assert count(f"modelId={release.model_id}") == 1
    assert count("modelId=someone-else-000000") == 0
    assert count("semver=1.0.0") == 1 and count("semver=v1.0.0") == 1
    assert count("semver=2.0.0") == 0
    assert count("kind=release") == 1 and count("kind=access") == 0
    assert count("accessRequestId=nothing") == 0
    assert count("kind=lifecycle") == 0
    bad = client.get(f"{API}/reviews?kind=weekly")
    assert bad.status_code == 400 and "kind must be one of" in bad.json()["error"]["message"]
    assert client.get(f"{API}/reviews?open=perhaps").status_code == 400


def test_mine_false_shows_reviews_of_entries_i_can_see(
    release: Any, owner: Any, outsider: Any, site_admin: Any, client_for: Any
) -> None:
    assert client_for(owner).get(f"{API}/reviews").json()["reviews"] == []
    assert len(client_for(owner).get(f"{API}/reviews?mine=false").json()["reviews"]) == 2
    assert client_for(outsider).get(f"{API}/reviews?mine=false").json()["reviews"] == []
    assert len(client_for(site_admin).get(f"{API}/reviews?mine=false").json()["reviews"]) == 2


def test_anonymous_callers_are_refused(client_for: Any, release: Any) -> None:
    assert client_for(None).get(f"{API}/reviews").status_code == 401


# --- POST .../release/{semver}/review -----------------------------------------------------------


def test_a_holder_approves_a_release_through_the_api(
    release: Any, reviewer: Any, client_for: Any
) -> None:
    response = post(
        client_for(reviewer), review_path(release), {"role": "msro", "decision": "approve"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["review"]["status"] == "approve" and body["review"]["role"] == "msro"
    assert body["response"]["decision"] == "approve"
    assert body["response"]["parentId"] == body["review"]["_id"]


@pytest.mark.parametrize(
    ("persona", "body", "status", "message"),
    [
        ("consumer", {"role": "msro", "decision": "approve"}, 403, "Only holders"),
        ("owner", {"role": "msro", "decision": "approve"}, 403, "Only holders"),
        ("reviewer", {"role": "msro", "decision": "request_changes"}, 400, "comment is required"),
        (
            "reviewer",
            {"role": "msro", "decision": "request_changes", "comment": "  "},
            400,
            "comment is required",
        ),
        ("reviewer", {"role": "msro", "decision": "maybe"}, 400, "decision must be one of"),
        ("reviewer", {"role": "msro"}, 400, "decision must be one of"),
        ("reviewer", {"decision": "approve"}, 400, "role is required"),
        ("reviewer", {"role": "ethics", "decision": "approve"}, 400, "has no review for the role"),
        ("outsider", {"role": "msro", "decision": "approve"}, 404, "not found"),
    ],
)
def test_bad_reviews_are_refused_and_nothing_is_stored(
    persona: str,
    body: dict[str, Any],
    status: int,
    message: str,
    release: Any,
    personas: dict[str, Any],
    client_for: Any,
) -> None:
    response = post(client_for(personas[persona]), review_path(release), body)
    assert response.status_code == status, response.content
    assert message in response.json()["error"]["message"]
    assert not Response.objects.exists()


def test_a_review_of_an_unknown_release_or_invalid_body_is_refused(
    release: Any, reviewer: Any, client_for: Any
) -> None:
    client = client_for(reviewer)
    path = f"/model/{release.model_id}/release/9.9.9/review"
    assert post(client, path, {"role": "msro", "decision": "approve"}).status_code == 404
    raw = client.post(f"{API}{review_path(release)}", "{", content_type="application/json")
    assert raw.status_code == 400
    assert post(client, review_path(release), ["approve"]).status_code == 400
    assert not Response.objects.exists()


def test_a_reviewers_token_needs_model_write_to_respond(
    release: Any, reviewer: Any, make_token: Any, client_for: Any
) -> None:
    body = {"role": "msro", "decision": "approve"}
    token, secret = make_token(reviewer, actions=["model:read", "release:read"])
    refused = post(client_for(None), review_path(release), body, **basic(token.access_key, secret))
    assert refused.status_code == 403
    assert not Response.objects.exists()
    token, secret = make_token(reviewer, actions=["model:read", "model:write", "release:read"])
    ok = post(client_for(None), review_path(release), body, **basic(token.access_key, secret))
    assert ok.status_code == 200


# --- comments and responses ---------------------------------------------------------------------


def test_viewers_comment_on_a_release_and_read_the_conversation(
    release: Any, consumer: Any, reviewer: Any, outsider: Any, client_for: Any
) -> None:
    comment_path = f"/model/{release.model_id}/release/1.0.0/comment"
    created = post(client_for(consumer), comment_path, {"comment": "When is 1.1 due?"})
    assert created.status_code == 200
    comment = created.json()["response"]
    assert comment["kind"] == "comment" and comment["parentId"] == f"release:{release.pk}"
    assert post(client_for(consumer), comment_path, {"comment": ""}).status_code == 400
    assert post(client_for(outsider), comment_path, {"comment": "hi"}).status_code == 404
    post(client_for(reviewer), review_path(release), {"role": "msro", "decision": "approve"})
    review_id = str(Review.objects.get(release=release, role="msro").pk)
    query = f"parentIds[]={review_id}&parentIds[]=release:{release.pk}"
    listed = client_for(consumer).get(f"{API}/responses?{query}").json()["responses"]
    assert [r["kind"] for r in listed] == ["comment", "review"]
    mine = client_for(consumer).get(f"{API}/responses?{query}&mine=true").json()["responses"]
    assert [r["kind"] for r in mine] == ["comment"]
    assert client_for(outsider).get(f"{API}/responses?{query}").json()["responses"] == []
    assert client_for(consumer).get(f"{API}/responses").status_code == 400


def test_only_the_author_edits_a_response(
    release: Any, consumer: Any, owner: Any, outsider: Any, client_for: Any
) -> None:
    comment_path = f"/model/{release.model_id}/release/1.0.0/comment"
    comment_id = post(client_for(consumer), comment_path, {"comment": "Typo"}).json()["response"][
        "_id"
    ]
    path = f"{API}/response/{comment_id}"

    def patch(user: Any, body: Any) -> Any:
        return client_for(user).patch(path, json.dumps(body), content_type="application/json")

    assert patch(owner, {"comment": "Hijack"}).status_code == 403
    assert patch(outsider, {"comment": "Hijack"}).status_code == 404
    assert patch(consumer, {}).status_code == 400
    edited = patch(consumer, {"comment": "Fixed"})
    assert edited.status_code == 200
    assert edited.json()["response"]["comment"] == "Fixed"
    assert "commentEditedAt" in edited.json()["response"]
    assert Response.objects.get(pk=comment_id).comment == "Fixed"
    assert client_for(consumer).patch(f"{API}/response/999999", "{}").status_code == 404


# --- review roles -------------------------------------------------------------------------------


def test_anyone_signed_in_lists_review_roles_optionally_for_a_schema(
    client_for: Any, consumer: Any
) -> None:
    client = client_for(consumer)
    everything = client.get(f"{API}/review/roles")
    assert everything.status_code == 200 and everything["x-count"] == "2"
    assert [r["shortName"] for r in everything.json()["reviewRoles"]] == ["msro", "mtr"]
    ar = client.get(f"{API}/review/roles?schemaId=minimal-access-request-general-v10")
    assert [r["shortName"] for r in ar.json()["reviewRoles"]] == ["msro"]
    assert client.get(f"{API}/review/roles?schemaId=nope").status_code == 404


@pytest.mark.parametrize("path", ["/review/roles", "/review/role"])
def test_an_administrator_creates_a_role_through_either_spelling(
    path: str, client_for: Any, site_admin: Any, owner: Any
) -> None:
    body = {"shortName": "ethics", "name": "Ethics reviewer", "kind": "review"}
    assert post(client_for(owner), path, body).status_code == 403
    created = post(client_for(site_admin), path, body)
    assert created.status_code == 200
    assert created.json()["reviewRole"]["shortName"] == "ethics"
    assert post(client_for(site_admin), path, body).status_code == 409


def test_an_administrator_updates_and_deletes_a_role(
    client_for: Any, site_admin: Any, owner: Any
) -> None:
    admin = client_for(site_admin)
    path = f"{API}/review/role/mtr"
    body = json.dumps({"name": "Technical reviewer", "defaultEntities": ["group:tech"]})
    assert client_for(owner).put(path, body, content_type="application/json").status_code == 403
    updated = admin.put(path, body, content_type="application/json")
    assert updated.status_code == 200
    assert updated.json()["reviewRole"]["name"] == "Technical reviewer"
    assert (
        admin.put(f"{API}/review/role/nope", body, content_type="application/json").status_code
        == 404
    )
    assert client_for(owner).delete(path).status_code == 403
    deleted = admin.delete(path)
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True
    assert not ReviewRole.objects.filter(short_name="mtr").exists()
    assert admin.delete(path).status_code == 404


def test_an_administrators_token_needs_review_role_write_to_change_roles(
    site_admin: Any, make_token: Any, client_for: Any
) -> None:
    body = {"shortName": "ethics", "name": "Ethics reviewer"}
    token, secret = make_token(site_admin, actions=["model:read", "model:write"])
    refused = post(client_for(None), "/review/roles", body, **basic(token.access_key, secret))
    assert refused.status_code == 403 and "reviewRole:write" in refused.json()["error"]["message"]
    token, secret = make_token(site_admin, actions=["reviewRole:write"])
    allowed = post(client_for(None), "/review/roles", body, **basic(token.access_key, secret))
    assert allowed.status_code == 200
    assert ReviewRole.objects.filter(short_name="ethics").exists()


def test_a_malformed_active_flag_is_refused_even_beside_open(
    reviewer: Any, client_for: Any
) -> None:
    response = client_for(reviewer).get(f"{API}/reviews?open=true&active=4402")
    assert response.status_code == 400
    assert "active" in response.json()["error"]["message"]
