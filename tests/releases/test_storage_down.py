"""S3 down: every route that touches stored bytes answers 503 in Bailo's shape, soon, and changes
nothing; the health route says so too.

"Down" here is what a stopped S3 server looks like from the outside: its address refuses
connections. The files are made first against the configured storage (the stack's SeaweedFS),
then the settings point storage at an address where nothing listens.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from releases.models import File
from tests.conftest import blob_store_follow_settings
from tests.releases.files_support import (  # noqa: F401
    api,
    blobs,
    multipart_upload,
    send_part,
    simple_upload,
    start,
)

pytestmark = pytest.mark.django_db

UNAVAILABLE = {"error": {"message": "File storage is unavailable; try again later"}}
# Generous: a refused connection fails at once; what matters is that nothing waits for
# botocore's default minute-long timeouts and retries.
SOON = 10.0


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def storage_down(settings: Any) -> Any:
    """Point blob storage at an S3 address that refuses connections."""

    def down() -> None:
        settings.BLOB_STORAGE = "s3"
        settings.S3_ENDPOINT = f"http://127.0.0.1:{closed_port()}"
        settings.S3_ACCESS_KEY = settings.S3_ACCESS_KEY or "unused"
        settings.S3_SECRET_KEY = settings.S3_SECRET_KEY or "unused"
        settings.S3_CONNECT_TIMEOUT = 1.0
        blob_store_follow_settings()

    return down


def timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def assert_unavailable(response: Any, took: float) -> None:
    assert response.status_code == 503, response.content
    assert response.json() == UNAVAILABLE
    assert took < SOON


def test_a_simple_upload_answers_503_and_leaves_no_file_when_storage_is_down(
    client_for: Any, owner: Any, entry: Any, storage_down: Any
) -> None:
    storage_down()
    response, took = timed(lambda: simple_upload(client_for(owner), entry.pk, b"weights"))
    assert_unavailable(response, took)
    assert not File.all_objects.filter(model=entry).exists()


def test_starting_a_multipart_upload_answers_503_when_storage_is_down(
    client_for: Any, owner: Any, entry: Any, storage_down: Any
) -> None:
    storage_down()
    response, took = timed(lambda: start(client_for(owner), entry.pk, 6 * 1024 * 1024))
    assert_unavailable(response, took)
    assert not File.all_objects.filter(model=entry).exists()


def test_a_multipart_part_answers_503_when_storage_goes_down_after_the_start(
    client_for: Any, owner: Any, entry: Any, storage_down: Any
) -> None:
    client = client_for(owner)
    body = start(client, entry.pk, 6 * 1024 * 1024).json()
    first = body["chunks"][0]
    piece = b"x" * (first["endByte"] - first["startByte"] + 1)
    storage_down()
    response, took = timed(
        lambda: send_part(client, entry.pk, body["file"]["id"], body["uploadId"], 1, piece)
    )
    assert_unavailable(response, took)


def test_a_download_answers_503_when_storage_is_down(
    client_for: Any, owner: Any, entry: Any, storage_down: Any
) -> None:
    client = client_for(owner)
    file = multipart_upload(client, entry.pk, os.urandom(1024))
    storage_down()
    response, took = timed(lambda: client.get(api(f"/model/{entry.pk}/file/{file.pk}/download")))
    assert_unavailable(response, took)


def test_the_health_route_answers_503_naming_s3_when_storage_is_down(
    storage_down: Any,
) -> None:
    storage_down()
    response, took = timed(lambda: Client().get("/api/v2/system/health"))
    assert response.status_code == 503
    assert response.json()["components"]["s3"] == {"state": "error"}
    assert took < SOON


def test_signed_in_callers_see_why_storage_is_unavailable(
    storage_down: Any, client_for: Any, owner: Any
) -> None:
    storage_down()
    s3 = client_for(owner).get("/api/v2/system/health").json()["components"]["s3"]
    assert s3["state"] == "error"
    assert s3["detail"].startswith("StorageUnavailable: EndpointConnectionError")


def test_the_download_page_answers_503_with_the_message_when_storage_is_down(
    client_for: Any, owner: Any, entry: Any, storage_down: Any
) -> None:
    client = client_for(owner)
    file = multipart_upload(client, entry.pk, os.urandom(1024))
    storage_down()
    url = reverse("file-download", kwargs={"model_id": entry.pk, "file_id": file.pk})
    response, took = timed(lambda: client.get(url))
    assert response.status_code == 503
    assert "File storage is unavailable; try again later" in response.content.decode()
    assert took < SOON
