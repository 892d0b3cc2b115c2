"""Two instances federated for real: this test's instance (east) searches a second instance of
the app (west: its own process, database and settings; tests/two_instances.py)
configured as a ``bailo`` peer, through the API and the marketplace page.

West holds a public and a private match and an unrelated public entry, all owned by ``bob``;
east signs in to west with one of west's access tokens (its system account, ``west-system``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.conftest import stack_required
from tests.federation.conftest import Federate, bailo_peer
from tests.two_instances import Instance, second_instance

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not stack_required(), reason="needs PostgreSQL (the stack)"),
]

SETUP = """
from django.contrib.auth.models import User
from access.models import Token
from access.tokens.credentials import hash_secret, new_access_key, new_secret
from models_app.policy import Actor
from models_app.services import model_create

system = User.objects.create_user("west-system")
bob = User.objects.create_user("bob")
secret = new_secret()
token = Token.objects.create(
    user=system, access_key=new_access_key(), secret_hash=hash_secret(secret),
    actions=["model:read"], description="east searches west",
)
made = {}
for key, name, visibility in [
    ("public", "Public sentiment on West", "public"),
    ("private", "Private sentiment on West", "private"),
    ("unrelated", "Unrelated on West", "public"),
]:
    made[key] = model_create(
        actor=Actor(user=bob), name=name, description=f"{name}, made by bob",
        visibility=visibility,
    ).pk
result = {"accessKey": token.access_key, "secretKey": secret, **made}
"""

WEST_PEERS = {
    "east": {
        "state": "enabled", "baseUrl": "http://127.0.0.1:9", "kind": "bailo", "label": "East",
        "allowedSystemUserIds": ["west-system"],
    }
}  # fmt: skip


@pytest.fixture(scope="module")
def west(django_db_setup: None) -> Iterator[Instance]:
    env = {
        "BAILO_FEDERATION_STATE": "enabled",
        "BAILO_FEDERATION_ID": "west",
        "BAILO_FEDERATION_ESCALATION": "1",
        "BAILO_FEDERATION_PEERS": json.dumps(WEST_PEERS),
    }
    with second_instance(name="west", extra_env=env, worker=False, setup=SETUP) as instance:
        yield instance


@pytest.fixture
def east_federated(federate: Federate, west: Instance) -> Any:
    def configure(*, escalation: bool = False) -> None:
        token = {"accessKey": west.setup["accessKey"], "secretKey": west.setup["secretKey"]}
        # Generous: the second instance is runserver on a shared two-core machine.
        federate({"west": bailo_peer(west.url, token=token, timeout=15)}, escalation=escalation)

    configure()
    return configure


def test_a_search_on_east_shows_wests_public_matches_marked_as_wests(
    east_federated: Any, west: Instance, client_for: Any, outsider: Any, make_entry: Any
) -> None:
    make_entry("Local sentiment", visibility="public")
    response = client_for(outsider).get("/api/v2/models/search?search=sentiment&peers=west")
    assert response.status_code == 200
    body = response.json()
    assert body["errors"] == {}
    found = [(m["name"], m.get("peerId")) for m in body["models"]]
    assert found == [("Local sentiment", None), ("Public sentiment on West", "west")]
    remote = body["models"][1]
    assert remote["id"] == west.setup["public"]
    # The id is west's own: west answers for it.
    answer = requests.get(
        f"{west.url}/api/v2/model/{remote['id']}",
        auth=(west.setup["accessKey"], west.setup["secretKey"]),
        timeout=30,
    )
    assert answer.status_code == 200 and answer.json()["model"]["name"] == remote["name"]


def test_the_marketplace_on_east_shows_wests_match_linked_to_west(
    east_federated: Any, west: Instance, client_for: Any, outsider: Any
) -> None:
    response = client_for(outsider).get("/?q=sentiment&peers=west")
    assert response.status_code == 200
    html = response.content.decode()
    external = html[html.index("From external repositories") :]
    link = f'href="{west.url}/model/{west.setup["public"]}" target="_blank"'
    assert link in external
    assert "From: </span>West</span>" in external
    assert "Private sentiment on West" not in html
    assert "Unrelated on West" not in html
    assert re.search(r'name="peers" value="west" checked> West</label>', html)
    assert "Unreachable" not in html


def test_with_escalation_wests_answer_is_for_the_user_searching(
    east_federated: Any, west: Instance, client_for: Any, make_user: Any, outsider: Any
) -> None:
    east_federated(escalation=True)
    bob = make_user("bob")
    body = client_for(bob).get("/api/v2/models/search?search=sentiment&peers=west").json()
    assert body["errors"] == {}
    assert sorted(m["name"] for m in body["models"]) == [
        "Private sentiment on West",
        "Public sentiment on West",
    ]
    # Someone west does not know is refused there, and east says so for that peer alone.
    refused = client_for(outsider).get("/api/v2/models/search?search=sentiment&peers=west")
    assert refused.status_code == 200
    assert refused.json()["errors"]["west"]["message"] == (
        "West refused our request (403): check the peer's credentials"
    )


def test_east_sees_west_answering_as_a_federated_bailo(
    east_federated: Any, west: Instance, client_for: Any, outsider: Any
) -> None:
    peers = client_for(outsider).get("/api/v2/system/peers").json()["peers"]
    assert peers["west"]["status"] == {
        "ping": "pong",
        "federation": {"state": "enabled", "id": "west"},
    }
