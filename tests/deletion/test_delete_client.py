"""The official ``bailo`` client deletes a model: ``Model.delete()`` and ``client.delete_model``.

The client sends a bare ``DELETE /api/v2/model/{id}`` with no name to confirm; the server takes
the explicit request from an owner as the confirmation, and refuses everyone else.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from bailo import Client, Model
from bailo.core.agent import Agent, TokenAgent
from bailo.core.enums import ModelVisibility
from bailo.core.exceptions import BailoException

from deletion.models import Deletion
from models_app.models import Model as Entry
from models_app.policy import Actor
from models_app.services import model_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["dev", "token"])
def bailo_client(request: Any, live_server: Any, settings: Any, make_user: Any) -> Iterator[Client]:
    """The client in development mode (acting as ``user``), or with a token of ``tess``."""
    agent: Agent
    if request.param == "dev":
        settings.BAILO_AUTH_MODE = "dev"
        agent = Agent()
    else:
        settings.BAILO_AUTH_MODE = "password"
        tess = make_user("tess")
        make_token = request.getfixturevalue("make_token")
        token, secret = make_token(tess, actions=["model:read", "model:write"])
        agent = TokenAgent(access_key=token.access_key, secret_key=secret)
    yield Client(live_server.url, agent)
    agent.session.close()


def test_model_delete_removes_a_model_the_caller_owns(bailo_client: Client) -> None:
    model = Model.create(
        bailo_client,
        name="Short-lived",
        description="Made to be deleted.",
        visibility=ModelVisibility.PRIVATE,
    )

    answer = model.delete()

    assert answer == {"message": "Successfully removed model."}
    assert not Entry.objects.filter(pk=model.model_id).exists()
    deletion = Deletion.objects.get(model_id=model.model_id)
    assert deletion.subject_name == "Short-lived"
    with pytest.raises(BailoException) as refused:
        Model.from_id(bailo_client, model.model_id)
    assert refused.value.status_code == 404


def test_deleting_twice_is_not_found(bailo_client: Client) -> None:
    model = Model.create(bailo_client, name="Twice", description="d")
    bailo_client.delete_model(model.model_id)

    with pytest.raises(BailoException) as refused:
        bailo_client.delete_model(model.model_id)
    assert refused.value.status_code == 404
    assert Deletion.objects.filter(model_id=model.model_id).count() == 1


def test_the_client_cannot_delete_a_model_it_does_not_own(bailo_client: Client, owner: Any) -> None:
    # A public entry owned by someone else: visible to the caller, so 403 rather than 404.
    other = model_create(
        actor=Actor(user=owner),
        name="Not yours",
        description="d",
        visibility="public",
        collaborators=[{"entity": f"user:{owner.username}", "roles": ["owner"]}],
    )

    with pytest.raises(BailoException) as refused:
        bailo_client.delete_model(other.pk)

    assert refused.value.status_code == 403
    assert Entry.objects.filter(pk=other.pk).exists()
