"""Guessing passwords and token secrets: counted per account, access key and client address,
then refused with a 429 and ``Retry-After`` (against the real Redis cache with the stack)."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.contrib.auth.models import User
from django.core.cache import caches
from django.test import Client

from access.tokens import credentials
from core.throttle import client_address
from tests.conftest import PASSWORD, basic, stack_required

pytestmark = pytest.mark.django_db

LOCKED_PAGE = "Too many failed sign-in attempts"


@pytest.fixture
def limits(settings: Any) -> dict[str, tuple[int, int, int]]:
    """Small limits: 3 failures within a minute lock for a minute."""
    settings.FAILURE_LIMITS = {
        "signin-account": (3, 60, 60),
        "signin-address": (5, 60, 60),
        "token-key": (3, 60, 60),
        "token-address": (5, 60, 60),
    }
    return settings.FAILURE_LIMITS  # type: ignore[no-any-return]


class CountingHasher(MD5PasswordHasher):
    """The tests' fast hasher, counting how often a password is checked."""

    checks = 0

    def verify(self, password: str, encoded: str) -> bool:
        type(self).checks += 1
        return super().verify(password, encoded)


@pytest.fixture
def counting_hasher(settings: Any) -> type[CountingHasher]:
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    CountingHasher.checks = 0
    return CountingHasher


def sign_in(username: str, password: str, address: str = "10.1.1.1") -> Any:
    return Client(REMOTE_ADDR=address).post("/login/", {"username": username, "password": password})


def test_the_counters_live_in_redis_when_the_stack_is_configured() -> None:
    if not stack_required():
        pytest.skip("only meaningful against the stack")
    assert type(caches["default"]).__name__ == "RedisCache"


# --- sign-in ------------------------------------------------------------------------------------


def test_wrong_passwords_lock_the_account_and_even_the_right_one_is_refused(
    outsider: User, limits: Any, counting_hasher: type[CountingHasher]
) -> None:
    for _ in range(2):
        assert sign_in("olive", "wrong").status_code == 200
    third = sign_in("olive", "wrong")
    assert third.status_code == 429
    checks = counting_hasher.checks
    locked = sign_in("olive", PASSWORD, address="10.9.9.9")  # another address: still the account
    assert locked.status_code == 429
    assert 0 < int(locked["Retry-After"]) <= 60
    page = locked.content.decode()
    assert LOCKED_PAGE in page and "Back to sign-in" in page
    assert "_auth_user_id" not in Client().session
    # Refused before any password was checked.
    assert counting_hasher.checks == checks


def test_a_locked_account_and_an_unknown_one_look_exactly_alike(
    outsider: User, limits: Any
) -> None:
    answers = []
    for username in ("olive", "nobody-by-this-name"):
        for _ in range(3):
            sign_in(username, "wrong")
        answers.append(sign_in(username, "wrong"))
    assert [a.status_code for a in answers] == [429, 429]
    # The same page but for the form's CSRF token.
    pages = [re.sub(rb"[A-Za-z0-9]{32,}", b"", a.content) for a in answers]
    assert pages[0] == pages[1]
    assert answers[0]["Retry-After"] == answers[1]["Retry-After"]


def test_the_lock_on_one_account_leaves_other_accounts_alone(
    outsider: User, owner: User, limits: Any
) -> None:
    for _ in range(3):
        sign_in("olive", "wrong")
    assert sign_in(owner.username, PASSWORD).status_code == 302


def test_one_address_guessing_many_accounts_is_locked_out(
    outsider: User, owner: User, limits: Any
) -> None:
    for number in range(5):
        sign_in(f"guess-{number}", "wrong", address="10.2.2.2")
    assert sign_in(owner.username, PASSWORD, address="10.2.2.2").status_code == 429
    assert sign_in(owner.username, PASSWORD, address="10.3.3.3").status_code == 302


def test_a_successful_sign_in_clears_the_accounts_count(outsider: User, limits: Any) -> None:
    for _ in range(2):
        sign_in("olive", "wrong")
    assert sign_in("olive", PASSWORD).status_code == 302
    for _ in range(2):
        assert sign_in("olive", "wrong").status_code == 200


def test_the_admin_has_no_sign_in_of_its_own_to_guess_at(outsider: User, limits: Any) -> None:
    # The admin's sign-in page only sends people to the site's, which is counted and locked: a
    # password posted to it is never checked, right or wrong.
    client = Client(REMOTE_ADDR="10.4.4.4")
    answer = client.post("/admin/login/", {"username": "olive", "password": PASSWORD})
    assert answer.status_code == 302 and answer["Location"] == "/login/?next=/admin/"
    assert "_auth_user_id" not in client.session
    for _ in range(3):
        client.post("/admin/login/", {"username": "olive", "password": "wrong"})
    assert sign_in("olive", PASSWORD).status_code == 302


def test_the_lock_ends_when_its_time_is_up(outsider: User, settings: Any) -> None:
    settings.FAILURE_LIMITS = {**settings.FAILURE_LIMITS, "signin-account": (2, 60, 1)}
    for _ in range(2):
        sign_in("olive", "wrong")
    assert sign_in("olive", PASSWORD).status_code == 429
    time.sleep(1.2)
    assert sign_in("olive", PASSWORD).status_code == 302


