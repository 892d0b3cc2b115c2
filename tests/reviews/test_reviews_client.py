"""The official ``bailo`` Python client (3.x), unchanged, lists reviews and reviews a release on our
live server: in development mode (the caller is ``user``) and with a reviewer's access token."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from bailo import Client
from bailo.core.agent import Agent, TokenAgent
from bailo.core.exceptions import BailoException

from models_app.models import Collaborator
from releases.models import Release
from reviews.models import Response
from tests.releases.release_helpers import make_release, with_card

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def published(entry: Any, owner: Any) -> Release:
    """Release 1.0.0 of the private entry; with a live server, commits are real, so its
    reviews (msro, mtr) open as they do in production."""
    return make_release(with_card(entry, owner), owner, "1.0.0")


@pytest.fixture
def dev_client(live_server: Any, settings: Any) -> Iterator[Client]:
    settings.BAILO_AUTH_MODE = "dev"
    agent = Agent()
    yield Client(live_server.url, agent)
    agent.session.close()


def test_in_dev_mode_the_client_lists_and_approves_a_release_review(
    dev_client: Client, published: Release, settings: Any
) -> None:
    Collaborator.objects.create(
        model=published.model, entity=f"user:{settings.BAILO_DEV_USER}", role="mtr"
    )
    open_reviews = dev_client.get_reviews(active=True, model_id=published.model_id)["reviews"]
    assert [(r["role"], r["semver"]) for r in open_reviews] == [("mtr", "1.0.0")]

    result = dev_client.post_release_review(
        published.model_id, "1.0.0", role="mtr", decision="approve", comment="Ran the tests"
    )
    assert result["review"]["status"] == "approve"
    assert result["response"]["comment"] == "Ran the tests"
    assert dev_client.get_reviews(active=True, model_id=published.model_id)["reviews"] == []
    (archived,) = dev_client.get_reviews(active=False, version="1.0.0")["reviews"]
    assert archived["responses"][0]["decision"] == "approve"


def test_the_client_is_told_why_a_review_is_refused_and_nothing_is_stored(
    dev_client: Client, published: Release
) -> None:
    with pytest.raises(BailoException, match="Only holders of the msro role"):
        dev_client.post_release_review(published.model_id, "1.0.0", "msro", "approve")
    Collaborator.objects.create(model=published.model, entity="user:user", role="msro")
    with pytest.raises(BailoException, match="A comment is required"):
        dev_client.post_release_review(published.model_id, "1.0.0", "msro", "request_changes")
    assert not Response.objects.exists()


def test_a_reviewer_with_a_token_requests_changes_with_the_client(
    live_server: Any, published: Release, reviewer: Any, make_token: Any
) -> None:
    token, secret = make_token(reviewer, actions=["model:read", "model:write", "release:read"])
    agent = TokenAgent(access_key=token.access_key, secret_key=secret)
    client = Client(live_server.url, agent)
    try:
        (mine,) = client.get_reviews(active=True)["reviews"]
        assert mine["role"] == "msro" and mine["modelId"] == published.model_id
        result = client.post_release_review(
            published.model_id, "1.0.0", "msro", "request_changes", comment="Add a licence"
        )
        assert result["review"]["status"] == "request_changes"
        assert client.get_reviews(active=True)["reviews"] == []
    finally:
        agent.session.close()
    stored = Response.objects.get()
    assert (stored.entity, stored.decision, stored.comment) == (
        "user:rita",
        "request_changes",
        "Add a licence",
    )
