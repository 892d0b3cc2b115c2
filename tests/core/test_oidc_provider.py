"""OpenID Connect sign-in end to end, against a real OpenID provider on 127.0.0.1.

The provider is django-oauth-toolkit with OpenID Connect on (``tests/oidc_provider``), in its own
process with its own settings and SQLite file. The app runs as a second process too (Django's
runserver on the test database) with the ``OIDC_*`` variables set: the settings read them once, at
import, and decide from them which apps, backends and URLs exist, so a real start with that
environment is the only honest way to test what an administrator's configuration does; patching
settings and reloading URLconfs inside this process would test a combination no deployment runs.

A ``requests`` session plays the browser: it follows the redirects, fills in the provider's
sign-in form and presses "Authorize" on its consent page. The provider's test-only switches make
the next ID token a bad one (another audience, expired, an earlier sign-in's nonce, signed with a
key that is not in its JWKS) and change a user's groups.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests
from django.contrib.auth.models import User

from core.models import UserSession
from tests.conftest import stack_required
from tests.core.server_helpers import (
    ROOT,
    database_url,
    free_port,
    http_server,
    wait_until_answering,
)
from tests.oidc_provider.serve import PASSWORD, USERS

# Not transactional: the app process writes the users and sessions itself (committed in its own
# connections, which this process reads), and the ``app`` fixture removes them at the end. Emptying
# every table after each test would cost more than all these tests together.
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not stack_required(), reason="needs PostgreSQL (the stack)"),
]

CLIENT_ID = "bailo-test"
CLIENT_SECRET = secrets.token_urlsafe(24)
PROVIDER_TIMEOUT = 2


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, Any]]:
    """The provider's base URL, the app port it sends people back to, and its process (started,
    not yet waited for: the app starts meanwhile)."""
    port, app_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        OIDC_PROVIDER_DIR=str(tmp_path_factory.mktemp("oidc-provider")),
        OIDC_PROVIDER_PORT=str(port),
        OIDC_PROVIDER_REDIRECT_URI=f"http://127.0.0.1:{app_port}/oidc/callback/",
        OIDC_PROVIDER_CLIENT_ID=CLIENT_ID,
        OIDC_PROVIDER_CLIENT_SECRET=CLIENT_SECRET,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.oidc_provider.serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield f"http://127.0.0.1:{port}", app_port, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def issuer(provider: tuple[str, int, Any]) -> str:
    return provider[0]


@pytest.fixture(scope="module")
def app(
    provider: tuple[str, int, Any], django_db_setup: None, django_db_blocker: Any
) -> Iterator[str]:
    """The app, signed in through the provider, serving the test database."""
    issuer, port, provider_process = provider
    env = {
        **os.environ,
        "DEBUG": "1",
        "BAILO_AUTH_MODE": "password",
        "DATABASE_URL": database_url(),
        "OIDC_RP_CLIENT_ID": CLIENT_ID,
        "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{issuer}/o/authorize/",
        "OIDC_OP_TOKEN_ENDPOINT": f"{issuer}/o/token/",
        "OIDC_OP_USER_ENDPOINT": f"{issuer}/o/userinfo/",
        "OIDC_OP_JWKS_ENDPOINT": f"{issuer}/o/.well-known/jwks.json",
        "OIDC_OP_ISSUER": f"{issuer}/o",
        # Short, so the test of a hung provider does not wait the default 10 seconds.
        "OIDC_TIMEOUT": f"{PROVIDER_TIMEOUT}s",
    }
    try:
        with http_server("runserver", replace_env=env, port=port):
            wait_until_answering(
                int(urlsplit(issuer).port or 0), provider_process, "the OpenID provider", 60
            )
            yield f"http://127.0.0.1:{port}"
    finally:
        with django_db_blocker.unblock():
            User.objects.filter(username__in=USERS).delete()
            UserSession.objects.all().delete()


class FormReader(HTMLParser):
    """The inputs of the first form on a page, and its action."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self._forms = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self._forms += 1
            if self._forms == 1:
                self.action = values.get("action") or ""
        elif (
            tag == "input"
            and self._forms == 1
            and values.get("name")
            and values.get("type") != "submit"
        ):
            self.fields[values["name"] or ""] = values.get("value") or ""


def read_form(html: str) -> FormReader:
    reader = FormReader()
    reader.feed(html)
    return reader


def browser() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # loopback only, never through a proxy
    return session


def control(issuer: str, path: str, body: dict[str, Any]) -> None:
    response = requests.post(f"{issuer}/control/{path}", json=body, timeout=10)
    assert response.status_code == 200, response.text


