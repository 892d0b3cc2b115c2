"""Answers as Bailo gives them (issue 15), read through the official ``bailo`` client (3.x).

Where the client has a method for a route, the test calls it; where it has none (``/config/ui``,
``/system/status``, the OpenAPI document) the test uses the client's own ``Agent``, which is what
a script written against Bailo would do. Everything runs against a live server in password mode
with a personal access token, so no step depends on development mode's implicit administrator.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from bailo import Client, Model
from bailo.core.agent import TokenAgent
from bailo.core.enums import EntryKind
from bailo.core.exceptions import BailoException

from models_app.policy import TokenAction
from releases.models import File

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def agent(settings: Any, make_user: Any, make_token: Any) -> Iterator[TokenAgent]:
    """The client's transport with a token of an administrator holding every action."""
    settings.BAILO_AUTH_MODE = "password"
    admin = make_user("fidelity-admin", admin=True)
    token, secret = make_token(admin, actions=sorted(TokenAction))
    agent = TokenAgent(access_key=token.access_key, secret_key=secret)
    yield agent
    agent.session.close()


@pytest.fixture
def client(agent: TokenAgent, live_server: Any) -> Client:
    return Client(live_server.url, agent)


# --- 1. response shapes ---------------------------------------------------------------------------


def test_ui_config_is_wrapped_in_ui_config(agent: TokenAgent, live_server: Any) -> None:
    body = agent.get(f"{live_server.url}/api/v2/config/ui").json()
    assert set(body) == {"uiConfig"}
    assert body["uiConfig"]["modelDetails"]["states"]


def test_system_status_answers_ping_and_federation(agent: TokenAgent, live_server: Any) -> None:
    body = agent.get(f"{live_server.url}/api/v2/system/status").json()
    assert body == {"ping": "pong", "federation": {"state": "disabled", "id": ""}}


def test_filescanning_info_lists_scanner_objects(client: Client) -> None:
    scanners = client.get_filescanning_info()["scanners"]
    assert scanners, "at least ModelScan runs"
    for scanner in scanners:
        assert {"toolName", "scannerVersion", "artefactKind"} <= set(scanner)
        assert scanner["artefactKind"] == "file"


# --- 2. the OpenAPI document at Bailo's path ------------------------------------------------------


def test_the_openapi_document_is_served_at_bailos_path(agent: TokenAgent, live_server: Any) -> None:
    ours = agent.get(f"{live_server.url}/api/v2/openapi.json").json()
    bailos = agent.get(f"{live_server.url}/api/v2/api-docs/swagger.json").json()
    assert bailos == ours
    assert "/api/v2/model/{model_id}" in bailos["paths"]


# --- 3. multipart start names the file by fileId --------------------------------------------------


def test_a_multipart_upload_runs_on_the_file_id_bailo_answers(client: Client) -> None:
    model = Model.create(client, name="Multipart by id", description="d")
    data = b"0123456789" * 1000
    started = client.start_multipart_upload(model.model_id, "weights.bin", len(data))
    file_id = started["fileId"]
    assert started["file"]["id"] == file_id
    parts = []
    for number, chunk in enumerate(started["chunks"], start=1):
        piece = data[chunk["startByte"] : chunk["endByte"] + 1]
        answer = client.upload_multipart_part(
            model.model_id, file_id, started["uploadId"], number, piece
        )
        parts.append({"ETag": answer["ETag"], "PartNumber": number})
    finished = client.finish_multipart_upload(model.model_id, file_id, started["uploadId"], parts)
    assert finished["file"]["id"] == file_id and finished["file"]["complete"] is True
    assert File.objects.get(pk=file_id).size == len(data)


# --- 4. GET /model/{id}?kind= ---------------------------------------------------------------------


def test_get_model_filters_by_the_kinds_the_client_names(client: Client) -> None:
    model = Model.create(client, name="Kind filtered", description="d")
    found = client.get_model(model.model_id, kind=[EntryKind.MODEL, EntryKind.DATACARD])
    assert found["model"]["id"] == model.model_id
    with pytest.raises(BailoException, match="not found"):
        client.get_model(model.model_id, kind=[EntryKind.DATACARD])


# --- 5. a state the card does not satisfy ---------------------------------------------------------


