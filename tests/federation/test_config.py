"""The peers' configuration is checked at start-up, with messages naming the peer and the key;
what ``/system/peers`` shows of it leaves the secrets out."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from core.federation.config import FederationState, PeerKind, parse_peers, parse_state

GOOD = {"state": "enabled", "baseUrl": "https://west.example/", "kind": "bailo"}


def test_a_minimal_peer_gets_the_defaults() -> None:
    peer = parse_peers({"west": GOOD})["west"]
    assert peer.kind == PeerKind.BAILO
    assert peer.state == FederationState.ENABLED
    assert peer.base_url == "https://west.example"
    assert peer.label == "west"
    assert peer.timeout == 5.0
    assert peer.query_cache_seconds == 30
    assert peer.allowed_system_user_ids == ()


def test_peers_are_read_from_json_text() -> None:
    peers = parse_peers('{"west": {"state": "readOnly", "baseUrl": "http://w", "kind": "bailo"}}')
    assert peers["west"].state == FederationState.READ_ONLY
    assert parse_peers("") == {}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "must be a JSON object keyed by peer id"),
        ({"west": {"baseUrl": "http://w", "kind": "bailo"}}, "['west']: missing state"),
        ({"west": {**GOOD, "kind": "gitlab"}}, "kind must be one of bailo, huggingfacehub"),
        ({"west": {**GOOD, "state": "on"}}, "state must be disabled, readOnly or enabled"),
        ({"west": {**GOOD, "baseUrl": "ftp://w"}}, "baseUrl must be an http:// or https://"),
        ({"west": {**GOOD, "baseUrl": "http://w/?q=1"}}, "without a query"),
        ({"west": {**GOOD, "timeout": 0}}, "timeout must be more than 0"),
        ({"west": {**GOOD, "timeout": "5"}}, "timeout must be a number"),
        ({"west": {**GOOD, "cache": {"query": -1}}}, "cache.query must be a whole number"),
        ({"west": {**GOOD, "tokn": {}}}, "unknown key 'tokn'"),
        ({"west": {**GOOD, "token": {"accessKey": "a"}}}, 'token must be {"accessKey"'),
        ({"west": {**GOOD, "allowedSystemUserIds": "sys"}}, "allowedSystemUserIds must be a list"),
        ({"west": {**GOOD, "httpConfig": {"cert": "/c.pem"}}}, "both cert and key"),
        ({"bad id!": GOOD}, "a peer id is 1 to 64 letters"),
        (
            {"hf": {**GOOD, "kind": "huggingfacehub", "extra": {"statusModelName": "a/b"}}},
            "both statusModelName and statusModelId",
        ),
        (
            {
                "hf": {
                    **GOOD,
                    "kind": "huggingfacehub",
                    "token": {"accessKey": "a", "secretKey": "b"},
                }
            },
            "token is only for peers of kind bailo",
        ),
    ],
)
def test_a_wrong_peer_configuration_is_refused_with_a_message_saying_what(
    raw: Any, message: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=None) as caught:
        parse_peers(raw)
    assert message in str(caught.value)


def test_the_state_must_be_one_of_bailos_three() -> None:
    assert parse_state("readOnly") == FederationState.READ_ONLY
    with pytest.raises(ImproperlyConfigured, match="disabled, readOnly or enabled"):
        parse_state("on")


def test_the_public_configuration_leaves_out_credentials_allow_lists_proxy_and_tls() -> None:
    peer = parse_peers(
        {
            "west": {
                **GOOD,
                "label": "West",
                "token": {"accessKey": "BAC_key", "secretKey": "BSK_secret"},
                "allowedSystemUserIds": ["west-system"],
                "proxy": "http://proxy.internal:3128",
                "httpConfig": {"ca": "/etc/ca.pem", "cert": "/etc/c.pem", "key": "/etc/k.pem"},
            }
        }
    )["west"]
    shown = peer.public()
    assert shown == {
        "state": "enabled",
        "baseUrl": "https://west.example",
        "label": "West",
        "kind": "bailo",
        "cache": {"query": 30},
        "timeout": 5.0,
    }
    text = str(shown)
    for secret in ("BAC_key", "BSK_secret", "west-system", "proxy.internal", "/etc/"):
        assert secret not in text


def _start_with(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_app_does_not_start_with_a_broken_peer_and_says_why() -> None:
    broken = _start_with(BAILO_FEDERATION_PEERS='{"west": {"state": "enabled", "kind": "bailo"}}')
    assert broken.returncode != 0
    assert "BAILO_FEDERATION_PEERS['west']: missing baseUrl" in broken.stderr
    state = _start_with(BAILO_FEDERATION_STATE="sometimes")
    assert state.returncode != 0
    assert "BAILO_FEDERATION_STATE must be disabled, readOnly or enabled" in state.stderr
    no_id = _start_with(
        BAILO_FEDERATION_STATE="enabled",
        BAILO_FEDERATION_ID="",
        BAILO_FEDERATION_PEERS='{"west": {"state": "enabled", "kind": "bailo", "baseUrl": "http://w"}}',
    )
    assert no_id.returncode != 0
    assert "BAILO_FEDERATION_ID must be set" in no_id.stderr
    fine = _start_with(
        BAILO_FEDERATION_STATE="enabled",
        BAILO_FEDERATION_ID="east",
        BAILO_FEDERATION_PEERS='{"west": {"state": "enabled", "kind": "bailo", "baseUrl": "http://w"}}',
    )
    assert fine.returncode == 0, fine.stderr
