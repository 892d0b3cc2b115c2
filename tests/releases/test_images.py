"""The images API and the Registry tab, without and with a registry that cannot be reached.

Listing real images is covered against the stack's registry in ``test_registry_integration.py``.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from models_app.models import Model
from tests.conftest import basic
from tests.releases.registry_helpers import write_signing_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_registry(settings: Any) -> None:
    settings.REGISTRY_URL = ""
    settings.REGISTRY_HOST = ""


@pytest.fixture
def dead_registry(settings: Any, tmp_path: Path) -> None:
    """A registry configured at an address where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    key_file, cert_file = write_signing_key(tmp_path)
    settings.REGISTRY_URL = f"http://127.0.0.1:{port}"
    settings.REGISTRY_HOST = f"127.0.0.1:{port}"
    settings.REGISTRY_TOKEN_KEY_FILE = str(key_file)
    settings.REGISTRY_TOKEN_CERT_FILE = str(cert_file)


# --- the API --------------------------------------------------------------------------------------


def test_without_a_registry_an_entry_has_no_images(
    no_registry: None, owner: Any, entry: Model, client_for: Any
) -> None:
    response = client_for(owner).get(f"/api/v2/model/{entry.pk}/images")
    assert response.status_code == 200
    assert response.json() == {"images": []}


def test_a_registry_that_is_down_is_a_clear_503(
    dead_registry: None, owner: Any, entry: Model, client_for: Any
) -> None:
    response = client_for(owner).get(f"/api/v2/model/{entry.pk}/images")
    assert response.status_code == 503
    assert "image registry could not be read" in response.json()["error"]["message"]


@pytest.mark.parametrize("persona", ["outsider", "anonymous"])
def test_the_images_of_a_private_model_are_hidden_from_others(
    no_registry: None, persona: str, personas: dict[str, Any], entry: Model, client_for: Any
) -> None:
    response = client_for(personas[persona]).get(f"/api/v2/model/{entry.pk}/images")
    assert response.status_code == (404 if persona == "outsider" else 401)


def test_a_token_without_image_read_cannot_list_images(
    no_registry: None, owner: Any, entry: Model, make_token: Any, client_for: Any
) -> None:
    token, secret = make_token(owner, actions=["model:read"])
    response = client_for(None).get(
        f"/api/v2/model/{entry.pk}/images", **basic(token.access_key, secret)
    )
    assert response.status_code == 403
    assert "image:read" in response.json()["error"]["message"]


def test_an_image_the_registry_does_not_hold_is_not_found(
    no_registry: None, owner: Any, entry: Model, client_for: Any
) -> None:
    response = client_for(owner).get(f"/api/v2/model/{entry.pk}/image/app/v1")
    assert response.status_code == 404
    assert f"{entry.pk}/app:v1" in response.json()["error"]["message"]


@pytest.mark.parametrize(("persona", "status"), [("consumer", 403), ("outsider", 404)])
def test_deleting_an_image_needs_the_right_to_delete_it(
    persona: str, status: int, personas: dict[str, Any], entry: Model, client_for: Any
) -> None:
    response = client_for(personas[persona]).delete(f"/api/v2/model/{entry.pk}/image/app/v1")
    assert response.status_code == status


def test_deleting_an_image_that_does_not_exist_is_not_found(
    owner: Any, entry: Model, client_for: Any
) -> None:
    response = client_for(owner).delete(f"/api/v2/model/{entry.pk}/image/app/v1")
    assert response.status_code == 404


# --- the Registry tab ---------------------------------------------------------------------------


def test_the_registry_tab_says_plainly_when_there_is_no_registry(
    no_registry: None, owner: Any, entry: Model, client_for: Any
) -> None:
    page = client_for(owner).get(f"/model/{entry.pk}/registry")
    assert page.status_code == 200
    html = page.content.decode()
    assert "This instance has no Docker registry" in html
    assert "docker push" not in html
    assert 'aria-current="page">Registry</a>' in html


def test_the_registry_tab_shows_the_commands_for_this_host(
    dead_registry: None, owner: Any, entry: Model, client_for: Any, settings: Any
) -> None:
    page = client_for(owner).get(f"/model/{entry.pk}/registry")
    # The listing failed, and the page says so, but the instructions are still there.
    assert page.status_code == 503
    html = page.content.decode()
    assert "The image registry could not be read; try again later" in html
    host = settings.REGISTRY_HOST
    assert f"docker login {host} -u &lt;your access key&gt;" in html
    assert f"docker tag my-image:latest {host}/{entry.pk}/my-image:v1" in html
    assert f"docker push {host}/{entry.pk}/my-image:v1" in html
    assert f"docker pull {host}/{entry.pk}/my-image:v1" in html
    assert "/settings/personal-access-tokens/new" in html


def test_consumers_see_the_tab_without_push_or_pull_commands(
    dead_registry: None, consumer: Any, entry: Model, client_for: Any
) -> None:
    html = client_for(consumer).get(f"/model/{entry.pk}/registry").content.decode()
    assert "Only owners and contributors of this model can push images" in html
    assert "docker push" not in html and "docker pull" not in html


def test_the_registry_tab_is_hidden_from_outsiders(
    no_registry: None, outsider: Any, entry: Model, client_for: Any
) -> None:
    assert client_for(outsider).get(f"/model/{entry.pk}/registry").status_code == 404


def test_models_have_a_registry_tab_and_data_cards_do_not(
    no_registry: None, owner: Any, entry: Model, make_entry: Any, client_for: Any
) -> None:
    client = client_for(owner)
    assert f"/model/{entry.pk}/registry" in client.get(f"/model/{entry.pk}").content.decode()
    card = make_entry("A data card", kind="data-card")
    overview = client.get(f"/model/{card.pk}").content.decode()
    assert f"/model/{card.pk}/registry" not in overview
    assert client.get(f"/model/{card.pk}/registry").status_code == 404
