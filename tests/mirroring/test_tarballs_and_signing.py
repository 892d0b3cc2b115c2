"""The pieces under an export: the streaming tarball writer and reader, and the signing port."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import tarfile
from typing import Any

import pytest

from core.ports.signing import LocalKeySigner, Signature, verify
from core.ports.storage import FilesystemBlobStore
from mirroring import tarballs


def _write(store: FilesystemBlobStore, key: str, part_size: int = 5 * 1024 * 1024) -> bytes:
    sink = tarballs.MultipartSink(store, key, part_size)
    writer = tarballs.TarballWriter(
        sink,
        {"sourceModelId": "a-1", "mirroredModelId": "b-2", "exportId": "x", "importKind": "file"},
    )
    writer.add_json("content/1.json", {"version": 1})
    big = random.Random(7).randbytes(3 * 1024 * 1024 + 7)
    writer.add_stream(
        "content/blob", len(big), (big[i : i + 65536] for i in range(0, len(big), 65536))
    )
    writer.close()
    _info, digest = sink.finish()
    return digest


def test_tarball_starts_with_metadata_and_keeps_content_under_content(tmp_path: Any) -> None:
    store = FilesystemBlobStore(tmp_path, "exports")
    digest = _write(store, "t.tar.gz", part_size=1024 * 1024)
    raw = b"".join(store.open("t.tar.gz"))
    assert hashlib.sha256(raw).digest() == digest
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(raw))) as tar:
        names = tar.getnames()
        assert names == ["metadata.json", "content/1.json", "content/blob"]
        member = tar.extractfile("content/blob")
        assert member is not None
        assert len(member.read()) == 3 * 1024 * 1024 + 7
        meta = json.loads(tar.extractfile("metadata.json").read())  # type: ignore[union-attr]
    assert meta["importKind"] == "file"


def test_reader_hashes_every_byte_of_the_object(tmp_path: Any) -> None:
    store = FilesystemBlobStore(tmp_path, "exports")
    digest = _write(store, "t.tar.gz")
    reader = tarballs.HashingReader(store.open("t.tar.gz"))
    tar, members = tarballs.open_tarball(reader)
    meta = tarballs.read_metadata(tar, members)
    assert meta["exportId"] == "x"
    # Stop reading members early: draining still hashes the rest.
    assert reader.drain() == digest


def test_reader_refuses_a_tarball_without_metadata_first(tmp_path: Any) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        info = tarfile.TarInfo("content/1.json")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"{}"))
    reader = tarballs.HashingReader([raw.getvalue()])
    tar, members = tarballs.open_tarball(reader)
    with pytest.raises(tarballs.TarballError, match=r"metadata\.json"):
        tarballs.read_metadata(tar, members)


def test_reader_refuses_what_is_not_gzip() -> None:
    reader = tarballs.HashingReader([b"<html>not a tarball</html>"])
    with pytest.raises(tarballs.TarballError):
        tar, members = tarballs.open_tarball(reader)
        tarballs.read_metadata(tar, members)


def test_writer_parts_are_never_larger_than_the_part_size(tmp_path: Any) -> None:
    sizes: list[int] = []

    class Recording(FilesystemBlobStore):
        def multipart_part(
            self, key: str, upload_id: str, part_number: int, chunks: Any, length: Any = None
        ) -> Any:
            data = b"".join(chunks)
            sizes.append(len(data))
            return super().multipart_part(key, upload_id, part_number, [data], length)

    _write(Recording(tmp_path, "exports"), "t.tar.gz", part_size=1024 * 1024)
    assert len(sizes) > 1
    assert max(sizes) <= 1024 * 1024


def test_signature_verifies_with_the_matching_public_key(signing_keys: tuple[str, str]) -> None:
    digest = hashlib.sha256(b"tarball").digest()
    signature = LocalKeySigner(signing_keys[0]).sign_digest(digest)
    assert verify(digest, signature, [signing_keys[1]])


def test_signature_of_other_bytes_does_not_verify(signing_keys: tuple[str, str]) -> None:
    signature = LocalKeySigner(signing_keys[0]).sign_digest(hashlib.sha256(b"a").digest())
    assert not verify(hashlib.sha256(b"b").digest(), signature, [signing_keys[1]])


def test_signature_from_an_untrusted_key_does_not_verify(
    signing_keys: tuple[str, str], other_keys: tuple[str, str]
) -> None:
    digest = hashlib.sha256(b"tarball").digest()
    signature = LocalKeySigner(other_keys[0]).sign_digest(digest)
    assert not verify(digest, signature, [signing_keys[1]])


def test_signature_travels_as_decimal_metadata(signing_keys: tuple[str, str]) -> None:
    signature = LocalKeySigner(signing_keys[0]).sign_digest(hashlib.sha256(b"x").digest())
    metadata = signature.as_metadata()
    assert set(metadata) == {"sig-r", "sig-s"}
    assert metadata["sig-r"].isdigit() and metadata["sig-s"].isdigit()
    assert (
        Signature.from_metadata({"Sig-R": metadata["sig-r"], "sig-s": metadata["sig-s"]})
        == signature
    )
    assert Signature.from_metadata({}) is None
    assert Signature.from_metadata({"sig-r": "12", "sig-s": "nope"}) is None
