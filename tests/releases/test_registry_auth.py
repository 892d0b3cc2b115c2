"""The registry's token endpoint, ``GET /api/v1/registry_auth``: who gets which scopes."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from django.test import Client
from django.urls import resolve
from django.utils import timezone

from access.models import Token
from core.ports import registry
from models_app.models import Model
from releases.images.registry_auth import registry_auth
from tests.conftest import basic
from tests.releases.registry_helpers import write_signing_key

pytestmark = pytest.mark.django_db

SERVICE = "TestRegistryService"
ISSUER = "TestRegistryIssuer"
URL = "/api/v1/registry_auth"
ALL_IMAGE_ACTIONS = ["model:read", "image:read", "image:write", "file:read"]


@pytest.fixture(autouse=True)
def token_settings(settings: Any, tmp_path: Path) -> Path:
    """A throwaway signing key, so these tests run with or without the stack."""
    key_file, cert_file = write_signing_key(tmp_path)
    settings.REGISTRY_URL = settings.REGISTRY_URL or "http://127.0.0.1:5999"
    settings.REGISTRY_SERVICE = SERVICE
    settings.REGISTRY_ISSUER = ISSUER
    settings.REGISTRY_TOKEN_KEY_FILE = str(key_file)
    settings.REGISTRY_TOKEN_CERT_FILE = str(cert_file)
    return cert_file


def ask(
    scopes: list[str] | None = None,
    *,
    credentials: tuple[str, str] | None = None,
    client: Client | None = None,
    service: str = SERVICE,
    **extra: str,
) -> Any:
    params: dict[str, Any] = {"service": service, "account": "someone", **extra}
    if scopes is not None:
        params["scope"] = scopes
    headers = basic(*credentials) if credentials else {}
    return (client or Client()).get(URL, params, **headers)


def claims_of(response: Any, cert_file: Path) -> dict[str, Any]:
    assert response.status_code == 200, response.content
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    return jwt.decode(
        response.json()["token"],
        cert.public_key(),
        algorithms=["RS256"],
        audience=SERVICE,
        issuer=ISSUER,
    )


def access_of(response: Any, cert_file: Path) -> list[dict[str, Any]]:
    return claims_of(response, cert_file)["access"]


def denied(response: Any, status: int = 403) -> str:
    assert response.status_code == status, response.content
    error = response.json()["errors"][0]
    assert error["code"] == {401: "UNAUTHORIZED", 403: "DENIED", 400: "UNSUPPORTED"}[status]
    return str(error["message"])


@pytest.fixture
def keys(make_token: Any) -> Any:
    """A token for a user with all image actions by default."""

    def make(user: Any, actions: list[str] | None = None, **fields: Any) -> tuple[str, str]:
        token, secret = make_token(user, actions=actions or ALL_IMAGE_ACTIONS, **fields)
        return token.access_key, secret

    return make


# --- login and the token itself -------------------------------------------------------------------


def test_docker_login_with_no_scope_gets_a_token_granting_nothing(
    owner: Any, keys: Any, token_settings: Path
) -> None:
    response = ask(credentials=keys(owner), client_id="docker", offline_token="true")
    claims = claims_of(response, token_settings)
    assert claims["access"] == []
    assert claims["sub"] == "user:owen"
    body = response.json()
    assert body["access_token"] == body["token"]
    assert body["expires_in"] == registry.token_lifetime_seconds()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["issued_at"])


def test_the_token_is_what_the_registry_accepts(
    owner: Any, keys: Any, token_settings: Path
) -> None:
    response = ask(credentials=keys(owner))
    token = response.json()["token"]
    header = jwt.get_unverified_header(token)
    payload = jwt.decode(token, options={"verify_signature": False})
    cert = x509.load_pem_x509_certificate(token_settings.read_bytes())
    assert header["alg"] == "RS256"
    assert header["kid"] == registry.libtrust_kid(cert.public_key())
    assert re.fullmatch(r"([A-Z2-7]{4}:){11}[A-Z2-7]{4}", header["kid"])
    assert base64.b64decode(header["x5c"][0]) == cert.public_bytes(Encoding.DER)
    assert isinstance(payload["aud"], str) and payload["aud"] == SERVICE
    assert payload["iss"] == ISSUER
    assert payload["exp"] - payload["iat"] == registry.token_lifetime_seconds()
    assert payload["nbf"] <= payload["iat"] and payload["jti"]


def test_a_signed_in_session_also_gets_tokens(
    owner: Any, entry: Model, client_for: Any, token_settings: Path
) -> None:
    response = ask([f"repository:{entry.pk}/app:pull,push"], client=client_for(owner))
    assert access_of(response, token_settings) == [
        {"type": "repository", "name": f"{entry.pk}/app", "actions": ["pull", "push"]}
    ]


# --- credentials and service ----------------------------------------------------------------------


def test_bad_credentials_are_refused_with_a_basic_challenge(owner: Any, keys: Any) -> None:
    access_key, _ = keys(owner)
    response = ask(credentials=(access_key, "BSK_wrong"))
    assert "Invalid access key" in denied(response, 401)
    assert response["WWW-Authenticate"].startswith("Basic realm=")


def test_no_credentials_are_refused_with_a_basic_challenge() -> None:
    response = ask()
    assert "Authentication required" in denied(response, 401)
    assert response["WWW-Authenticate"].startswith("Basic realm=")


def test_a_revoked_token_is_refused(owner: Any, make_token: Any) -> None:
    token, secret = make_token(owner, actions=ALL_IMAGE_ACTIONS, revoked_at=timezone.now())
    denied(ask(credentials=(token.access_key, secret)), 401)


def test_a_token_for_another_service_is_refused(owner: Any, keys: Any) -> None:
    message = denied(ask(credentials=keys(owner), service="127.0.0.1:5000"), 401)
    assert SERVICE in message


def test_the_endpoint_says_so_when_no_registry_is_configured(
    owner: Any, keys: Any, settings: Any
) -> None:
    settings.REGISTRY_URL = ""
    response = ask(credentials=keys(owner))
    assert response.status_code == 503
    assert "not configured" in response.json()["errors"][0]["message"]


# --- pull and push per persona --------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["owner", "contributor"])
def test_owners_and_contributors_may_pull_and_push(
    persona: str, personas: dict[str, Any], entry: Model, keys: Any, token_settings: Path
) -> None:
    response = ask([f"repository:{entry.pk}/app:pull,push"], credentials=keys(personas[persona]))
    assert access_of(response, token_settings) == [
        {"type": "repository", "name": f"{entry.pk}/app", "actions": ["pull", "push"]}
    ]


@pytest.mark.parametrize("persona", ["consumer", "reviewer"])
def test_consumers_and_reviewers_cannot_push(
    persona: str, personas: dict[str, Any], entry: Model, keys: Any
) -> None:
    message = denied(
        ask([f"repository:{entry.pk}/app:pull,push"], credentials=keys(personas[persona]))
    )
    assert "image:push" in message


@pytest.mark.parametrize("persona", ["consumer", "reviewer"])
def test_consumers_and_reviewers_cannot_pull_without_an_access_request(
    persona: str, personas: dict[str, Any], entry: Model, keys: Any
) -> None:
    message = denied(ask([f"repository:{entry.pk}/app:pull"], credentials=keys(personas[persona])))
    assert "approved access request" in message


def test_an_outsider_is_told_a_private_model_does_not_exist(
    outsider: Any, entry: Model, keys: Any
) -> None:
    message = denied(ask([f"repository:{entry.pk}/app:pull"], credentials=keys(outsider)))
    assert f"Model {entry.pk} not found" in message
    message = denied(ask([f"repository:{entry.pk}/app:push"], credentials=keys(outsider)))
    assert f"Model {entry.pk} not found" in message


def test_an_outsider_cannot_pull_from_a_public_governed_model(
    outsider: Any, public_entry: Model, keys: Any
) -> None:
    denied(ask([f"repository:{public_entry.pk}/app:pull"], credentials=keys(outsider)))


def test_anyone_signed_in_may_pull_from_a_model_with_ungoverned_access(
    outsider: Any, public_entry: Model, keys: Any, token_settings: Path
) -> None:
    Model.objects.filter(pk=public_entry.pk).update(ungoverned_access=True)
    response = ask([f"repository:{public_entry.pk}/app:pull"], credentials=keys(outsider))
    assert access_of(response, token_settings)[0]["actions"] == ["pull"]
    denied(ask([f"repository:{public_entry.pk}/app:pull,push"], credentials=keys(outsider)))


def test_administrators_hold_no_image_rights_by_being_administrators(
    site_admin: Any, entry: Model, keys: Any
) -> None:
    denied(ask([f"repository:{entry.pk}/app:pull,push"], credentials=keys(site_admin)))


def test_an_unreadable_pull_scope_is_dropped_when_another_scope_is_granted(
    owner: Any, entry: Model, make_entry: Any, outsider: Any, keys: Any, token_settings: Path
) -> None:
    # containerd asks for pull on the image it mounts layers from alongside the push.
    foreign = Model.objects.create(id="foreign-abc123", name="Foreign", description="x")
    response = ask(
        [f"repository:{entry.pk}/app:pull,push", f"repository:{foreign.pk}/base:pull"],
        credentials=keys(owner),
    )
    assert access_of(response, token_settings) == [
        {"type": "repository", "name": f"{entry.pk}/app", "actions": ["pull", "push"]}
    ]


# --- the token's own limits -----------------------------------------------------------------------


def test_a_token_without_image_write_cannot_push(owner: Any, entry: Model, keys: Any) -> None:
    credentials = keys(owner, actions=["model:read", "image:read"])
    message = denied(ask([f"repository:{entry.pk}/app:pull,push"], credentials=credentials))
    assert "does not allow 'image:write'" in message


def test_a_token_without_image_read_cannot_pull(owner: Any, entry: Model, keys: Any) -> None:
    credentials = keys(owner, actions=["model:read", "file:read"])
    message = denied(ask([f"repository:{entry.pk}/app:pull"], credentials=credentials))
    assert "does not allow 'image:read'" in message


def test_a_token_for_chosen_models_works_on_those_only(
    owner: Any, make_entry: Any, keys: Any, token_settings: Path
) -> None:
    chosen = make_entry("Chosen model")
    other = make_entry("Other model")
    credentials = keys(owner, scope="models")
    Token.objects.get(access_key=credentials[0]).scoped_models.add(chosen)
    granted = ask([f"repository:{chosen.pk}/app:pull,push"], credentials=credentials)
    assert access_of(granted, token_settings)[0]["actions"] == ["pull", "push"]
    message = denied(ask([f"repository:{other.pk}/app:pull,push"], credentials=credentials))
    assert f"Model {other.pk} not found" in message


# --- entries that hold no images, or no longer exist ----------------------------------------------


def test_an_unknown_model_is_refused(owner: Any, keys: Any) -> None:
    message = denied(ask(["repository:nope-abc123/app:pull,push"], credentials=keys(owner)))
    assert "Model nope-abc123 not found" in message


def test_a_deleted_model_is_refused(owner: Any, entry: Model, keys: Any) -> None:
    Model.all_objects.filter(pk=entry.pk).update(deleted_at=timezone.now())
    message = denied(ask([f"repository:{entry.pk}/app:pull"], credentials=keys(owner)))
    assert f"Model {entry.pk} not found" in message


def test_an_image_outside_any_model_is_refused(owner: Any, keys: Any) -> None:
    message = denied(ask(["repository:app:pull,push"], credentials=keys(owner)))
    assert "must start with a model id" in message


def test_soft_deleted_images_are_out_of_reach(owner: Any, entry: Model, keys: Any) -> None:
    denied(ask([f"repository:soft_deleted/{entry.pk}/app:pull"], credentials=keys(owner)))


def test_a_data_card_holds_no_images(owner: Any, make_entry: Any, keys: Any) -> None:
    card = make_entry("Data card", kind="data-card")
    message = denied(ask([f"repository:{card.pk}/app:pull,push"], credentials=keys(owner)))
    assert "data card" in message


def test_a_mirrored_model_may_be_pulled_but_not_pushed(
    owner: Any, make_entry: Any, keys: Any, token_settings: Path, mirror_import: None
) -> None:
    mirror = make_entry(
        "Mirror", kind="mirrored-model", settings_={"mirror": {"sourceModelId": "src-abc123"}}
    )
    pulled = ask([f"repository:{mirror.pk}/app:pull"], credentials=keys(owner))
    assert access_of(pulled, token_settings)[0]["actions"] == ["pull"]
    message = denied(ask([f"repository:{mirror.pk}/app:pull,push"], credentials=keys(owner)))
    assert "Mirrored models are read-only" in message


# --- scope syntax and the catalogue ---------------------------------------------------------------


def test_scopes_may_repeat_and_share_one_parameter(
    owner: Any, make_entry: Any, keys: Any, token_settings: Path
) -> None:
    first, second, third = (make_entry(n) for n in ("First", "Second", "Third"))
    response = ask(
        [
            f"repository:{first.pk}/a:pull",
            f"repository:{second.pk}/b/c:push repository(plugin):{third.pk}/d:pull",
        ],
        credentials=keys(owner),
    )
    assert access_of(response, token_settings) == [
        {"type": "repository", "name": f"{first.pk}/a", "actions": ["pull"]},
        {"type": "repository", "name": f"{second.pk}/b/c", "actions": ["push"]},
        {"type": "repository", "name": f"{third.pk}/d", "actions": ["pull"]},
    ]


def test_a_malformed_scope_is_a_bad_request(owner: Any, keys: Any) -> None:
    denied(ask(["repository-without-actions"], credentials=keys(owner)), 400)


def test_the_wildcard_action_is_never_handed_out(
    owner: Any, site_admin: Any, entry: Model, keys: Any
) -> None:
    message = denied(ask([f"repository:{entry.pk}/app:*"], credentials=keys(owner)))
    assert "'*' cannot be granted" in message
    denied(ask([f"repository:{entry.pk}/app:*"], credentials=keys(site_admin)))


def test_only_administrators_may_read_the_catalogue(
    owner: Any, site_admin: Any, keys: Any, token_settings: Path
) -> None:
    response = ask(["registry:catalog:*"], credentials=keys(site_admin))
    assert access_of(response, token_settings) == [
        {"type": "registry", "name": "catalog", "actions": ["*"]}
    ]
    message = denied(ask(["registry:catalog:*"], credentials=keys(owner)))
    assert "Only administrators" in message


def test_an_administrator_token_for_chosen_models_cannot_read_the_catalogue(
    site_admin: Any, keys: Any
) -> None:
    denied(ask(["registry:catalog:*"], credentials=keys(site_admin, scope="models")))


def test_the_site_urls_route_the_token_endpoint_to_it() -> None:
    assert resolve(URL, urlconf="bailo_site.urls").func is registry_auth
