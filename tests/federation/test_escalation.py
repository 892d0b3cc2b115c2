"""The receiving side of escalation: a peer's system account acting for one of its users on
``/api/v2/models*``, and every way that is refused."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import basic
from tests.core.test_api_shell import assert_bailo_error
from tests.federation.conftest import Federate, bailo_peer

pytestmark = pytest.mark.django_db

SEARCH = "/api/v2/models/search?search=Private"


@pytest.fixture
def system(make_user: Any, make_token: Any) -> dict[str, str]:
    """West's system account here, signing in with a token that may read models."""
    user = make_user("west-system")
    token, secret = make_token(user, actions=["model:read"])
    return basic(token.access_key, secret)


@pytest.fixture
def escalating(federate: Federate) -> None:
    federate(
        {"west": bailo_peer("http://west.invalid", allowedSystemUserIds=["west-system"])},
        escalation=True,
    )


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [m["name"] for m in response.json()["models"]]


def as_user(user: str, peer: str = "west") -> dict[str, str]:
    return {"HTTP_X_USER": user, "HTTP_X_BAILO_ID": peer}


def test_an_allowed_system_account_searches_as_the_named_user(
    escalating: None, system: dict[str, str], client_for: Any, entry: Any, owner: Any
) -> None:
    client = client_for(None)
    assert names(client.get(SEARCH, **system)) == []  # the system account cannot see it
    assert names(client.get(SEARCH, **system, **as_user(owner.username))) == ["Private model"]


def test_a_caller_not_on_the_peers_allow_list_is_refused(
    escalating: None, make_user: Any, make_token: Any, client_for: Any, entry: Any, owner: Any
) -> None:
    token, secret = make_token(make_user("intruder"), actions=["model:read"])
    response = client_for(None).get(
        SEARCH, **basic(token.access_key, secret), **as_user(owner.username)
    )
    error = assert_bailo_error(response, 403)
    assert error["message"] == "intruder may not act for users of instance 'west'"


def test_an_unknown_instance_is_refused(
    escalating: None, system: dict[str, str], client_for: Any, owner: Any
) -> None:
    response = client_for(None).get(SEARCH, **system, **as_user(owner.username, "north"))
    assert_bailo_error(response, 403)


def test_an_x_user_naming_nobody_here_is_refused(
    escalating: None, system: dict[str, str], client_for: Any
) -> None:
    response = client_for(None).get(SEARCH, **system, **as_user("nobody-here"))
    error = assert_bailo_error(response, 403)
    assert "x-user names no active user here" in error["message"]


def test_a_deactivated_user_cannot_be_acted_for(
    escalating: None, system: dict[str, str], client_for: Any, owner: Any, entry: Any
) -> None:
    owner.is_active = False
    owner.save()
    assert_bailo_error(client_for(None).get(SEARCH, **system, **as_user(owner.username)), 403)


def test_with_escalation_off_the_headers_are_ignored(
    federate: Federate, system: dict[str, str], client_for: Any, entry: Any, owner: Any
) -> None:
    federate({"west": bailo_peer("http://west.invalid", allowedSystemUserIds=["west-system"])})
    assert names(client_for(None).get(SEARCH, **system, **as_user(owner.username))) == []


def test_with_federation_disabled_the_headers_are_ignored(
    federate: Federate, system: dict[str, str], client_for: Any, entry: Any, owner: Any
) -> None:
    federate(
        {"west": bailo_peer("http://west.invalid", allowedSystemUserIds=["west-system"])},
        state="disabled",
        escalation=True,
    )
    assert names(client_for(None).get(SEARCH, **system, **as_user(owner.username))) == []


def test_only_models_paths_escalate(
    escalating: None, system: dict[str, str], client_for: Any, entry: Any, owner: Any
) -> None:
    # /api/v2/model/<id> is not under /api/v2/models: it runs as the system account.
    response = client_for(None).get(
        f"/api/v2/model/{entry.pk}", **system, **as_user(owner.username)
    )
    assert response.status_code == 404
    assert client_for(owner).get(f"/api/v2/model/{entry.pk}").status_code == 200


def test_the_system_accounts_token_still_limits_what_the_request_may_do(
    escalating: None, make_user: Any, make_token: Any, client_for: Any, owner: Any
) -> None:
    token, secret = make_token(make_user("west-system"), actions=["file:read"])
    response = client_for(None).get(
        SEARCH, **basic(token.access_key, secret), **as_user(owner.username)
    )
    error = assert_bailo_error(response, 403)
    assert "model:read" in error["message"]


def test_a_user_name_beyond_latin_1_arrives_as_sent(
    escalating: None, system: dict[str, str], client_for: Any, make_user: Any, make_entry: Any
) -> None:
    from models_app.policy import Actor
    from models_app.services import model_create

    zoe = make_user("zoë")
    model_create(
        actor=Actor(user=zoe), name="Private of zoë", description="x", visibility="private"
    )
    # The sender sends UTF-8 bytes; the server hands a header over as Latin-1 text.
    header = "zoë".encode().decode("latin-1")
    response = client_for(None).get(
        "/api/v2/models/search?search=Private+of",
        **system,
        HTTP_X_USER=header,
        HTTP_X_BAILO_ID="west",
    )
    assert names(response) == ["Private of zoë"]