def test_a_state_the_card_cannot_meet_is_refused_naming_the_questions(client: Client) -> None:
    from models_app.models import Schema

    Schema.objects.create(
        id="fidelity-states-v1",
        name="States",
        kind="model",
        json_schema={
            "type": "object",
            "properties": {
                "overview": {
                    "type": "object",
                    "properties": {
                        "summary": {
                            "title": "What does the model do?",
                            "type": "string",
                            "requiredByModelStates": ["Production"],
                        }
                    },
                }
            },
        },
    )
    model = Model.create(client, name="State checked", description="d")
    model.card_from_schema("fidelity-states-v1")
    model.state = "Production"
    with pytest.raises(BailoException, match=r"What does the model do\? \(overview.summary\)"):
        model.update()
    model.update_model_card({"overview": {"summary": "Finds cats."}})
    model.update()
    assert client.get_model(model.model_id)["model"]["state"] == "Production"


# --- 6. release notes are any string --------------------------------------------------------------


@pytest.mark.parametrize("notes", [" ", ""])
def test_release_notes_may_be_blank_as_in_bailo(client: Client, notes: str) -> None:
    model = Model.create(client, name="Blank notes", description="d")
    model.card_from_schema("minimal-general-v10")
    release = model.create_release("1.0.0", notes)
    assert release.notes == notes
    assert client.get_release(model.model_id, "1.0.0")["release"]["notes"] == notes
    release.notes = "Now with words"
    release.update()
    release.notes = " "
    release.update()
    assert client.get_release(model.model_id, "1.0.0")["release"]["notes"] == " "


# --- 7. the default schemas accept what Bailo's accept --------------------------------------------

# A card written for Bailo's default model schema, every question answered.
BAILO_MODEL_CARD = {
    "overview": {
        "modelSummary": "Finds cats in pictures.",
        "datasets": ["cat-pictures-abc123"],
        "metrics": [{"name": "accuracy", "value": 0.9}, {"name": "recall", "value": 1}],
    },
    "anotherPage": {
        "sectionOne": {"q1": "one", "q2": "two", "q3": "2026-12-03"},
        "sectionTwo": {"questionThree": 3.5, "questionFour": True},
    },
}


@pytest.mark.parametrize(
    "card",
    [
        BAILO_MODEL_CARD,
        {},
        {"overview": {}},
        # Bailo's sections do not forbid other keys; only pages and the card do.
        {"anotherPage": {"sectionOne": {"q9": "extra"}}},
        {"overview": {"metrics": [{"name": "free-form", "unit": "%"}]}},
    ],
)
def test_the_default_model_schema_accepts_cards_bailo_accepts(
    client: Client, card: dict[str, Any]
) -> None:
    model = Model.create(client, name="Bailo card", description="d")
    model.card_from_schema("minimal-general-v10")
    model.update_model_card(card)
    assert client.get_model_card(model.model_id, "latest")["modelCard"]["metadata"] == card


@pytest.mark.parametrize(
    ("card", "problem"),
    [
        ({"performance": {"accuracy": 0.9}}, "performance"),
        ({"overview": {"intendedUse": "x"}}, "intendedUse"),
        ({"overview": {"modelSummary": ""}}, "overview.modelSummary"),
        ({"overview": {"modelSummary": "x" * 5001}}, "overview.modelSummary"),
        ({"overview": {"datasets": ["a", "a"]}}, "overview.datasets"),
        ({"overview": {"metrics": [{"name": "n", "value": "high"}]}}, "overview.metrics.0.value"),
        ({"anotherPage": {"sectionOne": {"q3": "next week"}}}, "anotherPage.sectionOne.q3"),
        ({"anotherPage": {"sectionTwo": {"questionFour": "yes"}}}, "questionFour"),
    ],
)
def test_the_default_model_schema_refuses_cards_bailo_refuses(
    client: Client, card: dict[str, Any], problem: str
) -> None:
    model = Model.create(client, name="Refused card", description="d")
    model.card_from_schema("minimal-general-v10")
    with pytest.raises(BailoException, match=problem):
        model.update_model_card(card)
    assert client.get_model_card(model.model_id, "latest")["modelCard"]["version"] == 1


def test_an_empty_bailo_card_may_be_in_any_state(client: Client) -> None:
    """Bailo's default model schema has no ``requiredByModelStates``."""
    model = Model.create(client, name="Any state", description="d")
    model.card_from_schema("minimal-general-v10")
    for state in ("Development", "Review", "Production"):
        model.state = state
        model.update()


def test_the_default_data_card_schema_accepts_and_refuses_as_bailos(client: Client) -> None:
    from bailo import Datacard

    card = Datacard.create(client, name="Bailo data card", description="d")
    card.card_from_schema("minimal-data-card-v10")
    answers = {"overview": {"storageLocation": "s3://cats/raw", "tags": ["cats", "raw"]}}
    card.update_data_card(answers)
    assert Datacard.from_id(client, card.datacard_id).data_card == answers
    for bad in (
        {"overview": {"storageLocation": ""}},
        {"overview": {"tags": ["a", "a"]}},
        {"overview": {"sensitivity": "Internal"}},
        {"elsewhere": {}},
    ):
        with pytest.raises(BailoException, match="does not match its schema"):
            card.update_data_card(bad)


