"""The blob-storage port, against the filesystem adapter and a real S3 server."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from core.ports.storage import (
    MAX_PARTS,
    MIN_PART_SIZE,
    BlobNotFound,
    BlobStore,
    FilesystemBlobStore,
    S3BlobStore,
    part_size_for,
)
from tests.conftest import stack_required


@pytest.fixture(params=["filesystem", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "filesystem":
        yield FilesystemBlobStore(tmp_path, "uploads")
        return
    if not os.environ.get("S3_ENDPOINT"):
        if stack_required():
            pytest.fail("S3_ENDPOINT is not set but the stack is required")
        pytest.skip("no S3 server configured (make test starts one)")
    settings.S3_ENDPOINT = os.environ["S3_ENDPOINT"]
    settings.S3_ACCESS_KEY = os.environ["S3_ACCESS_KEY"]
    settings.S3_SECRET_KEY = os.environ["S3_SECRET_KEY"]
    yield S3BlobStore(os.environ.get("S3_BUCKET_UPLOADS", "uploads"))


def key() -> str:
    return f"test/{uuid.uuid4().hex}"


def read(store: BlobStore, k: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join(store.open(k, start, end))


def test_put_then_read_whole_and_ranges(store: BlobStore) -> None:
    k = key()
    data = os.urandom(3 * 1024 * 1024 + 17)
    info = store.put(k, (data[i : i + 65536] for i in range(0, len(data), 65536)))
    assert info.size == len(data)
    assert read(store, k) == data
    assert read(store, k, 10, 19) == data[10:20]
    assert read(store, k, len(data) - 5) == data[-5:]
    assert store.info(k).size == len(data)
    store.delete(k)


def test_delete_is_idempotent(store: BlobStore) -> None:
    k = key()
    store.put(k, [b"x"])
    store.delete(k)
    store.delete(k)
    assert not store.exists(k)
    with pytest.raises(BlobNotFound):
        store.info(k)
    with pytest.raises(BlobNotFound):
        read(store, k)


def test_delete_many_and_list(store: BlobStore) -> None:
    prefix = f"test/{uuid.uuid4().hex}/"
    keys = [f"{prefix}{n}" for n in range(5)]
    for k in keys:
        store.put(k, [k.encode()])
    assert sorted(store.list_keys(prefix)) == sorted(keys)
    store.delete_many([*keys[:3], f"{prefix}missing"])
    assert sorted(store.list_keys(prefix)) == sorted(keys[3:])
    store.delete_many(keys)


def test_multipart_upload_assembles_parts_in_order(store: BlobStore) -> None:
    k = key()
    first, second = os.urandom(MIN_PART_SIZE), os.urandom(1234)
    upload = store.multipart_start(k)
    # Parts may arrive out of order; the part number decides the position.
    p2 = store.multipart_part(k, upload, 2, iter([second]), length=len(second))
    p1 = store.multipart_part(
        k,
        upload,
        1,
        (first[i : i + 100_000] for i in range(0, len(first), 100_000)),
        length=len(first),
    )
    info = store.multipart_complete(k, upload, [p2, p1])
    assert info.size == len(first) + len(second)
    assert hashlib.sha256(read(store, k)).digest() == hashlib.sha256(first + second).digest()
    store.delete(k)


def test_an_aborted_multipart_upload_leaves_nothing(store: BlobStore) -> None:
    k = key()
    upload = store.multipart_start(k)
    store.multipart_part(k, upload, 1, [b"abc"], length=3)
    store.multipart_abort(k, upload)
    store.multipart_abort(k, upload)  # twice is fine
    assert not store.exists(k)


def test_filesystem_keys_cannot_escape_the_store(tmp_path: Path) -> None:
    fs = FilesystemBlobStore(tmp_path, "uploads")
    with pytest.raises(ValueError, match="escapes"):
        fs.put("../../etc/passwd", [b"x"])


@pytest.mark.parametrize("size", [0, 1, MIN_PART_SIZE * 10_000, 10 * 1024**4])
def test_part_size_keeps_every_file_within_ten_thousand_parts(size: int) -> None:
    part = part_size_for(size)
    assert part >= MIN_PART_SIZE
    assert -(-size // part) <= MAX_PARTS


def test_part_size_does_not_grow_for_small_files() -> None:
    assert part_size_for(100 * 1024**2) == MIN_PART_SIZE


def test_open_multipart_uploads_are_listed_under_a_prefix_until_aborted(store: BlobStore) -> None:
    key = f"listed/{uuid.uuid4()}"
    upload_id = store.multipart_start(key)
    listed = [u for u in store.multipart_list("listed/") if u.upload_id == upload_id]
    assert [u.key for u in listed] == [key]
    assert not [u for u in store.multipart_list("elsewhere/") if u.upload_id == upload_id]
    store.multipart_abort(key, upload_id)
    assert not [u for u in store.multipart_list("listed/") if u.upload_id == upload_id]
