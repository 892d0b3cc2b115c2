"""How token secrets are stored and checked: HMAC-SHA256 under the server's key, and the argon2
hashes of tokens minted before it, which keep working and are rehashed on their next use."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from access.models import Token, TokenHashMethod
from access.tokens import credentials
from access.tokens.credentials import hash_secret, new_access_key, new_secret, token_authenticate
from access.tokens.services import token_create, token_revoke
from models_app.policy import Actor
from tests.conftest import basic
from tests.releases.registry_helpers import write_signing_key

pytestmark = pytest.mark.django_db

ME = "/api/v2/entities/me"


def argon2_token(user: User, **fields: Any) -> tuple[Token, str]:
    """A token as minted before hmac-sha256: its secret stored as an argon2id hash."""
    secret = new_secret()
    token = Token.objects.create(
        user=user,
        description="old token",
        access_key=new_access_key(),
        secret_hash=credentials._hasher.hash(secret),
        hash_method=TokenHashMethod.ARGON2,
        **fields,
    )
    return token, secret


def updates(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]


def test_a_new_token_stores_a_keyed_hash_that_the_secret_alone_does_not_give(
    outsider: User,
) -> None:
    token, secret = token_create(
        actor=Actor(user=outsider),
        description="ci",
        scope="all",
        model_ids=[],
        actions=["model:read"],
    )
    token.refresh_from_db()
    assert token.hash_method == TokenHashMethod.HMAC_SHA256
    assert len(token.secret_hash) == 64 and secret not in token.secret_hash
    # Without the server's key the stored value cannot be reproduced from a candidate secret.
    assert token.secret_hash != hashlib.sha256(secret.encode()).hexdigest()
    assert token_authenticate(access_key=token.access_key, secret=secret) == token


def test_an_argon2_token_still_works_and_is_rehashed_in_the_one_update_of_its_use(
    outsider: User,
) -> None:
    token, secret = argon2_token(outsider)
    with CaptureQueriesContext(connection) as queries:
        assert Client().get(ME, **basic(token.access_key, secret)).status_code == 200
    assert len(updates(queries)) == 1
    token.refresh_from_db()
    assert token.hash_method == TokenHashMethod.HMAC_SHA256
    assert token.secret_hash == hash_secret(secret)
    assert token.last_used_at is not None
    # And it goes on working under the new scheme, with the same single UPDATE.
    with CaptureQueriesContext(connection) as queries:
        assert Client().get(ME, **basic(token.access_key, secret)).status_code == 200
    assert len(updates(queries)) == 1


@pytest.mark.parametrize("old", [True, False], ids=["argon2", "hmac-sha256"])
def test_a_wrong_secret_is_refused_and_changes_nothing(
    outsider: User, make_token: Any, old: bool
) -> None:
    token, secret = argon2_token(outsider) if old else make_token(outsider)
    stored = (token.hash_method, token.secret_hash)
    for wrong in ("BSK_" + "x" * 32, secret[:-1], secret + "x", "", secret.lower()):
        if wrong == secret:
            continue
        assert token_authenticate(access_key=token.access_key, secret=wrong) is None
    assert Client().get(ME, **basic(token.access_key, "BSK_wrong")).status_code == 401
    token.refresh_from_db()
    assert (token.hash_method, token.secret_hash) == stored
    assert token.last_used_at is None


def test_an_unknown_key_is_refused_after_the_same_comparison(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str] = []
    real = credentials.secret_matches

    def counting(method: str, stored: str, secret: str) -> tuple[bool, bool]:
        seen.append(method)
        return real(method, stored, secret)

    monkeypatch.setattr(credentials, "secret_matches", counting)
    assert token_authenticate(access_key="BAC_NOSUCHKY", secret=new_secret()) is None
    assert seen == [TokenHashMethod.HMAC_SHA256]


@pytest.mark.parametrize("old", [True, False], ids=["argon2", "hmac-sha256"])
def test_revocation_is_immediate(outsider: User, make_token: Any, old: bool) -> None:
    token, secret = argon2_token(outsider) if old else make_token(outsider)
    assert Client().get(ME, **basic(token.access_key, secret)).status_code == 200
    token_revoke(actor=Actor(user=outsider), access_key=token.access_key)
    assert Client().get(ME, **basic(token.access_key, secret)).status_code == 401


def test_a_revoked_argon2_token_is_not_rehashed(outsider: User) -> None:
    token, secret = argon2_token(outsider)
    token_revoke(actor=Actor(user=outsider), access_key=token.access_key)
    assert token_authenticate(access_key=token.access_key, secret=secret) is None
    token.refresh_from_db()
    assert token.hash_method == TokenHashMethod.ARGON2


def test_an_unknown_hash_method_authenticates_nothing(outsider: User, make_token: Any) -> None:
    token, secret = make_token(outsider)
    Token.objects.filter(pk=token.pk).update(hash_method="plain", secret_hash=secret)
    assert token_authenticate(access_key=token.access_key, secret=secret) is None


def test_a_new_key_with_the_old_one_as_fallback_keeps_tokens_and_rehashes_them(
    outsider: User, make_token: Any, settings: Any
) -> None:
    settings.TOKEN_HASH_KEY = "a" * 40
    token, secret = make_token(outsider)
    settings.TOKEN_HASH_KEY = "b" * 40
    assert token_authenticate(access_key=token.access_key, secret=secret) is None
    settings.TOKEN_HASH_KEY_FALLBACKS = ["a" * 40]
    assert token_authenticate(access_key=token.access_key, secret=secret) == token
    token.refresh_from_db()
    settings.TOKEN_HASH_KEY_FALLBACKS = []
    assert token.secret_hash == hash_secret(secret)
    assert token_authenticate(access_key=token.access_key, secret=secret) == token


def test_the_token_key_is_not_the_secret_key_itself(
    outsider: User, make_token: Any, settings: Any
) -> None:
    token, secret = make_token(outsider)
    plain = hmac.new(settings.SECRET_KEY.encode(), secret.encode(), hashlib.sha256).hexdigest()
    assert token.secret_hash != plain


@pytest.mark.parametrize("old", [True, False], ids=["argon2", "hmac-sha256"])
def test_docker_login_through_the_registry_token_endpoint_works_with_either_kind(
    outsider: User, make_token: Any, settings: Any, tmp_path: Path, old: bool
) -> None:
    key_file, cert_file = write_signing_key(tmp_path)
    settings.REGISTRY_URL = settings.REGISTRY_URL or "http://127.0.0.1:5999"
    settings.REGISTRY_TOKEN_KEY_FILE = str(key_file)
    settings.REGISTRY_TOKEN_CERT_FILE = str(cert_file)
    actions = ["model:read", "image:read"]
    token, secret = (
        argon2_token(outsider, actions=actions) if old else make_token(outsider, actions=actions)
    )
    login = {"service": settings.REGISTRY_SERVICE, "account": outsider.username}
    response = Client().get("/api/v1/registry_auth", login, **basic(token.access_key, secret))
    assert response.status_code == 200, response.content
    assert response.json()["token"]
    refused = Client().get("/api/v1/registry_auth", login, **basic(token.access_key, "BSK_no"))
    assert refused.status_code == 401