def test_the_default_access_request_schema_accepts_and_refuses_as_bailos(client: Client) -> None:
    from bailo import AccessRequest

    model = Model.create(client, name="Asked for", description="d")
    minimal = AccessRequest.create(client, model.model_id, {"overview": {"name": "Just a name"}})
    assert minimal.schema_id == "minimal-access-request-general-v10"
    full = {
        "overview": {
            "name": "Everything",
            "entities": ["user:fidelity-admin"],
            "endDate": "2099-01-31",
        }
    }
    assert AccessRequest.create(client, model.model_id, full).metadata == full
    for bad, problem in (
        ({}, "overview"),
        ({"overview": {}}, "overview.name"),
        ({"overview": {"name": "x", "justification": "why"}}, "justification"),
        ({"overview": {"name": "x", "endDate": "soon"}}, "overview.endDate"),
        ({"overview": {"name": "x", "entities": "user:someone"}}, "overview.entities"),
    ):
        with pytest.raises(BailoException, match=problem):
            AccessRequest.create(client, model.model_id, bad)


def test_a_request_naming_nobody_names_its_requester(client: Client) -> None:
    from bailo import AccessRequest

    from access.models import AccessRequestEntity

    model = Model.create(client, name="Named", description="d")
    created = AccessRequest.create(client, model.model_id, {"overview": {"name": "Mine"}})
    rows = AccessRequestEntity.objects.filter(access_request_id=created.access_request_id)
    assert [row.entity for row in rows] == ["user:fidelity-admin"]


def test_the_default_schemas_name_bailos_review_roles(client: Client) -> None:
    roles = {
        schema_id: client.get_schema(schema_id)["schema"]["reviewRoles"]
        for schema_id in (
            "minimal-general-v10",
            "minimal-data-card-v10",
            "minimal-access-request-general-v10",
        )
    }
    assert roles == {
        "minimal-general-v10": ["msro", "mtr"],
        "minimal-data-card-v10": [],
        "minimal-access-request-general-v10": ["msro"],
    }


# --- 8. schemas may name review roles that do not exist yet ---------------------------------------


def test_a_schema_naming_a_role_not_defined_yet_is_accepted(client: Client) -> None:
    from bailo import Schema
    from bailo.core.enums import SchemaKind

    created = Schema.create(
        client,
        schema_id="fidelity-legal-v1",
        name="Legal card",
        description="Reviewed by a role defined later.",
        kind=SchemaKind.MODEL,
        json_schema={"type": "object", "properties": {}},
        review_roles=["msro", "legal"],
    )
    assert created.review_roles == ["msro", "legal"]
    assert client.get_schema("fidelity-legal-v1")["schema"]["reviewRoles"] == ["msro", "legal"]


# --- 9. peers, entity lookup, v3 identity, reactions ----------------------------------------------


def test_the_other_system_routes_answer_in_bailos_shapes(
    agent: TokenAgent, live_server: Any
) -> None:
    base = f"{live_server.url}/api"
    assert agent.get(f"{base}/v2/system/peers").json() == {"peers": {}}
    entity = agent.get(f"{base}/v2/entity/fidelity-admin/lookup").json()["entity"]
    assert entity == {"name": "fidelity-admin", "email": "fidelity-admin@example.org"}
    me = agent.get(f"{base}/v3/entities/me").json()
    assert me == {"user": {"dn": "fidelity-admin", "systemRoles": ["admin"]}}
    with pytest.raises(BailoException, match="nobody-here"):
        agent.get(f"{base}/v2/entity/nobody-here/lookup")


def test_a_reaction_toggles_through_the_clients_transport(
    client: Client, agent: TokenAgent, live_server: Any
) -> None:
    model = Model.create(client, name="Reacted to", description="d")
    model.card_from_schema("minimal-general-v10")
    model.create_release("1.0.0", "First", draft=False)
    url = f"{live_server.url}/api/v2/model/{model.model_id}/release/1.0.0/comment"
    comment = agent.post(url, json={"comment": "Nice"}).json()["response"]
    reaction = f"{live_server.url}/api/v2/response/{comment['_id']}/reaction/like"
    liked = agent.patch(reaction).json()["response"]
    assert liked["reactions"] == [{"kind": "like", "users": ["fidelity-admin"]}]
    assert agent.patch(reaction).json()["response"]["reactions"] == []
