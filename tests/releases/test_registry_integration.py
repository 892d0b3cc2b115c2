"""Pushing and pulling images through the real registry of the local stack, with skopeo.

The registry sends clients for tokens to ``$BAILO_PUBLIC_URL/api/v1/registry_auth`` (its
``auth.token.realm``; ``scripts/test.sh`` makes that ``http://127.0.0.1:8765``), so these tests
serve the app on exactly that address. Test processes running in parallel (pytest-xdist) take
that address in turn, under a lock file; if something else holds the port, they wait a little and
then fail saying so: they never hang.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from bailo import Client as BailoClient
from bailo.core.agent import TokenAgent
from django.conf import settings as django_settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.servers.basehttp import ThreadedWSGIServer
from django.test import Client
from django.test.testcases import LiveServerThread, QuietWSGIRequestHandler

from core.ports import registry
from tests.conftest import basic, stack_required
from tests.releases.registry_helpers import OciImage, build_oci_image

pytestmark = [
    pytest.mark.stack,
    pytest.mark.django_db(transaction=True),
]


def _token_address() -> tuple[str, int]:
    """Host and port of the registry's token realm: the app's public address."""
    public = urlsplit(django_settings.BAILO_PUBLIC_URL)
    return public.hostname or "127.0.0.1", public.port or 80


TOKEN_HOST, TOKEN_PORT = _token_address()
PORT_WAIT_SECONDS = 90
REALM_WAIT_SECONDS = 600
IMAGE_ACTIONS = ["model:read", "image:read", "image:write"]


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the live server binds (allow_reuse_address): connections of the previous module's
        # server lingering in TIME_WAIT for a minute do not make the port busy.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


@pytest.fixture(scope="module")
def stack_registry() -> str:
    problems = []
    if not (registry.is_configured() and django_settings.REGISTRY_HOST):
        problems.append("REGISTRY_URL, REGISTRY_HOST and the token key files are not all set")
    if shutil.which("skopeo") is None:
        problems.append("skopeo is not installed")
    if not problems:
        try:
            requests.get(f"{django_settings.REGISTRY_URL}/v2/", timeout=3)
        except requests.RequestException as exc:
            problems.append(f"the registry does not answer: {exc}")
    if problems:
        if stack_required():
            pytest.fail("; ".join(problems))
        pytest.skip("; ".join(problems))
    return str(django_settings.REGISTRY_HOST)


@contextmanager
def _realm_turn() -> Iterator[None]:
    """Hold the token realm's address against other test processes (the lock file is named after
    the port, so every process that would bind it agrees on it); released when the process ends,
    however it ends."""
    path = Path(tempfile.gettempdir()) / f"bailo-token-realm-{TOKEN_HOST}-{TOKEN_PORT}.lock"
    with path.open("a") as lock:
        deadline = time.monotonic() + REALM_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"another test process served the token realm {TOKEN_HOST}:{TOKEN_PORT} "
                        f"for more than {REALM_WAIT_SECONDS} s"
                    )
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="module")
def token_server(
    stack_registry: str, django_db_setup: Any, django_db_blocker: Any
) -> Iterator[str]:
    """The app, serving the registry's token realm address (one test process at a time)."""
    with _realm_turn():
        yield from _serve_token_realm(django_db_blocker)


class _RealmServerThread(LiveServerThread):
    """The live server, bound with SO_REUSEADDR (Django's is not): connections the previous
    server on this address closed linger in TIME_WAIT for a minute, and without it nothing could
    bind the address again until then."""

    def _create_server(self, connections_override: Any = None) -> ThreadedWSGIServer:
        return self.server_class(
            (self.host, self.port),
            QuietWSGIRequestHandler,
            allow_reuse_address=True,
            connections_override=connections_override,
        )


def _serve_token_realm(django_db_blocker: Any) -> Iterator[str]:
    deadline = time.monotonic() + PORT_WAIT_SECONDS
    while not _port_free(TOKEN_HOST, TOKEN_PORT):
        if time.monotonic() > deadline:
            pytest.fail(
                f"{TOKEN_HOST}:{TOKEN_PORT} stayed in use for {PORT_WAIT_SECONDS} s. The "
                "registry asks that address for tokens, so these tests must serve it: is another "
                "test run or a runserver using it?"
            )
        time.sleep(1)
    with django_db_blocker.unblock():
        server = _RealmServerThread(TOKEN_HOST, StaticFilesHandler, port=TOKEN_PORT)
        server.daemon = True
        server.start()
        server.is_ready.wait()
    try:
        if server.error:
            raise server.error
        yield f"http://{TOKEN_HOST}:{TOKEN_PORT}"
    finally:
        server.terminate()


