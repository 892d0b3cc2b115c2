"""The official ``bailo`` Python client (3.x), unchanged, drives releases on our live server in
development mode (no credentials: the caller is the administrator ``user``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bailo import Client, Model, Release
from bailo.core.agent import Agent
from bailo.core.exceptions import BailoException

from core.ports.storage import blob_store
from models_app.models import Model as Entry
from releases.models import File
from releases.models import Release as ReleaseRow
from releases.selectors import release_files
from tests.releases.release_helpers import SUMMARY, make_file

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def bailo_client(live_server: Any, settings: Any, tmp_path: Path) -> Iterator[Client]:
    settings.BAILO_AUTH_MODE = "dev"
    if settings.BLOB_STORAGE == "filesystem":
        settings.BLOB_ROOT = tmp_path
    agent = Agent()
    yield Client(live_server.url, agent)
    # Closing kept-alive sockets lets the server threads close their database connections.
    agent.session.close()


@pytest.fixture
def model(bailo_client: Client) -> Model:
    model = Model.create(bailo_client, name="Digit reader", description="Reads digits.")
    model.card_from_schema()
    model.update_model_card(SUMMARY)
    return model


@pytest.fixture
def stored_files(model: Model) -> Iterator[list[File]]:
    """Two complete files of the model, with their bytes really in blob storage (uploads are
    tested with the files feature)."""
    entry = Entry.objects.get(pk=model.model_id)
    files = [
        make_file(entry, "weights.pt", b"weights" * 100, store=True),
        make_file(entry, "config.json", b'{"layers": 3}', store=True),
    ]
    yield files
    for file in files:
        blob_store().delete(file.storage_key)


def test_the_client_creates_reads_and_updates_a_release(
    bailo_client: Client, model: Model, stored_files: list[File]
) -> None:
    weights, config = stored_files
    created = Release.create(
        bailo_client,
        model.model_id,
        "v1.0.0",
        notes="First release",
        model_card_version=2,
        files=[weights.id],
        draft=False,
    )
    row = ReleaseRow.objects.get(model_id=model.model_id)
    assert (row.semver, row.model_card_version, row.draft, row.notes) == (
        "1.0.0",
        2,
        False,
        "First release",
    )
    assert [f.pk for f in release_files(row)] == [weights.id]

    fetched = Release.from_version(bailo_client, model.model_id, "1.0.0")
    assert fetched == created
    assert (fetched.notes, fetched.files, fetched.model_card_version) == (
        "First release",
        [weights.id],
        2,
    )
    assert (fetched.minor, fetched.draft, fetched.images) == (False, False, [])

    fetched.notes = "First release, with its config"
    fetched.files.append(config.id)
    fetched.model_card_version = 1
    fetched.update()
    row.refresh_from_db()
    assert row.notes == "First release, with its config"
    assert row.model_card_version == 1
    assert [f.pk for f in release_files(row)] == [weights.id, config.id]

    files = bailo_client.get_release(model.model_id, "1.0.0")["release"]["files"]
    assert [(f["name"], f["size"]) for f in files] == [("weights.pt", 700), ("config.json", 13)]


def test_the_client_lists_releases_and_finds_the_latest_numerically(
    bailo_client: Client, model: Model
) -> None:
    for version in ("1.9.0", "1.10.0", "0.3.0"):
        model.create_release(version, notes=f"Release {version}", draft=False)
    releases = model.get_releases()
    assert [str(r.version) for r in releases] == ["1.10.0", "1.9.0", "0.3.0"]
    assert str(model.get_latest_release().version) == "1.10.0"
    assert str(model.get_release("v1.9.0").version) == "1.9.0"
    ranged = bailo_client.agent.get(
        f"{bailo_client.url}/v2/model/{model.model_id}/releases", params={"querySemver": "^1.2"}
    ).json()
    assert [r["semver"] for r in ranged["releases"]] == ["1.10.0", "1.9.0"]


def test_the_client_reports_our_refusals(bailo_client: Client, model: Model) -> None:
    model.create_release("1.0.0", notes="n")
    with pytest.raises(BailoException) as taken:
        model.create_release("1.0.0", notes="again")
    assert taken.value.status_code == 409
    with pytest.raises(BailoException) as invalid:
        model.create_release("1.0", notes="n")
    assert invalid.value.status_code == 400
    assert "not a valid semantic version" in str(invalid.value)
    with pytest.raises(BailoException) as foreign:
        Release.create(
            bailo_client, model.model_id, "2.0.0", "n", model_card_version=2, files=["nope"]
        )
    assert foreign.value.status_code == 400
    assert ReleaseRow.objects.count() == 1
    with pytest.raises(BailoException) as missing:
        Release.from_version(bailo_client, model.model_id, "9.9.9")
    assert missing.value.status_code == 404