def to_callback(session: requests.Session, app: str, username: str) -> str:
    """Start single sign-on, sign in at the provider if it asks, consent, and return the callback
    URL the provider sends the browser back to (not yet visited)."""
    page = session.get(f"{app}/oidc/authenticate/", timeout=30)
    assert page.status_code == 200, page.text
    if urlsplit(page.url).path.endswith("/accounts/login/"):
        form = read_form(page.text)
        page = session.post(
            page.url,
            data={**form.fields, "username": username, "password": PASSWORD},
            timeout=30,
        )
        assert page.status_code == 200, page.text
    assert urlsplit(page.url).path.endswith("/o/authorize/"), [
        r.headers.get("Location") for r in page.history
    ]
    assert "Authorize" in page.text
    consent = read_form(page.text)
    answer = session.post(
        page.url, data={**consent.fields, "allow": "Authorize"}, allow_redirects=False, timeout=30
    )
    assert answer.status_code == 302, answer.text
    callback = answer.headers["Location"]
    assert callback.startswith(f"{app}/oidc/callback/?"), callback
    return callback


def sign_in(session: requests.Session, app: str, username: str) -> requests.Response:
    return session.get(to_callback(session, app, username), timeout=30)


def me(session: requests.Session, app: str) -> dict[str, Any] | None:
    """Who the app thinks the browser is, or None when signed out."""
    response = session.get(f"{app}/api/v2/entities/me", timeout=30)
    if response.status_code == 401:
        return None
    assert response.status_code == 200, response.text
    return dict(response.json()["user"])


def sign_out(session: requests.Session, app: str) -> requests.Response:
    session.get(f"{app}/settings/", timeout=30)  # sets the CSRF cookie
    token = session.cookies.get("csrftoken", domain="127.0.0.1")
    return session.post(
        f"{app}/logout/",
        data={"csrfmiddlewaretoken": token},
        headers={"Referer": f"{app}/settings/"},
        timeout=30,
    )


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


# --- signing in and out ------------------------------------------------------------------------


def test_a_person_signs_in_through_the_provider_as_their_provider_user(app: str) -> None:
    session = browser()
    page = session.get(f"{app}/login/", timeout=30).text
    assert 'href="/oidc/authenticate/"' in page
    assert "Sign in with single sign-on" in page

    landed = sign_in(session, app, "bob")

    assert landed.status_code == 200
    assert urlsplit(landed.url).path == "/"
    assert me(session, app) == {
        "dn": "bob",
        "entity": "user:bob",
        "email": "bob@example.org",
        "isAdmin": False,
    }
    bob = User.objects.get(username="bob")
    assert bob.email == "bob@example.org"
    assert sorted(bob.groups.values_list("name", flat=True)) == ["data-science"]
    assert not bob.has_usable_password()


def test_a_person_without_an_e_mail_address_at_the_provider_signs_in(app: str) -> None:
    session = browser()
    sign_in(session, app, "frank")

    assert me(session, app) == {
        "dn": "frank",
        "entity": "user:frank",
        "email": "",
        "isAdmin": False,
    }


def test_signing_out_ends_the_session_and_the_next_sign_in_goes_through_the_provider(
    app: str,
) -> None:
    session = browser()
    sign_in(session, app, "bob")
    assert me(session, app) is not None

    signed_out = sign_out(session, app)

    assert signed_out.status_code == 200
    assert urlsplit(signed_out.url).path == "/login/"
    assert me(session, app) is None
    # Sign-out ends the session here only: the provider still knows the browser, so the next
    # sign-in skips its password form but still asks for consent, and comes back as bob.
    sign_in(session, app, "bob")
    assert me(session, app) == {
        "dn": "bob",
        "entity": "user:bob",
        "email": "bob@example.org",
        "isAdmin": False,
    }


def test_the_admin_group_at_the_provider_makes_an_administrator(app: str) -> None:
    alice = browser()
    sign_in(alice, app, "alice")

    assert me(alice, app)["isAdmin"] is True  # type: ignore[index]
    assert alice.get(f"{app}/admin/", timeout=30).status_code == 200


def test_a_person_outside_the_admin_group_is_refused_the_administration_pages(app: str) -> None:
    bob = browser()
    sign_in(bob, app, "bob")

    assert me(bob, app)["isAdmin"] is False  # type: ignore[index]
    assert bob.get(f"{app}/admin/", timeout=30).status_code == 403


def test_a_person_removed_from_the_admin_group_at_the_provider_loses_it_at_next_sign_in(
    app: str, issuer: str
) -> None:
    control(issuer, "groups", {"username": "dana", "groups": ["admin"]})
    session = browser()
    sign_in(session, app, "dana")
    assert session.get(f"{app}/admin/", timeout=30).status_code == 200

    control(issuer, "groups", {"username": "dana", "groups": []})
    # Still an administrator until she signs in again: groups are read at sign-in.
    assert session.get(f"{app}/admin/", timeout=30).status_code == 200
    sign_out(session, app)
    sign_in(session, app, "dana")

    assert me(session, app)["isAdmin"] is False  # type: ignore[index]
    assert session.get(f"{app}/admin/", timeout=30).status_code == 403
    assert not User.objects.get(username="dana").groups.exists()


# --- refusals ----------------------------------------------------------------------------------