def skopeo(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        ["skopeo", "--insecure-policy", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def push(image: OciImage, reference: str, credentials: tuple[str, str]) -> Any:
    return skopeo(
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        ":".join(credentials),
        f"oci:{image.directory}:{image.tag}",
        f"docker://{reference}",
    )


def pull(reference: str, credentials: tuple[str, str], target: Path) -> Any:
    return skopeo(
        "copy",
        "--src-tls-verify=false",
        "--src-creds",
        ":".join(credentials),
        f"docker://{reference}",
        f"oci:{target}:pulled",
    )


def assert_refused(result: subprocess.CompletedProcess[str]) -> None:
    """skopeo failed because the token endpoint or the registry said no."""
    assert result.returncode != 0
    said = result.stderr.lower()
    assert "403 (forbidden)" in said or "denied" in said or "unauthorized" in said, said


@pytest.fixture
def credentials(make_token: Any) -> Any:
    def make(user: Any, actions: list[str] | None = None) -> tuple[str, str]:
        token, secret = make_token(user, actions=actions or IMAGE_ACTIONS)
        return token.access_key, secret

    return make


@pytest.fixture
def pushed(
    token_server: str, stack_registry: str, entry: Any, owner: Any, credentials: Any, tmp_path: Path
) -> Iterator[tuple[OciImage, str, str]]:
    """A small image pushed by the owner as ``<entry>/<name>:v1``; removed afterwards."""
    name = f"app-{uuid.uuid4().hex[:8]}"
    image = build_oci_image(tmp_path / "image", tag="v1", content=name.encode())
    reference = f"{stack_registry}/{entry.pk}/{name}:v1"
    result = push(image, reference, credentials(owner))
    assert result.returncode == 0, result.stderr
    yield image, name, reference
    registry.delete_manifest(f"{entry.pk}/{name}", image.manifest_digest)


def test_an_image_pushed_with_a_token_is_listed_and_can_be_pulled_back(
    token_server: str,
    pushed: tuple[OciImage, str, str],
    entry: Any,
    owner: Any,
    credentials: Any,
    client_for: Any,
    tmp_path: Path,
) -> None:
    image, name, reference = pushed
    keys = credentials(owner)

    body = Client().get(f"/api/v2/model/{entry.pk}/images", **basic(*keys)).json()
    assert body["images"] == [
        {
            "repository": entry.pk,
            "name": name,
            "tags": ["v1"],
            "tagDetails": [
                {
                    "tag": "v1",
                    "digest": image.manifest_digest,
                    "size": image.size,
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "createdAt": image.created,
                }
            ],
        }
    ]
    agent = TokenAgent(access_key=keys[0], secret_key=keys[1])
    try:
        official = BailoClient(token_server, agent).get_all_images(model_id=entry.pk)
    finally:
        agent.session.close()
    assert official["images"] == body["images"]
    one = Client().get(f"/api/v2/model/{entry.pk}/image/{name}/v1", **basic(*keys)).json()
    assert one["image"]["digest"] == image.manifest_digest
    assert registry.tag_exists(entry.pk, name, "v1")
    assert not registry.tag_exists(entry.pk, name, "v2")

    page = client_for(owner).get(f"/model/{entry.pk}/registry")
    assert page.status_code == 200
    html = page.content.decode()
    assert name in html and image.manifest_digest in html
    assert f"docker pull {reference}" in html

    target = tmp_path / "pulled"
    result = pull(reference, keys, target)
    assert result.returncode == 0, result.stderr
    index = json.loads((target / "index.json").read_text())
    pulled_manifest = index["manifests"][0]["digest"]
    assert pulled_manifest == image.manifest_digest


def test_a_token_without_image_write_cannot_push(
    token_server: str,
    stack_registry: str,
    entry: Any,
    owner: Any,
    credentials: Any,
    tmp_path: Path,
) -> None:
    image = build_oci_image(tmp_path / "image")
    reference = f"{stack_registry}/{entry.pk}/readonly:v1"
    result = push(image, reference, credentials(owner, ["model:read", "image:read"]))
    assert_refused(result)
    assert not registry.tag_exists(entry.pk, "readonly", "v1")


def test_a_user_without_rights_can_neither_push_nor_pull(
    pushed: tuple[OciImage, str, str],
    stack_registry: str,
    entry: Any,
    outsider: Any,
    consumer: Any,
    credentials: Any,
    tmp_path: Path,
) -> None:
    image, name, reference = pushed
    for user in (outsider, consumer):
        keys = credentials(user)
        refused_pull = pull(reference, keys, tmp_path / f"pull-{user.username}")
        assert_refused(refused_pull)
        assert_refused(push(image, f"{stack_registry}/{entry.pk}/{name}:v2", keys))
    assert not registry.tag_exists(entry.pk, name, "v2")


def test_an_outsider_sees_neither_the_images_nor_the_tab(
    pushed: tuple[OciImage, str, str], entry: Any, outsider: Any, credentials: Any, client_for: Any
) -> None:
    response = Client().get(f"/api/v2/model/{entry.pk}/images", **basic(*credentials(outsider)))
    assert response.status_code == 404
    assert client_for(outsider).get(f"/model/{entry.pk}/registry").status_code == 404