def test_a_limit_of_zero_switches_the_lock_off(outsider: User, settings: Any) -> None:
    settings.FAILURE_LIMITS = {
        **settings.FAILURE_LIMITS,
        "signin-account": (0, 60, 60),
        "signin-address": (0, 60, 60),
    }
    for _ in range(12):
        assert sign_in("olive", "wrong").status_code == 200
    assert sign_in("olive", PASSWORD).status_code == 302


# --- HTTP Basic (access tokens) ----------------------------------------------------------------


@pytest.fixture
def counted_secret_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every check of a token secret against a stored hash, in order."""
    seen: list[str] = []
    real = credentials.secret_matches

    def counting(method: str, stored: str, secret: str) -> tuple[bool, bool]:
        seen.append(secret)
        return real(method, stored, secret)

    monkeypatch.setattr(credentials, "secret_matches", counting)
    return seen


def call(access_key: str, secret: str, address: str = "10.5.5.5") -> Any:
    return Client(REMOTE_ADDR=address).get("/api/v2/entities/me", **basic(access_key, secret))


def test_wrong_secrets_lock_the_key_before_any_hash_check_and_refuse_the_right_secret(
    outsider: User, make_token: Any, limits: Any, counted_secret_checks: list[str]
) -> None:
    token, secret = make_token(outsider, actions=["model:read"])
    for _ in range(3):
        assert call(token.access_key, "BSK_wrong").status_code == 401
    assert len(counted_secret_checks) == 3
    locked = call(token.access_key, secret, address="10.6.6.6")
    assert locked.status_code == 429
    assert set(locked.json()) == {"error"}
    assert "Too many failed" in locked.json()["error"]["message"]
    assert 0 < int(locked["Retry-After"]) <= 60
    assert len(counted_secret_checks) == 3  # no hash check for a locked key
    # Other keys of the same user are not affected.
    other, other_secret = make_token(outsider, actions=["model:read"])
    assert call(other.access_key, other_secret, address="10.6.6.6").status_code == 200


def test_a_locked_key_and_an_unknown_key_look_exactly_alike(
    outsider: User, make_token: Any, limits: Any
) -> None:
    token, _ = make_token(outsider, actions=["model:read"])
    answers = []
    for key in (token.access_key, "BAC_NOSUCHKY"):
        for _ in range(3):
            call(key, "BSK_wrong")
        answers.append(call(key, "BSK_wrong"))
    assert [a.status_code for a in answers] == [429, 429]
    assert answers[0].json() == answers[1].json()
    assert answers[0]["Retry-After"] == answers[1]["Retry-After"]


def test_one_address_sending_wrong_secrets_is_locked_out_and_others_are_not(
    outsider: User, make_token: Any, limits: Any
) -> None:
    token, secret = make_token(outsider, actions=["model:read"])
    for number in range(5):
        call(f"BAC_GUESS{number:03}", "BSK_wrong", address="10.7.7.7")
    assert call(token.access_key, secret, address="10.7.7.7").status_code == 429
    assert call(token.access_key, secret, address="10.8.8.8").status_code == 200


def test_the_key_works_again_when_the_lock_ends(
    outsider: User, make_token: Any, settings: Any
) -> None:
    settings.FAILURE_LIMITS = {**settings.FAILURE_LIMITS, "token-key": (2, 60, 1)}
    token, secret = make_token(outsider, actions=["model:read"])
    for _ in range(2):
        call(token.access_key, "BSK_wrong")
    assert call(token.access_key, secret).status_code == 429
    time.sleep(1.2)
    assert call(token.access_key, secret).status_code == 200


def test_the_registry_token_endpoint_is_locked_in_the_docker_error_shape(
    outsider: User, make_token: Any, limits: Any
) -> None:
    token, secret = make_token(outsider, actions=["model:read"])
    for _ in range(3):
        call(token.access_key, "BSK_wrong")
    response = Client(REMOTE_ADDR="10.5.5.5").get(
        "/api/v1/registry_auth", **basic(token.access_key, secret)
    )
    assert response.status_code == 429
    assert response.json()["errors"][0]["code"] == "TOOMANYREQUESTS"
    assert int(response["Retry-After"]) > 0


# --- the client address ---------------------------------------------------------------------


def make_request(**meta: str) -> Any:
    from django.test import RequestFactory

    return RequestFactory().get("/", **meta)


def test_the_client_address_is_remote_addr_unless_a_proxy_header_is_configured(
    settings: Any,
) -> None:
    request = make_request(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_address(request) == "10.0.0.1"
    settings.CLIENT_ADDRESS_HEADER = "X-Forwarded-For"
    # The last value is the one the trusted proxy added; earlier ones the client can forge.
    request = make_request(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 1.2.3.4")
    assert client_address(request) == "1.2.3.4"


def test_ipv6_clients_are_counted_per_64() -> None:
    one = client_address(make_request(REMOTE_ADDR="2001:db8:1:2::1"))
    other = client_address(make_request(REMOTE_ADDR="2001:db8:1:2:ffff::9"))
    assert one == other == "2001:db8:1:2::/64"
