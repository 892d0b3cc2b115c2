"""S3 dying in the middle of an upload: the multipart upload opened in storage does not outlive
it. The upload's own clean-up cannot reach a dead S3, so its row is left dated as abandoned and
the next sweep aborts the storage upload once S3 answers; uploads open in storage with no row at
all (a process killed between starting one and recording it) are found by the sweep and by
``storage_audit``.

Against a private SeaweedFS (tests/private_seaweed.py) that the tests freeze with SIGSTOP.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from core.ports.storage import StorageUnavailable
from deletion.cascade import model_blob_prefix
from models_app.policy import Actor
from releases.files.services import (
    abort_abandoned_uploads,
    file_upload_simple,
    storage_key_for,
)
from releases.models import File
from tests.conftest import blob_store_follow_settings
from tests.deletion.purge_helpers import audit_entry
from tests.private_seaweed import BUCKET, PrivateSeaweed, private_seaweed
from tests.releases.files_support import start

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


@pytest.fixture(scope="module")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateSeaweed]:
    with private_seaweed(tmp_path_factory.mktemp("seaweed")) as server:
        yield server


@pytest.fixture
def on_seaweed(seaweed: PrivateSeaweed, settings: Any) -> Iterator[PrivateSeaweed]:
    """Storage on the private SeaweedFS (the next test's start forgets this store)."""
    for name, value in seaweed.settings().items():
        setattr(settings, name, value)
    settings.S3_CONNECT_TIMEOUT = 1.0
    settings.S3_READ_TIMEOUT = 2.0
    blob_store_follow_settings()
    yield seaweed


def open_uploads(seaweed: PrivateSeaweed, model_id: str) -> list[str]:
    listed = seaweed.client().list_multipart_uploads(
        Bucket=BUCKET, Prefix=model_blob_prefix(model_id)
    )
    return [u["UploadId"] for u in listed.get("Uploads", [])]


def test_an_upload_cut_short_by_a_frozen_s3_is_aborted_by_the_next_sweep_once_s3_is_back(
    on_seaweed: PrivateSeaweed, owner: Any, entry: Any
) -> None:
    size = 64 * MB
    chunk = b"w" * MB

    def body() -> Iterator[bytes]:
        for sent in range(size // MB):
            if sent == 9:  # the upload is open and its first part stored or on its way
                on_seaweed.freeze()
            yield chunk

    try:
        with pytest.raises(StorageUnavailable):
            file_upload_simple(
                actor=Actor(user=owner),
                model=entry,
                name="weights.bin",
                mime="application/octet-stream",
                tags=[],
                stream=body(),
                length=size,
            )
    finally:
        on_seaweed.thaw()
    # The handler could not abort: its row stays for the sweep. (Its abort request may still be
    # served by the thawed server, so whether the storage upload is open now is a race.)
    assert File.all_objects.filter(model=entry, complete=False).exclude(upload_id="").exists()

    # The sweep on its usual schedule, with the default UPLOAD_ABANDON_AFTER (a day).
    abort_abandoned_uploads()

    assert open_uploads(on_seaweed, entry.pk) == []
    assert not File.all_objects.filter(model=entry).exists()


def test_an_open_storage_upload_without_a_row_is_reported_by_the_audit_and_aborted_by_the_sweep(
    on_seaweed: PrivateSeaweed, owner: Any, entry: Any, client_for: Any, settings: Any
) -> None:
    # A handler killed after S3 opened the upload and before the row was written.
    orphan = on_seaweed.client().create_multipart_upload(
        Bucket=BUCKET, Key=storage_key_for(entry.pk)
    )["UploadId"]
    # An upload still in progress: opened as long ago, but its row saw a part just now.
    active = start(client_for(owner), entry.pk, 6 * MB).json()
    settings.UPLOAD_ABANDON_AFTER = timedelta(seconds=1)
    time.sleep(1.5)
    File.objects.filter(pk=active["file"]["id"]).update(updated_at=timezone.now())

    code, report = audit_entry(entry.pk)
    assert code == 1, report
    assert "Abandoned multipart uploads (open longer than UPLOAD_ABANDON_AFTER): 1" in report
    assert orphan in report and active["uploadId"] not in report

    abort_abandoned_uploads()

    assert open_uploads(on_seaweed, entry.pk) == [active["uploadId"]]
    assert File.objects.filter(pk=active["file"]["id"]).exists()
    code, report = audit_entry(entry.pk)
    assert code == 0, report