def assert_refused(
    response: requests.Response, session: requests.Session, app: str, username: str = "erin"
) -> None:
    """A clear page with a 4xx, nobody signed in and nobody created."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:2000])
    assert "Single sign-on did not sign you in" in response.text
    assert me(session, app) is None
    assert not User.objects.filter(username=username).exists()


def test_a_callback_with_a_state_this_browser_did_not_start_is_refused(app: str) -> None:
    session = browser()
    callback = to_callback(session, app, "erin")

    refused = session.get(with_query(callback, state="not-the-state-we-sent"), timeout=30)

    assert_refused(refused, session, app)


def test_a_callback_from_another_browser_is_refused(app: str) -> None:
    victim = browser()
    callback = to_callback(victim, app, "erin")
    attacker = browser()
    attacker.get(f"{app}/oidc/authenticate/", timeout=30)  # a sign-in of its own under way

    assert_refused(attacker.get(callback, timeout=30), attacker, app)


def test_a_callback_used_twice_is_refused_the_second_time(app: str) -> None:
    session = browser()
    callback = to_callback(session, app, "bob")
    session.get(callback, timeout=30)
    assert me(session, app) is not None
    sign_out(session, app)

    refused = session.get(callback, timeout=30)

    assert 400 <= refused.status_code < 500, refused.text[:2000]
    assert "Single sign-on" in refused.text
    assert me(session, app) is None


def test_a_callback_used_twice_in_one_sign_in_is_refused_the_second_time(app: str) -> None:
    session = browser()
    # Two sign-ins under way in one browser (two tabs), so the session still holds a state.
    callback = to_callback(session, app, "bob")
    session.get(f"{app}/oidc/authenticate/", timeout=30)
    session.get(callback, timeout=30)
    sign_out(session, app)
    session.get(f"{app}/oidc/authenticate/", timeout=30)

    refused = session.get(callback, timeout=30)

    assert 400 <= refused.status_code < 500, refused.text[:2000]
    assert me(session, app) is None


@pytest.mark.parametrize(
    "kind", ["wrong-audience", "wrong-issuer", "expired", "old-nonce", "foreign-key"]
)
def test_a_bad_id_token_is_refused(app: str, issuer: str, kind: str) -> None:
    if kind == "old-nonce":
        # A good sign-in first: the nonce the provider puts in erin's token is bob's.
        sign_in(browser(), app, "bob")
    session = browser()
    callback = to_callback(session, app, "erin")
    control(issuer, "next-id-token", {"kind": kind})

    refused = session.get(callback, timeout=30)

    assert_refused(refused, session, app)


def test_refusing_consent_at_the_provider_signs_nobody_in(app: str) -> None:
    session = browser()
    page = session.get(f"{app}/oidc/authenticate/", timeout=30)
    form = read_form(page.text)
    page = session.post(
        page.url, data={**form.fields, "username": "erin", "password": PASSWORD}, timeout=30
    )
    consent = read_form(page.text)

    refused = session.post(page.url, data=consent.fields, timeout=30)  # "Cancel"

    assert urlsplit(refused.url).path == "/oidc/callback/"
    assert_refused(refused, session, app)


@pytest.mark.parametrize(
    "claims",
    [
        {"groups": "admin"},
        {"groups": ["admin", 7]},
        {"preferred_username": ""},
        {"preferred_username": "x" * 151},
        {"email": ["erin@example.org"]},
    ],
    ids=["groups-not-a-list", "group-not-a-name", "no-username", "long-username", "odd-email"],
)
def test_claims_that_cannot_make_a_user_are_refused(
    app: str, issuer: str, claims: dict[str, Any]
) -> None:
    control(issuer, "claims", {"username": "erin", "claims": claims})
    try:
        session = browser()
        refused = sign_in(session, app, "erin")
    finally:
        control(issuer, "claims", {"username": "erin", "claims": {}})

    assert refused.status_code == 403
    assert_refused(refused, session, app, str(claims.get("preferred_username") or "erin"))


def test_claims_that_cannot_make_a_user_leave_an_existing_user_as_they_were(
    app: str, issuer: str
) -> None:
    sign_in(browser(), app, "alice")
    control(issuer, "claims", {"username": "alice", "claims": {"groups": "data-science"}})
    try:
        session = browser()
        refused = sign_in(session, app, "alice")
    finally:
        control(issuer, "claims", {"username": "alice", "claims": {}})

    assert refused.status_code == 403
    assert me(session, app) is None
    alice = User.objects.get(username="alice")
    assert sorted(alice.groups.values_list("name", flat=True)) == ["admin", "data-science"]


@pytest.mark.parametrize("fault", ["error", "slow"])
def test_a_provider_that_fails_or_hangs_answers_502_and_signs_nobody_in(
    app: str, issuer: str, fault: str
) -> None:
    session = browser()
    callback = to_callback(session, app, "erin")
    # The hung provider answers long after the app's timeout, and the app answers well before.
    control(issuer, "token-fault", {"fault": fault, "seconds": PROVIDER_TIMEOUT + 10})

    started = time.monotonic()
    refused = session.get(callback, timeout=30)

    assert refused.status_code == 502
    assert "Single sign-on did not sign you in" in refused.text
    assert time.monotonic() - started < PROVIDER_TIMEOUT + 6
    assert me(session, app) is None
    assert not User.objects.filter(username="erin").exists()
