"""Reactions on comments and review decisions (Bailo's ``PATCH /response/{id}/reaction/{kind}``):
a toggle per person and kind, for anyone who may comment on the entry, nobody else."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reviews.models import Response
from tests.conftest import basic

pytestmark = pytest.mark.django_db

API = "/api/v2"


def comment_on(release: Any, client: Any, text: str = "Looks good") -> str:
    path = f"{API}/model/{release.model_id}/release/{release.semver}/comment"
    answer = client.post(path, json.dumps({"comment": text}), content_type="application/json")
    assert answer.status_code == 200, answer.content
    return str(answer.json()["response"]["_id"])


def react(client: Any, response_id: str, kind: str, **extra: Any) -> Any:
    return client.patch(f"{API}/response/{response_id}/reaction/{kind}", **extra)


def test_reactions_toggle_per_person_and_kind(
    release: Any, consumer: Any, owner: Any, reviewer: Any, client_for: Any
) -> None:
    response_id = comment_on(release, client_for(consumer))
    first = react(client_for(owner), response_id, "like")
    assert first.status_code == 200
    assert first.json()["response"]["reactions"] == [{"kind": "like", "users": ["owen"]}]
    react(client_for(reviewer), response_id, "like")
    both = react(client_for(reviewer), response_id, "heart").json()["response"]["reactions"]
    assert both == [
        {"kind": "like", "users": ["owen", "rita"]},
        {"kind": "heart", "users": ["rita"]},
    ]
    # The same reaction again takes it back; a kind nobody holds any more is dropped.
    after = react(client_for(reviewer), response_id, "heart").json()["response"]["reactions"]
    assert after == [{"kind": "like", "users": ["owen", "rita"]}]
    listed = client_for(consumer).get(f"{API}/responses?parentIds[]=release:{release.pk}")
    assert listed.json()["responses"][0]["reactions"] == after


def test_a_reaction_does_not_count_as_an_edit(
    release: Any, consumer: Any, owner: Any, client_for: Any
) -> None:
    response_id = comment_on(release, client_for(consumer))
    before = Response.objects.get(pk=response_id)
    body = react(client_for(owner), response_id, "celebrate").json()["response"]
    after = Response.objects.get(pk=response_id)
    assert after.updated_at == before.updated_at and "commentEditedAt" not in body


def test_a_review_decision_takes_reactions_too(
    release: Any, reviewer: Any, owner: Any, client_for: Any
) -> None:
    client_for(reviewer).post(
        f"{API}/model/{release.model_id}/release/1.0.0/review",
        json.dumps({"role": "msro", "decision": "approve"}),
        content_type="application/json",
    )
    decision = Response.objects.get(kind=Response.Kind.REVIEW)
    answer = react(client_for(owner), str(decision.pk), "dislike")
    assert answer.json()["response"]["reactions"] == [{"kind": "dislike", "users": ["owen"]}]


def test_an_unknown_kind_is_refused_and_nothing_changes(
    release: Any, consumer: Any, client_for: Any
) -> None:
    response_id = comment_on(release, client_for(consumer))
    answer = react(client_for(consumer), response_id, "laugh")
    assert answer.status_code == 400 and "laugh" in answer.json()["error"]["message"]
    assert Response.objects.get(pk=response_id).reactions == []


def test_people_who_cannot_see_the_entry_cannot_react(
    release: Any, consumer: Any, outsider: Any, client_for: Any, client: Any
) -> None:
    response_id = comment_on(release, client_for(consumer))
    assert react(client_for(outsider), response_id, "like").status_code == 404
    assert react(client, response_id, "like").status_code == 401
    assert react(client_for(consumer), "not-a-number", "like").status_code == 404
    assert Response.objects.get(pk=response_id).reactions == []


def test_a_token_needs_model_write_to_react(
    release: Any, consumer: Any, client_for: Any, client: Any, make_token: Any
) -> None:
    response_id = comment_on(release, client_for(consumer))
    token, secret = make_token(consumer, actions=["model:read"])
    refused = react(client, response_id, "like", **basic(token.access_key, secret))
    assert refused.status_code == 403
    token, secret = make_token(consumer, actions=["model:read", "model:write"])
    allowed = react(client, response_id, "like", **basic(token.access_key, secret))
    assert allowed.status_code == 200


# --- the review panel -----------------------------------------------------------------------------


def test_the_panel_shows_reactions_and_toggles_them(
    release: Any, consumer: Any, owner: Any, client_for: Any
) -> None:
    response_id = comment_on(release, client_for(consumer))
    page_url = f"/model/{release.model_id}/release/1.0.0/review"
    client = client_for(owner)
    html = client.get(page_url).content.decode()
    form_url = f"/model/{release.model_id}/response/{response_id}/react"
    assert f'action="{form_url}"' in html and 'aria-pressed="false"' in html
    answer = client.post(form_url, {"kind": "heart", "next": page_url})
    assert answer.status_code == 302 and answer["Location"] == page_url
    assert Response.objects.get(pk=response_id).reactions == [{"kind": "heart", "users": ["owen"]}]
    html = client.get(page_url).content.decode()
    assert 'aria-pressed="true"' in html and "Heart: owen" in html


def test_the_panel_refuses_outsiders_and_unknown_kinds(
    release: Any, consumer: Any, outsider: Any, client_for: Any
) -> None:
    response_id = comment_on(release, client_for(consumer))
    form_url = f"/model/{release.model_id}/response/{response_id}/react"
    assert client_for(outsider).post(form_url, {"kind": "like"}).status_code == 404
    assert client_for(consumer).post(form_url, {"kind": "laugh"}).status_code == 400
    assert Response.objects.get(pk=response_id).reactions == []
