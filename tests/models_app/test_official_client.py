"""The official ``bailo`` Python client (3.x), unchanged, against our live server.

Each flow runs twice: in development mode (no credentials, the caller acts as the administrator
``user``) and with a personal access token through ``TokenAgent``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from bailo import Client, Datacard, Model, Schema
from bailo.core.agent import Agent, TokenAgent
from bailo.core.enums import CollaboratorEntry, ModelVisibility, Role, SchemaKind
from bailo.core.exceptions import BailoException

from models_app.models import Model as Entry
from models_app.models import ModelCardRevision
from models_app.policy import TokenAction

pytestmark = pytest.mark.django_db(transaction=True)

SUMMARY = {"overview": {"modelSummary": "Reads handwritten digits."}}
DATA_CARD = {"overview": {"storageLocation": "s3://digits/raw", "tags": ["digits"]}}
CLIENT_SCHEMA = {
    "type": "object",
    "properties": {
        "overview": {"type": "object", "properties": {"purpose": {"type": "string"}}},
    },
}


@pytest.fixture(params=["dev", "token"])
def bailo_client(request: Any, live_server: Any, settings: Any, make_user: Any) -> Iterator[Client]:
    """The official client in development mode, or with a token holding every action."""
    agent: Agent
    if request.param == "dev":
        settings.BAILO_AUTH_MODE = "dev"
        agent = Agent()
    else:
        settings.BAILO_AUTH_MODE = "password"
        admin = make_user("token-admin", admin=True)
        make_token = request.getfixturevalue("make_token")
        token, secret = make_token(admin, actions=sorted(TokenAction))
        agent = TokenAgent(access_key=token.access_key, secret_key=secret)
    yield Client(live_server.url, agent)
    agent.session.close()


def test_the_official_client_creates_updates_and_reads_a_model(
    bailo_client: Client, make_user: Any
) -> None:
    make_user("alice")
    model = Model.create(
        bailo_client,
        name="Digit reader",
        description="Reads digits.",
        visibility=ModelVisibility.PRIVATE,
        tags=["Vision"],
    )
    assert model.model_id.startswith("digit-reader-")
    assert model.visibility == ModelVisibility.PRIVATE
    assert model.tags == ["vision"]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fetched = Model.from_id(bailo_client, model.model_id)
    assert "does not have any associated cards" in str(caught[0].message)
    assert fetched.name == "Digit reader"

    fetched.description = "Reads handwritten digits."
    fetched.state = "Development"
    assert fetched.collaborators is not None
    fetched.collaborators.append(CollaboratorEntry("user:alice", [Role.CONTRIBUTOR]))
    fetched.update()
    assert Entry.objects.get(pk=model.model_id).description == "Reads handwritten digits."
    assert fetched.state == "Development"
    assert {"entity": "user:alice", "roles": ["contributor"]} in fetched.collaborators

    fetched.card_from_schema()
    assert (fetched.model_card_schema, fetched.model_card_version) == ("minimal-general-v10", 1)
    fetched.update_model_card(SUMMARY)
    assert fetched.model_card_version == 2
    assert fetched.model_card == SUMMARY

    fetched.get_card_revision("1")
    assert (fetched.model_card_version, fetched.model_card) == (1, {})
    fetched.get_card_latest()
    assert (fetched.model_card_version, fetched.model_card) == (2, SUMMARY)
    assert ModelCardRevision.objects.filter(model_id=model.model_id).count() == 2

    roles = fetched.get_roles()
    assert [r["shortName"] for r in roles] == ["msro", "mtr", "consumer", "contributor", "owner"]
    assert bailo_client.get_model_roles()["roles"][-1]["shortName"] == "owner"


def test_the_official_client_reports_our_refusals(bailo_client: Client) -> None:
    model = Model.create(bailo_client, name="Strict", description="Has rules.")
    model.card_from_schema()
    with pytest.raises(BailoException) as invalid:
        model.update_model_card({"overview": {"modelSummary": ""}})
    assert invalid.value.status_code == 400
    assert "overview.modelSummary" in str(invalid.value)
    with pytest.raises(BailoException) as missing:
        Model.from_id(bailo_client, "no-such-model-000000")
    assert missing.value.status_code == 404
    with pytest.raises(BailoException) as twice:
        model.card_from_schema()
    assert twice.value.status_code == 409
    assert ModelCardRevision.objects.filter(model_id=model.model_id).count() == 1


def test_the_official_client_manages_a_data_card(bailo_client: Client) -> None:
    datacard = Datacard.create(bailo_client, name="Digits", description="Scanned digits.")
    datacard.card_from_schema("minimal-data-card-v10")
    datacard.update_data_card(DATA_CARD)
    assert (datacard.data_card_version, datacard.data_card) == (2, DATA_CARD)
    again = Datacard.from_id(bailo_client, datacard.datacard_id)
    assert again.data_card == DATA_CARD
    assert again.data_card_schema == "minimal-data-card-v10"


def test_the_official_client_uploads_and_reads_schemas(bailo_client: Client) -> None:
    created = Schema.create(
        bailo_client,
        schema_id="client-card-v1",
        name="Client card",
        description="Uploaded by the official client.",
        kind=SchemaKind.MODEL,
        json_schema=CLIENT_SCHEMA,
        review_roles=["msro"],
    )
    assert created.json_schema == CLIENT_SCHEMA
    fetched = Schema.from_id(bailo_client, "client-card-v1")
    assert (fetched.name, fetched.kind, fetched.review_roles) == (
        "Client card",
        SchemaKind.MODEL,
        ["msro"],
    )
    ids = [s["id"] for s in bailo_client.get_all_schemas()["schemas"]]
    assert {"client-card-v1", "minimal-general-v10", "minimal-data-card-v10"} <= set(ids)
    assert "minimal-data-card-v10" not in Schema.get_all_schema_ids(bailo_client, SchemaKind.MODEL)


def test_the_official_client_searches_models_and_lists_tags(bailo_client: Client) -> None:
    """Needs the search feature (``/models/search`` and ``/models/tags``)."""
    Model.create(bailo_client, name="Searchable digits", description="d", tags=["ocr"])
    Model.create(bailo_client, name="Something else", description="d", tags=["ocr", "audio"])
    found = Model.search(bailo_client, search="searchable")
    assert [m.name for m in found] == ["Searchable digits"]
    tags = bailo_client.get_model_tags()
    assert tags["tags"][0] == "ocr"
