"""Fixtures and helpers shared by the file tests (imported by name into each test module).

Blob storage is whatever the settings say: the real S3 server when the stack's variables are set
(``scripts/test.sh``), the filesystem adapter otherwise, then rooted in a temporary directory.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from bailo_site.celery import app as celery_app
from core.ports.storage import blob_store
from releases.models import File, Release, ReleaseFile
from tests.conftest import blob_store_follow_settings


@pytest.fixture(autouse=True)
def blobs(tmp_path: Path, settings: Any) -> Iterator[None]:
    """Tasks run eagerly; filesystem blobs live in a fresh directory per test."""
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    if settings.BLOB_STORAGE == "filesystem":
        settings.BLOB_ROOT = tmp_path / "blobs"
    blob_store_follow_settings()
    yield
    blob_store_follow_settings()
    celery_app.conf.task_always_eager = eager


def api(path: str) -> str:
    return f"/api/v2{path}"


def simple_upload(
    client: Client, model_id: str, data: bytes, name: str = "weights.bin", **query: Any
) -> Any:
    params = {"name": name, **query}
    qs = "&".join(f"{k}={v}" for k, v in params.items())
    return client.post(
        api(f"/model/{model_id}/files/upload/simple?{qs}"),
        data=data,
        content_type="application/octet-stream",
    )


def start(client: Client, model_id: str, size: int, name: str = "big.bin", **body: Any) -> Any:
    return client.post(
        api(f"/model/{model_id}/files/upload/multipart/start"),
        data=json.dumps({"name": name, "size": size, **body}),
        content_type="application/json",
    )


def send_part(
    client: Client, model_id: str, file_id: str, upload_id: str, number: int, data: bytes
) -> Any:
    return client.post(
        api(
            f"/model/{model_id}/files/upload/multipart/part"
            f"?fileId={file_id}&uploadId={upload_id}&partNumber={number}"
        ),
        data=data,
        content_type="application/octet-stream",
    )


def finish(
    client: Client, model_id: str, file_id: str, upload_id: str, parts: list[dict[str, Any]]
) -> Any:
    return client.post(
        api(f"/model/{model_id}/files/upload/multipart/finish"),
        data=json.dumps({"fileId": file_id, "uploadId": upload_id, "parts": parts}),
        content_type="application/json",
    )


def multipart_upload(client: Client, model_id: str, data: bytes, name: str = "big.bin") -> File:
    started = start(client, model_id, len(data), name=name)
    assert started.status_code == 200, started.content
    body = started.json()
    file_id, upload_id = body["file"]["id"], body["uploadId"]
    parts = []
    for number, chunk in enumerate(body["chunks"], start=1):
        piece = data[chunk["startByte"] : chunk["endByte"] + 1]
        answer = send_part(client, model_id, file_id, upload_id, number, piece)
        assert answer.status_code == 200, answer.content
        parts.append({"PartNumber": number, "ETag": answer.json()["ETag"]})
    done = finish(client, model_id, file_id, upload_id, parts)
    assert done.status_code == 200, done.content
    return File.objects.get(pk=file_id)


def stored_bytes(file: File) -> bytes:
    return b"".join(blob_store().open(file.storage_key))


def stored_keys(model_id: str) -> list[str]:
    return list(blob_store().list_keys(f"beta/model/{model_id}/"))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_release(model: Any, semver: str, files: list[File], *, draft: bool = False) -> Release:
    major, minor, patch = (int(p) for p in semver.split("."))
    release = Release.objects.create(
        model=model,
        semver=semver,
        major=major,
        minor_version=minor,
        patch=patch,
        notes="Notes",
        draft=draft,
        model_card_version=1,
    )
    ReleaseFile.objects.bulk_create(ReleaseFile(release=release, file=f) for f in files)
    return release


def s3_in_use() -> bool:
    return bool(settings.BLOB_STORAGE == "s3")
