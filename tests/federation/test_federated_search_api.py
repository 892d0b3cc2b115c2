"""``GET /api/v2/models/search?peers=...``, ``GET /api/v2/system/peers`` and
``GET /api/v2/system/status`` with peers played by stub servers on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.core.test_api_shell import assert_bailo_error
from tests.federation.conftest import Federate, bailo_peer, hub_peer
from tests.federation.stubs import BailoStub, HubStub, closed_url, running

pytestmark = pytest.mark.django_db


@pytest.fixture
def west() -> Iterator[BailoStub]:
    with running(BailoStub()) as stub:
        yield stub  # type: ignore[misc]


@pytest.fixture
def hub() -> Iterator[HubStub]:
    with running(HubStub()) as stub:
        yield stub  # type: ignore[misc]


def search(client: Any, query: str) -> Any:
    return client.get(f"/api/v2/models/search?{query}")


def test_local_and_remote_rows_are_merged_with_remote_rows_marked(
    federate: Federate, west: BailoStub, hub: HubStub, client_for: Any, outsider: Any,
    make_entry: Any,
) -> None:  # fmt: skip
    make_entry("Local sentiment", visibility="public")
    federate({"west": bailo_peer(west.url), "hf": hub_peer(hub.url)})
    response = search(client_for(outsider), "search=sentiment&peers=west&peers=hf")
    assert response.status_code == 200
    body = response.json()
    names = [(m["name"], m.get("peerId")) for m in body["models"]]
    assert names == [
        ("Local sentiment", None),
        ("Remote sentiment", "west"),
        ("acme/sentiment-classifier", "hf"),
        ("someone/sentiment-tiny", "hf"),
    ]
    assert body["errors"] == {}
    assert body["totalEntries"] == 1  # ours: the peers' rows have no pages
    assert west.searches()[0].headers["x-bailo-id"] == "east"


def test_a_failing_peer_is_named_in_errors_and_the_others_still_answer(
    federate: Federate, west: BailoStub, client_for: Any, outsider: Any
) -> None:
    with running(HubStub(mode="error")) as broken:
        federate(
            {
                "west": bailo_peer(west.url),
                "hf": hub_peer(broken.url),
                "gone": bailo_peer(closed_url()),
            }
        )
        body = search(
            client_for(outsider), "search=sentiment&peers=west&peers=hf&peers=gone"
        ).json()
    assert [m["peerId"] for m in body["models"]] == ["west"]
    assert body["errors"]["hf"] == {
        "peerId": "hf",
        "message": "Hugging Face answered with an error (500)",
        "code": 502,
    }
    assert body["errors"]["gone"]["message"] == "West could not be reached"


def test_an_unknown_peer_is_a_400_and_no_peer_is_asked(
    federate: Federate, west: BailoStub, client_for: Any, outsider: Any
) -> None:
    federate({"west": bailo_peer(west.url)})
    error = assert_bailo_error(search(client_for(outsider), "peers=west&peers=nowhere"), 400)
    assert "'nowhere' is not a peer of this instance (peers: west)" in error["message"]
    assert west.requests == []


def test_while_federation_is_disabled_each_peer_gets_an_error(
    federate: Federate, west: BailoStub, client_for: Any, outsider: Any
) -> None:
    federate({"west": bailo_peer(west.url)}, state="disabled")
    body = search(client_for(outsider), "peers=west").json()
    assert body["errors"]["west"]["message"] == "Federated search is not enabled"
    assert west.requests == []


def test_a_disabled_peer_is_not_asked(
    federate: Federate, west: BailoStub, client_for: Any, outsider: Any
) -> None:
    federate({"west": bailo_peer(west.url, state="disabled")})
    body = search(client_for(outsider), "peers=west").json()
    assert body["errors"]["west"] == {"peerId": "west", "message": "West is disabled", "code": 400}
    assert west.requests == []


def test_peers_answer_only_on_the_first_page(
    federate: Federate, west: BailoStub, client_for: Any, outsider: Any
) -> None:
    federate({"west": bailo_peer(west.url)})
    body = search(client_for(outsider), "peers=west&page=2").json()
    assert body["models"] == []
    assert west.requests == []


def test_a_slow_peer_does_not_hold_the_search_beyond_its_timeout(
    federate: Federate, west: BailoStub, client_for: Any, outsider: Any
) -> None:
    with running(BailoStub(mode="slow")) as slow:
        federate(
            {"west": bailo_peer(west.url), "slow": bailo_peer(slow.url, timeout=1, label="Slow")}
        )
        client = client_for(outsider)
        started = time.monotonic()
        body = search(client, "peers=west&peers=slow").json()
        took = time.monotonic() - started
    assert body["errors"]["slow"]["message"] == "Slow did not answer within 1 s"
    assert body["errors"]["slow"]["code"] == 504
    assert [m["peerId"] for m in body["models"]] == ["west"]
    assert took < 1 + 1.0, took


def test_results_are_cached_per_peer_user_and_query(
    federate: Federate, west: BailoStub, client_for: Any, outsider: Any, owner: Any
) -> None:
    federate({"west": bailo_peer(west.url, cache={"query": 60})})
    first = search(client_for(outsider), "search=remote+sentiment&peers=west").json()
    again = search(client_for(outsider), "search=remote+sentiment&peers=west").json()
    assert again["models"] == first["models"] and len(first["models"]) == 1
    assert len(west.searches()) == 1
    search(client_for(owner), "search=remote+sentiment&peers=west")
    search(client_for(outsider), "search=remote&peers=west")
    assert len(west.searches()) == 3


def test_failures_are_not_cached(federate: Federate, client_for: Any, outsider: Any) -> None:
    with running(BailoStub(mode="error")) as flaky:
        federate({"west": bailo_peer(flaky.url, cache={"query": 60})})
        assert (
            "west"
            in search(client_for(outsider), "search=remote+flaky&peers=west").json()["errors"]
        )
        flaky.mode = "ok"
        body = search(client_for(outsider), "search=remote+flaky&peers=west").json()
    assert body["errors"] == {}
    assert len(flaky.searches()) == 2


def test_without_a_cache_every_search_asks_the_peer(
    federate: Federate, west: BailoStub, client_for: Any, outsider: Any
) -> None:
    federate({"west": bailo_peer(west.url)})
    search(client_for(outsider), "search=remote&peers=west")
    search(client_for(outsider), "search=remote&peers=west")
    assert len(west.searches()) == 2


# --- /system/status and /system/peers -------------------------------------------------------------


def test_status_reports_the_configured_state_and_id(client_for: Any, federate: Federate) -> None:
    federate({}, state="readOnly")
    assert client_for(None).get("/api/v2/system/status").json() == {
        "ping": "pong",
        "federation": {"state": "readOnly", "id": "east"},
    }


def test_peers_lists_config_without_secrets_and_whether_each_answers(
    federate: Federate, west: BailoStub, client_for: Any, outsider: Any
) -> None:
    federate(
        {
            "west": bailo_peer(
                west.url,
                token={"accessKey": "BAC_key", "secretKey": "BSK_secret"},
                allowedSystemUserIds=["west-system"],
            ),
            # Through a proxy that does not exist: the peer's own proxy is the one used.
            "gone": bailo_peer(west.url, label="Gone", proxy=f"{closed_url()}/proxy.internal"),
            "off": bailo_peer(west.url, state="disabled", label="Off"),
        }
    )
    requests_before = len(west.requests)
    response = client_for(outsider).get("/api/v2/system/peers")
    assert response.status_code == 200
    peers = response.json()["peers"]
    assert peers["west"] == {
        "config": {
            "state": "enabled",
            "baseUrl": west.url,
            "label": "West",
            "kind": "bailo",
            "cache": {"query": 0},
            "timeout": 2.0,
        },
        "status": {"ping": "pong", "federation": {"state": "enabled", "id": "west"}},
    }
    assert peers["gone"]["status"] == {
        "ping": "",
        "error": {"message": "Gone could not be reached", "code": 502},
    }
    assert peers["off"]["status"]["ping"] == ""
    assert peers["off"]["status"]["error"]["message"] == "Off is disabled"
    # Only west was asked (once): the disabled peer shares its address and was not.
    assert len(west.requests) == requests_before + 1
    for secret in ("BAC_key", "BSK_secret", "west-system", "proxy.internal"):
        assert secret not in response.content.decode()


def test_peers_is_empty_while_federation_is_disabled(
    federate: Federate, west: BailoStub, client_for: Any, outsider: Any
) -> None:
    federate({"west": bailo_peer(west.url)}, state="disabled")
    assert client_for(outsider).get("/api/v2/system/peers").json() == {"peers": {}}


def test_peers_needs_a_signed_in_caller(
    federate: Federate, west: BailoStub, client_for: Any
) -> None:
    federate({"west": bailo_peer(west.url)})
    assert_bailo_error(client_for(None).get("/api/v2/system/peers"), 401)
    assert west.requests == []


def test_a_peer_that_fails_in_an_unexpected_way_is_still_that_peers_error(
    federate: Federate, west: BailoStub, client_for: Any, outsider: Any
) -> None:
    # A CA bundle that does not exist makes the HTTP library raise before connecting.
    broken = bailo_peer(
        "https://127.0.0.1:9", label="Broken", httpConfig={"ca": "/nonexistent.pem"}
    )
    federate({"west": bailo_peer(west.url), "broken": broken})
    response = search(client_for(outsider), "peers=west&peers=broken")
    assert response.status_code == 200
    body = response.json()
    assert body["errors"]["broken"]["message"] == "Broken could not be asked"
    assert [m["peerId"] for m in body["models"]] == ["west"]
