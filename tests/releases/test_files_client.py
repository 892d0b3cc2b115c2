"""The official ``bailo`` client, unchanged, uploading and downloading files against our live
server: simple upload, the multipart trio, ``Release.upload`` of a file and of a directory (which it
zips), ``download``, ``download_all`` and ``get_files``. In development mode and with a token."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bailo import Client, Model
from bailo.core.agent import Agent, TokenAgent
from bailo.core.enums import ModelVisibility
from bailo.core.exceptions import BailoException

from models_app.policy import TokenAction
from releases.models import File
from tests.releases.files_support import blobs  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["dev", "token"])
def bailo_client(request: Any, live_server: Any, settings: Any, make_user: Any) -> Iterator[Client]:
    agent: Agent
    if request.param == "dev":
        settings.BAILO_AUTH_MODE = "dev"
        agent = Agent()
    else:
        settings.BAILO_AUTH_MODE = "password"
        user = make_user("file-person")
        token, secret = request.getfixturevalue("make_token")(user, actions=sorted(TokenAction))
        agent = TokenAgent(access_key=token.access_key, secret_key=secret)
    yield Client(live_server.url, agent)
    agent.session.close()


def new_model(client: Client) -> Model:
    model = Model.create(
        client,
        name="File carrier",
        description="Carries files.",
        visibility=ModelVisibility.PRIVATE,
    )
    model.card_from_schema()
    return model


def test_simple_upload_and_the_multipart_trio_store_files_that_get_files_lists(
    bailo_client: Client,
) -> None:
    model = new_model(bailo_client)
    data = os.urandom(200_000)
    simple = bailo_client.simple_upload(model.model_id, "simple.bin", io.BytesIO(data))
    assert simple.status_code == 200
    simple_id = simple.json()["file"]["id"]

    big = os.urandom(5 * 1024 * 1024 + 4321)
    started = bailo_client.start_multipart_upload(
        model.model_id, "multi.bin", len(big), mime="application/x-test", tags=["t"]
    )
    parts = []
    for number, chunk in enumerate(started["chunks"], start=1):
        piece = big[chunk["startByte"] : chunk["endByte"] + 1]
        answer = bailo_client.upload_multipart_part(
            model.model_id, started["file"]["id"], started["uploadId"], number, piece
        )
        parts.append({"ETag": answer["ETag"], "PartNumber": number})
    finished = bailo_client.finish_multipart_upload(
        model.model_id, started["file"]["id"], started["uploadId"], parts, tags=["t", "u"]
    )
    multi_id = finished["file"]["id"]
    assert finished["file"]["complete"] is True
    assert finished["file"]["tags"] == ["t", "u"]

    files = {f["id"]: f for f in bailo_client.get_files(model.model_id)["files"]}
    assert set(files) == {simple_id, multi_id}
    assert files[simple_id]["sha256"] == hashlib.sha256(data).hexdigest()
    assert files[multi_id]["name"] == "multi.bin"
    assert File.objects.get(pk=multi_id).sha256 == hashlib.sha256(big).hexdigest()

    download = bailo_client.get_download_file(model.model_id, multi_id)
    assert download.content == big
    assert download.headers["X-Content-SHA256"] == hashlib.sha256(big).hexdigest()


def test_a_part_of_the_wrong_length_is_refused_through_the_client(bailo_client: Client) -> None:
    model = new_model(bailo_client)
    started = bailo_client.start_multipart_upload(model.model_id, "x.bin", 10)
    with pytest.raises(BailoException) as caught:
        bailo_client.upload_multipart_part(
            model.model_id, started["file"]["id"], started["uploadId"], 1, b"short"
        )
    assert "exactly 10 bytes" in str(caught.value)


def test_a_release_uploads_a_file_and_a_directory_and_downloads_them_back(
    bailo_client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    model = new_model(bailo_client)
    release = model.create_release("1.0.0", "First release", draft=False)

    weights = tmp_path / "weights.bin"
    weights.write_bytes(os.urandom(1_500_000))
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "settings.json").write_text('{"layers": 3}')
    (folder / "labels.txt").write_text("cat\ndog\n")

    file_id = release.upload(str(weights))
    zip_id = release.upload(str(folder))
    assert File.objects.get(pk=file_id).name == "weights.bin"
    assert File.objects.get(pk=zip_id).name == "config.zip"

    fetched = model.get_release("1.0.0")
    assert set(fetched.files) == {file_id, zip_id}
    out = tmp_path / "out.bin"
    fetched.download("weights.bin", path=str(out))
    assert out.read_bytes() == weights.read_bytes()

    everything = tmp_path / "everything"
    fetched.download_all(path=str(everything))
    assert (everything / "weights.bin").read_bytes() == weights.read_bytes()
    with zipfile.ZipFile(everything / "config.zip") as archive:
        assert sorted(archive.namelist()) == ["labels.txt", "settings.json"]
        assert archive.read("settings.json") == b'{"layers": 3}'

    some = tmp_path / "some"
    fetched.download_all(path=str(some), include="*.zip")
    assert [p.name for p in some.iterdir()] == ["config.zip"]
