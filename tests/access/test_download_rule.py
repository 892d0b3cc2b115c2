"""The download rule end to end: file downloads (from blob storage: S3 on the stack) and image
pulls (registry tokens, checked by the real registry on the stack).

A consumer or an outsider without an approved access request is refused both; after approval
both work; after the end date both are refused again; with ungoverned access both work without a
request. Owners and contributors need no request.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from django.conf import settings
from django.test import Client

from access.access_requests.services import today
from core.ports import registry
from models_app.models import Model
from models_app.policy import Actor
from models_app.services import model_update
from releases.models import File
from tests.access.access_request_helpers import ask, decide, move_clock
from tests.conftest import basic, stack_required
from tests.releases.files_support import api, blobs, simple_upload  # noqa: F401
from tests.releases.registry_helpers import write_signing_key

pytestmark = pytest.mark.django_db

DATA = os.urandom(256 * 1024 + 7)
IMAGE = "classifier"
TOKEN_ACTIONS = ["model:read", "file:read", "image:read", "access_request:read"]


def _real_registry() -> bool:
    if not registry.is_configured():
        return False
    try:
        requests.get(f"{settings.REGISTRY_URL}/v2/", timeout=3)
    except requests.RequestException:
        return False
    return True


@pytest.fixture
def token_service(settings: Any, tmp_path: Path) -> bool:
    """The registry's token endpoint: the stack's keys when the stack runs (then the real
    registry checks the tokens too), else a throwaway key. Returns whether the registry is real."""
    if _real_registry():
        return True
    if stack_required():
        pytest.fail("The stack's registry is not configured or does not answer")
    key_file, cert_file = write_signing_key(tmp_path)
    settings.REGISTRY_URL = "http://127.0.0.1:5999"
    settings.REGISTRY_TOKEN_KEY_FILE = str(key_file)
    settings.REGISTRY_TOKEN_CERT_FILE = str(cert_file)
    return False


@pytest.fixture
def files(client_for: Any, owner: Any, entry: Model, public_entry: Model) -> dict[str, File]:
    """One stored file on each entry, uploaded by the owner through the API."""
    stored = {}
    for key, model in (("private", entry), ("public", public_entry)):
        response = simple_upload(client_for(owner), model.pk, DATA, name="weights.bin")
        assert response.status_code == 200, response.content
        stored[key] = File.objects.get(pk=response.json()["file"]["id"])
    return stored


class Checker:
    """Asks, as one user, for a file download and an image pull on one entry."""

    def __init__(self, user: Any, file: File, make_token: Any, real_registry: bool) -> None:
        self.client = Client()
        self.client.force_login(user)
        self.file = file
        token, secret = make_token(user, actions=TOKEN_ACTIONS)
        self.credentials: dict[str, Any] = dict(basic(token.access_key, secret))
        self.real_registry = real_registry

    def download(self) -> int:
        response: Any = self.client.get(
            api(f"/model/{self.file.model_id}/file/{self.file.pk}/download")
        )
        if response.status_code == 200:
            assert b"".join(response.streaming_content) == DATA
        return int(response.status_code)

    def pull(self) -> int:
        """200 when a token granting ``pull`` was issued (and, on the stack, the registry accepts
        it); otherwise the token endpoint's refusal."""
        repository = f"{self.file.model_id}/{IMAGE}"
        response = Client().get(
            "/api/v1/registry_auth",
            {"service": settings.REGISTRY_SERVICE, "scope": f"repository:{repository}:pull"},
            **self.credentials,
        )
        if response.status_code != 200:
            return int(response.status_code)
        token = response.json()["token"]
        cert = x509.load_pem_x509_certificate(Path(settings.REGISTRY_TOKEN_CERT_FILE).read_bytes())
        claims = jwt.decode(
            token,
            cast(RSAPublicKey, cert.public_key()),
            algorithms=["RS256"],
            audience=settings.REGISTRY_SERVICE,
            issuer=settings.REGISTRY_ISSUER,
        )
        assert claims["access"] == [{"type": "repository", "name": repository, "actions": ["pull"]}]
        if self.real_registry:
            # The real registry takes the token: it answers "no such repository" (404), not 401.
            answer = requests.get(
                f"{settings.REGISTRY_URL}/v2/{repository}/tags/list",
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            assert answer.status_code == 404, answer.text
            assert answer.json()["errors"][0]["code"] == "NAME_UNKNOWN"
        return 200

    def both(self) -> tuple[int, int]:
        return self.download(), self.pull()


REFUSED = (403, 403)
ALLOWED = (200, 200)


@pytest.fixture
def checker(make_token: Any, files: dict[str, File], token_service: bool) -> Any:
    def make(user: Any, which: str) -> Checker:
        return Checker(user, files[which], make_token, token_service)

    return make


def test_owners_and_contributors_download_and_pull_without_a_request(
    checker: Any, owner: Any, contributor: Any
) -> None:
    assert checker(owner, "private").both() == ALLOWED
    assert checker(contributor, "private").both() == ALLOWED


def test_the_real_registry_refuses_a_token_that_grants_nothing(token_service: bool) -> None:
    if not token_service:
        pytest.skip("only the stack's registry can be asked")
    answer = requests.get(f"{settings.REGISTRY_URL}/v2/some-model/{IMAGE}/tags/list", timeout=10)
    assert answer.status_code == 401


def test_a_consumer_is_refused_until_approved_and_again_after_the_end_date(
    checker: Any, consumer: Any, reviewer: Any, entry: Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    cody = checker(consumer, "private")
    assert cody.both() == REFUSED
    access_request = ask(consumer, entry, end=today() + timedelta(days=2))
    assert cody.both() == REFUSED  # pending
    decide(reviewer, access_request, "request_changes", "Which data will you use?")
    assert cody.both() == REFUSED  # changes requested
    decide(reviewer, access_request)
    assert cody.both() == ALLOWED
    move_clock(monkeypatch, days=2)  # the end date: the last day of access
    assert cody.both() == ALLOWED
    move_clock(monkeypatch, days=3)
    assert cody.both() == REFUSED


def test_an_outsider_is_refused_until_a_request_naming_them_is_approved(
    checker: Any,
    outsider: Any,
    consumer: Any,
    reviewer: Any,
    public_entry: Model,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    olive = checker(outsider, "public")
    assert olive.both() == REFUSED
    access_request = ask(consumer, public_entry, entities=["user:olive"], end=today())
    decide(reviewer, access_request)
    assert olive.both() == ALLOWED
    # Asking on someone's behalf gives the asker nothing.
    assert checker(consumer, "public").both() == REFUSED
    move_clock(monkeypatch, days=1)
    assert olive.both() == REFUSED


def test_an_outsider_cannot_even_see_a_private_models_file_or_image(
    checker: Any, outsider: Any
) -> None:
    assert checker(outsider, "private").both() == (404, 403)


def test_with_ungoverned_access_both_work_without_a_request(
    checker: Any, owner: Any, consumer: Any, outsider: Any, entry: Model, public_entry: Model
) -> None:
    for model in (entry, public_entry):
        model_update(
            actor=Actor(user=owner), model=model, changes={"settings": {"ungovernedAccess": True}}
        )
    assert checker(consumer, "private").both() == ALLOWED
    assert checker(outsider, "public").both() == ALLOWED
