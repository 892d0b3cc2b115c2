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
