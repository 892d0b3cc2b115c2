"""The peer connectors against real HTTP servers on 127.0.0.1 (tests/federation/stubs.py): what
they send, how they read the answers, and how a broken or slow peer is reported."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import pytest

from core.federation.config import PeerConfig, parse_peers
from core.ports.peers import (
    BailoPeer,
    HuggingFaceHubPeer,
    PeerError,
    PeerQuery,
    peer_link,
)
from tests.federation.conftest import bailo_peer, hub_peer
from tests.federation.stubs import BailoStub, HubStub, closed_url, running


def config(raw: dict[str, Any]) -> PeerConfig:
    return parse_peers({"peer": raw})["peer"]


@pytest.fixture
def hub() -> Iterator[HubStub]:
    with running(HubStub()) as stub:
        yield stub  # type: ignore[misc]


@pytest.fixture
def west() -> Iterator[BailoStub]:
    with running(BailoStub()) as stub:
        yield stub  # type: ignore[misc]


# --- Hugging Face Hub ---------------------------------------------------------------------------


def test_hub_search_sends_the_text_and_maps_public_models_to_summaries(hub: HubStub) -> None:
    peer = HuggingFaceHubPeer(config(hub_peer(hub.url)))
    rows = peer.search(PeerQuery(text="sentiment", kinds=("model",)), user="alice")
    assert [r["name"] for r in rows] == ["acme/sentiment-classifier", "someone/sentiment-tiny"]
    first = rows[0]
    assert first == {
        "id": "64a1f0c2e0b1a2b3c4d5e6f7",
        "name": "acme/sentiment-classifier",
        "description": "text-classification",
        "tags": ["transformers", "sentiment"],
        "kind": "model",
        "organisation": "acme",
        "state": "",
        "createdAt": "2024-01-02T03:04:05.000Z",
        "updatedAt": "2024-02-03T04:05:06.000Z",
        "collaborators": [],
        "peerId": "peer",
    }
    (request,) = hub.requests
    assert request.path == "/api/models"
    assert request.query["search"] == ["sentiment"]
    assert request.query["limit"] == ["100"]
    assert "author" in request.query["expand"]
    assert peer_link(peer.config, first) == f"{hub.url}/acme/sentiment-classifier"


def test_hub_search_shorter_than_five_characters_asks_nothing(hub: HubStub) -> None:
    peer = HuggingFaceHubPeer(config(hub_peer(hub.url)))
    assert peer.search(PeerQuery(text="sent"), user="alice") == []
    assert hub.requests == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (PeerQuery(text="sentiment", organisations=("acme",)), "not by organisation"),
        (PeerQuery(text="sentiment", states=("Production",)), "not by state"),
        (PeerQuery(text="sentiment", libraries=("pytorch",)), "not by library or tag"),
        (PeerQuery(text="sentiment", filters=("mine",)), "not by role"),
        (PeerQuery(text="sentiment", kinds=("data-card",)), "has models only"),
    ],
)
def test_hub_refuses_filters_it_cannot_apply(hub: HubStub, query: PeerQuery, message: str) -> None:
    peer = HuggingFaceHubPeer(config(hub_peer(hub.url)))
    with pytest.raises(PeerError, match=message) as caught:
        peer.search(query, user="alice")
    assert caught.value.code == 400
    assert hub.requests == []


def test_hub_status_checks_the_known_models_id(hub: HubStub) -> None:
    known = {"statusModelName": "acme/sentiment-classifier"}
    good = HuggingFaceHubPeer(
        config(hub_peer(hub.url, extra={**known, "statusModelId": "64a1f0c2e0b1a2b3c4d5e6f7"}))
    )
    assert good.status() == {"ping": "pong"}
    wrong = HuggingFaceHubPeer(
        config(hub_peer(hub.url, extra={**known, "statusModelId": "something-else"}))
    )
    with pytest.raises(PeerError, match="not with the known model"):
        wrong.status()
    assert hub.requests[-1].path == "/api/models/acme/sentiment-classifier"
    plain = HuggingFaceHubPeer(config(hub_peer(hub.url)))
    assert plain.status() == {"ping": "pong"}
    assert hub.requests[-1].query["limit"] == ["1"]


# --- Bailo --------------------------------------------------------------------------------------


def test_bailo_search_forwards_only_bailos_filters_and_names_this_instance(
    west: BailoStub,
) -> None:
    peer = BailoPeer(config(bailo_peer(west.url)), own_id="east", escalation=False)
    query = PeerQuery(
        text="sentiment",
        kinds=("model",),
        organisations=("West",),
        states=("Production",),
        libraries=("nlp",),
        filters=("mine",),
    )
    rows = peer.search(query, user="alice")
    assert [r["id"] for r in rows] == ["remote-model-abc123"]
    assert rows[0]["peerId"] == "peer"
    assert rows[0]["collaborators"] == []  # the remote's people are not passed on
    (request,) = west.requests
    assert request.path == "/api/v2/models/search"
    assert request.query == {
        "search": ["sentiment"],
        "kind": ["model"],
        "organisations": ["West"],
        "states": ["Production"],
        "libraries": ["nlp"],
        "filters": ["mine"],
    }
    assert request.headers["x-bailo-id"] == "east"
    assert "x-user" not in request.headers
    assert "Authorization" not in request.headers
    assert peer_link(peer.config, rows[0]) == f"{west.url}/model/remote-model-abc123"


def test_bailo_search_asks_for_all_kinds_when_several_are_wanted_and_keeps_those(
    west: BailoStub,
) -> None:
    west.rows = [
        {"id": "remote-model-aaaaaa", "name": "Remote a", "kind": "model"},
        {"id": "remote-card-bbbbbb", "name": "Remote b", "kind": "data-card"},
        {"id": "remote-mirror-cccccc", "name": "Remote c", "kind": "mirrored-model"},
    ]
    peer = BailoPeer(config(bailo_peer(west.url)), own_id="east", escalation=False)
    rows = peer.search(PeerQuery(kinds=("model", "mirrored-model")), user="alice")
    assert [r["id"] for r in rows] == ["remote-model-aaaaaa", "remote-mirror-cccccc"]
    assert "kind" not in west.requests[-1].query  # Bailo takes one kind only


def test_bailo_search_sends_the_user_when_escalation_is_on_and_the_token_as_basic(
    west: BailoStub,
) -> None:
    raw = bailo_peer(west.url, token={"accessKey": "BAC_key", "secretKey": "BSK_secret"})
    peer = BailoPeer(config(raw), own_id="east", escalation=True)
    peer.search(PeerQuery(text="remote"), user="alice")
    headers = west.requests[-1].headers
    assert headers["x-user"] == "alice"
    assert headers["x-bailo-id"] == "east"
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"BAC_key:BSK_secret").decode()


def test_bailo_rows_whose_ids_could_leave_the_peers_paths_are_dropped() -> None:
    rows = [
        {"id": "../admin", "name": "Remote traversal"},
        {"id": "ok-model-aaaaaa", "name": "Remote fine", "kind": "data-card"},
        {"id": 7, "name": "Remote number"},
        "not an object",
    ]
    with running(BailoStub(rows=rows)) as stub:  # type: ignore[arg-type]
        peer = BailoPeer(config(bailo_peer(stub.url)), own_id="east", escalation=False)
        found = peer.search(PeerQuery(), user="alice")
    assert [r["id"] for r in found] == ["ok-model-aaaaaa"]
    assert peer_link(peer.config, found[0]) == f"{stub.url}/data-card/ok-model-aaaaaa"


def test_bailo_status_reads_ping_and_federation(west: BailoStub) -> None:
    peer = BailoPeer(config(bailo_peer(west.url)), own_id="east", escalation=False)
    assert peer.status() == {"ping": "pong", "federation": {"state": "enabled", "id": "west"}}
    assert west.requests[-1].headers["x-bailo-id"] == "east"


# --- Peers that fail ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["bailo", "hub"])
def test_an_erroring_peer_is_a_peer_error_not_an_exception_of_requests(kind: str) -> None:
    stub = BailoStub(mode="error") if kind == "bailo" else HubStub(mode="error")
    with running(stub):
        peer: Any = (
            BailoPeer(config(bailo_peer(stub.url)), own_id="east", escalation=False)
            if kind == "bailo"
            else HuggingFaceHubPeer(config(hub_peer(stub.url)))
        )
        with pytest.raises(PeerError, match=r"answered with an error \(500\)") as caught:
            peer.search(PeerQuery(text="sentiment"), user="alice")
        assert caught.value.code == 502
        with pytest.raises(PeerError):
            peer.status()


def test_a_peer_answering_other_than_json_is_reported() -> None:
    with running(BailoStub(mode="garbage")) as stub:
        peer = BailoPeer(config(bailo_peer(stub.url)), own_id="east", escalation=False)
        with pytest.raises(PeerError, match="did not answer with JSON"):
            peer.search(PeerQuery(), user="alice")


def test_a_peer_nobody_answers_for_is_unreachable() -> None:
    peer = BailoPeer(config(bailo_peer(closed_url())), own_id="east", escalation=False)
    with pytest.raises(PeerError, match="could not be reached"):
        peer.status()


@pytest.mark.parametrize("mode", ["slow", "trickle"])
def test_a_slow_peer_is_given_up_on_after_its_timeout(mode: str) -> None:
    with running(BailoStub(mode=mode, trickle_gap=0.3)) as stub:
        peer = BailoPeer(config(bailo_peer(stub.url, timeout=1)), own_id="east", escalation=False)
        started = time.monotonic()
        with pytest.raises(PeerError, match="did not answer within 1 s") as caught:
            peer.search(PeerQuery(), user="alice")
        took = time.monotonic() - started
    assert caught.value.code == 504
    # A trickling answer resets a per-read timeout with every byte; the whole is still bounded.
    assert took < 1.8, took
