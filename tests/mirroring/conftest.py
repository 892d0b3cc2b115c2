"""Fixtures for the mirroring tests: a signing key pair, mirroring switched on against the
stack's exports bucket, and a model ready to export (a card of three revisions, a destination
model id, a release with a stored file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.ports.signing import generate_key_pair
from models_app.models import Model
from models_app.policy import Actor
from models_app.services import model_update
from tests.releases.release_helpers import make_file, make_release, with_card


@pytest.fixture(scope="session")
def signing_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("mirror-keys")
    private, public = folder / "export.key", folder / "export.pub"
    generate_key_pair(private, public)
    return str(private), str(public)


@pytest.fixture(scope="session")
def other_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A key pair the importing side does not trust."""
    folder = tmp_path_factory.mktemp("other-keys")
    private, public = folder / "other.key", folder / "other.pub"
    generate_key_pair(private, public)
    return str(private), str(public)


@pytest.fixture
def mirror_on(settings: Any, signing_keys: tuple[str, str]) -> None:
    settings.MIRROR_EXPORT_ENABLED = True
    settings.MIRROR_IMPORT_ENABLED = True
    settings.MIRROR_SIGNING_KEY_FILE = signing_keys[0]
    settings.MIRROR_VERIFY_PUBLIC_KEYS = [signing_keys[1]]
    settings.MIRROR_REQUIRE_SIGNATURE = True
    settings.MIRROR_KMS_KEY_ID = ""
    settings.FILE_SCANNERS = []


@pytest.fixture
def run_queued(eager_tasks: None, django_capture_on_commit_callbacks: Any) -> Any:
    """``with run_queued(): ...``: tasks queued after commit run when the block ends, in this
    process (the worker's code path without a broker)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def exportable(entry: Model, owner: Any, destination: str = "mirror-abc123") -> Model:
    """``entry`` with a card of three revisions, a destination and release 1.0.0 shipping one
    stored file."""
    model = with_card(entry, owner, versions=3)
    model_update(
        actor=Actor(user=owner),
        model=model,
        changes={"settings": {"mirror": {"destinationModelId": destination}}},
    )
    file = make_file(model, "weights.bin", b"weights " * 1000, store=True)
    make_release(model, owner, "1.0.0", file_ids=[file.pk])
    return Model.objects.get(pk=model.pk)


def tmp_file(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path
