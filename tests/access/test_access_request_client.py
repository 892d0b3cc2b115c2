"""The official ``bailo`` client (3.x), unchanged, drives access requests on our live server:
``AccessRequest.create / from_id / update / delete`` and ``post_access_request_review``, in
development mode and with personal access tokens."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from bailo import AccessRequest, Client, Model
from bailo.core.agent import Agent, TokenAgent
from bailo.core.exceptions import BailoException

from access.access_requests.services import today
from access.models import AccessRequest as AccessRequestRow
from models_app.models import Model as Entry
from models_app.policy import Action, Actor, allowed
from tests.access import access_request_helpers

pytestmark = pytest.mark.django_db(transaction=True)


def answers(**fields: Any) -> dict[str, Any]:
    """Answers Bailo's default access request schema accepts: the client's default schema."""
    return access_request_helpers.answers(justification=None, **fields)


@pytest.fixture
def agents() -> Iterator[list[Agent]]:
    """Agents made by a test; closing their kept-alive sockets frees the server's threads."""
    made: list[Agent] = []
    yield made
    for agent in made:
        agent.session.close()


@pytest.fixture
def dev_client(live_server: Any, settings: Any, agents: list[Agent]) -> Client:
    settings.BAILO_AUTH_MODE = "dev"
    agent = Agent()
    agents.append(agent)
    return Client(live_server.url, agent)


@pytest.fixture
def token_client(live_server: Any, settings: Any, make_token: Any, agents: list[Agent]) -> Any:
    settings.BAILO_AUTH_MODE = "password"

    def make(user: Any, actions: list[str]) -> Client:
        token, secret = make_token(user, actions=actions)
        agent = TokenAgent(access_key=token.access_key, secret_key=secret)
        agents.append(agent)
        return Client(live_server.url, agent)

    return make


def test_in_development_mode_the_client_creates_reads_updates_and_deletes_a_request(
    dev_client: Client,
) -> None:
    model = Model.create(dev_client, name="Digit reader", description="Reads digits.")
    metadata = answers(entities=["user:user"])
    created = AccessRequest.create(dev_client, model.model_id, metadata)
    assert created.metadata == metadata
    assert created.created_by == "user"
    assert created.deleted is False
    assert str(created) == f"Access Request: Evaluation for project Kestrel - {model.model_id}"

    fetched = AccessRequest.from_id(dev_client, model.model_id, created.access_request_id)
    assert fetched == created
    assert fetched.schema_id == "minimal-access-request-general-v10"

    end = (today() + timedelta(days=14)).isoformat()
    fetched.metadata["overview"]["endDate"] = end
    fetched.update()
    row = AccessRequestRow.objects.get(pk=created.access_request_id)
    assert row.end_date.isoformat() == end
    listed = dev_client.get_access_requests(model.model_id)["accessRequests"]
    assert [a["id"] for a in listed] == [created.access_request_id]

    assert fetched.delete() is True
    assert not AccessRequestRow.objects.filter(pk=created.access_request_id).exists()
    with pytest.raises(BailoException, match="not found"):
        AccessRequest.from_id(dev_client, model.model_id, created.access_request_id)


def test_the_client_reports_refusals_with_the_servers_message(dev_client: Client) -> None:
    model = Model.create(dev_client, name="Digit reader", description="Reads digits.")
    with pytest.raises(BailoException, match="Unknown user 'nobody'"):
        AccessRequest.create(dev_client, model.model_id, answers(entities=["user:nobody"]))
    with pytest.raises(BailoException, match="in the past"):
        AccessRequest.create(
            dev_client, model.model_id, answers(entities=["user:user"], end="2000-01-01")
        )
    assert not AccessRequestRow.all_objects.exists()


def test_with_tokens_a_consumer_asks_and_the_reviewer_approves(
    token_client: Any, consumer: Any, reviewer: Any, contributor: Any, entry: Entry
) -> None:
    asker = token_client(consumer, ["model:read", "access_request:read", "access_request:write"])
    created = AccessRequest.create(asker, entry.pk, answers())
    assert created.created_by == "cody"
    assert not allowed(Actor(user=consumer), Action.FILE_DOWNLOAD, entry)

    # Someone who is neither named nor an owner cannot change it.
    stranger = token_client(
        contributor, ["model:read", "access_request:read", "access_request:write"]
    )
    theirs = AccessRequest.from_id(stranger, entry.pk, created.access_request_id)
    theirs.metadata["overview"]["name"] = "Taken over"
    with pytest.raises(BailoException, match="named in this access request"):
        theirs.update()

    approver = token_client(reviewer, ["model:read", "model:write", "access_request:read"])
    answer = approver.post_access_request_review(
        entry.pk, created.access_request_id, role="msro", decision="approve", comment="Fine."
    )
    assert answer["response"]["decision"] == "approve"
    assert allowed(Actor(user=consumer), Action.FILE_DOWNLOAD, entry)

    with pytest.raises(BailoException, match="comment is required"):
        approver.post_access_request_review(
            entry.pk, created.access_request_id, role="msro", decision="request_changes"
        )


def test_a_token_without_access_request_write_cannot_create(
    token_client: Any, consumer: Any, entry: Entry
) -> None:
    reader = token_client(consumer, ["model:read", "access_request:read"])
    with pytest.raises(BailoException, match="access_request:write"):
        AccessRequest.create(reader, entry.pk, answers())
    assert not AccessRequestRow.all_objects.exists()
