"""Bailo's mirror tarballs, written and read as streams.

Layout (``bailo-upstream-features.md`` §3.4): a gzip'd tar whose first entry is ``metadata.json``
and whose content sits under ``content/``. Writing goes tar -> gzip (fastest level) ->
``MultipartSink``, which sends the bytes to S3 part by part and hashes them on the way, so an
export never holds a tarball in memory or on disk, and the SHA-256 it signs is known when the
last part has gone. Reading is the same in reverse: ``HashingReader`` over the object's chunks
-> gunzip -> tar, one member at a time.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import queue
import tarfile
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from core.ports.storage import BlobInfo, BlobStore, UploadedPart

METADATA_FILE = "metadata.json"
CONTENT_DIR = "content"
SCHEMA_VERSION = 1
# Parts of at least 8 MiB: a 1 GiB file is 128 parts, and a part is the most held in memory.
PART_SIZE = 8 * 1024 * 1024
READ_CHUNK = 1024 * 1024


def documents_object(model_id: str) -> str:
    return f"{model_id}.tar.gz"


def file_object(file_id: str) -> str:
    return f"{file_id}.tar.gz"


def image_object(model_id: str, name: str, tag: str) -> str:
    """``<modelId>-<name with / as ->-<tag>.tar.gz``: unique within the exports bucket, where
    every exporting model writes."""
    return f"{model_id}-{name.replace('/', '-')}-{tag}.tar.gz"


class MultipartSink:
    """A write-only file object that uploads what it is given as an S3 multipart upload.

    Full parts are sent by one background thread while the writer goes on compressing the next
    (zlib and the socket both release the GIL), with at most one part waiting: memory stays at
    about three parts whatever the object's size.
    """

    def __init__(
        self,
        store: BlobStore,
        key: str,
        part_size: int = PART_SIZE,
        on_part: Callable[[int], None] | None = None,
    ) -> None:
        self.store = store
        # Told the bytes written so far each time a part is queued (progress for the owner).
        self.on_part = on_part
        self.key = key
        self.part_size = part_size
        self.size = 0
        self._sha256 = hashlib.sha256()
        self._buffer = bytearray()
        self._parts: list[UploadedPart] = []
        self._count = 0
        self._upload_id = store.multipart_start(key)
        self._queue: queue.Queue[tuple[int, bytes] | None] = queue.Queue(maxsize=1)
        self._failure: BaseException | None = None
        self._sender = threading.Thread(target=self._send_parts, daemon=True)
        self._sender.start()

    def _send_parts(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._failure is not None:
                continue  # drain: the writer learns of the failure on its next write
            number, piece = item
            try:
                self._parts.append(
                    self.store.multipart_part(
                        self.key, self._upload_id, number, [piece], len(piece)
                    )
                )
            except BaseException as exc:  # handed to the writer's thread
                self._failure = exc

    def _check(self) -> None:
        if self._failure is not None:
            raise self._failure

    def write(self, data: bytes) -> int:
        self._check()
        self._sha256.update(data)
        self.size += len(data)
        self._buffer.extend(data)
        while len(self._buffer) >= self.part_size:
            self._send(bytes(self._buffer[: self.part_size]))
            del self._buffer[: self.part_size]
        return len(data)

    def flush(self) -> None:
        """Parts go when full: there is nothing to flush early (gzip calls this)."""

    def _send(self, piece: bytes) -> None:
        self._count += 1
        self._queue.put((self._count, piece))
        if self.on_part is not None:
            self.on_part(self.size)

    def _stop_sender(self) -> None:
        if self._sender.is_alive():
            self._queue.put(None)
            self._sender.join()

    def finish(self) -> tuple[BlobInfo, bytes]:
        """Send the last part and complete the upload: the object and its SHA-256 digest."""
        if self._buffer or not self._count:
            self._send(bytes(self._buffer))
            self._buffer.clear()
        self._stop_sender()
        self._check()
        info = self.store.multipart_complete(self.key, self._upload_id, self._parts)
        return info, self._sha256.digest()

    def abort(self) -> None:
        self._failure = self._failure or RuntimeError("aborted")
        self._stop_sender()
        self.store.multipart_abort(self.key, self._upload_id)


class _ChunkReader(io.RawIOBase):
    """A readable file object over an iterator of byte chunks."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(target), len(self._pending))
        target[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


class TarballWriter:
    """Entries into a gzip'd tar written to ``sink``. ``metadata.json`` must come first."""

    def __init__(self, sink: Any, metadata: dict[str, Any]) -> None:
        self._gzip = gzip.GzipFile(fileobj=sink, mode="wb", compresslevel=1, mtime=0)
        self._tar = tarfile.open(  # noqa: SIM115 (closed by close())
            fileobj=self._gzip, mode="w|", format=tarfile.PAX_FORMAT
        )
        self.add_bytes(METADATA_FILE, json.dumps(metadata, indent=2).encode())

    def add_bytes(self, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = 0o644
        self._tar.addfile(info, io.BytesIO(data))

    def add_json(self, name: str, body: Any) -> None:
        self.add_bytes(name, json.dumps(body, indent=2, default=str).encode())

    def add_stream(self, name: str, size: int, chunks: Iterable[bytes]) -> None:
        """An entry of ``size`` bytes read from ``chunks`` as the tar needs them."""
        info = tarfile.TarInfo(name)
        info.size = size
        info.mode = 0o644
        self._tar.addfile(info, io.BufferedReader(_ChunkReader(chunks), READ_CHUNK))

    def close(self) -> None:
        self._tar.close()
        self._gzip.close()


class HashingReader(io.RawIOBase):
    """Reads an object's chunks and hashes every byte read, so the digest of the whole object is
    known once ``drain`` has read to the end."""

    def __init__(self, chunks: Iterable[bytes], limit: int | None = None) -> None:
        self._inner = _ChunkReader(chunks)
        self._sha256 = hashlib.sha256()
        self.size = 0
        self.limit = limit

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        n = self._inner.readinto(target)
        if n:
            self._sha256.update(memoryview(target)[:n])
            self.size += n
            if self.limit is not None and self.size > self.limit:
                raise TarballError(f"The tarball is larger than the {self.limit} bytes allowed")
        return n

    def drain(self) -> bytes:
        """Read what is left (the tar's padding, gzip's trailer) and return the digest."""
        buffer = bytearray(READ_CHUNK)
        while self.readinto(buffer):
            pass
        return self._sha256.digest()


class TarballError(Exception):
    """The payload is not one of our tarballs, or not a well-formed one."""


def open_tarball(reader: HashingReader) -> tuple[tarfile.TarFile, Iterator[tarfile.TarInfo]]:
    """The tar in a gzip'd stream and an iterator over its members."""
    try:
        gunzip = gzip.GzipFile(fileobj=io.BufferedReader(reader, READ_CHUNK), mode="rb")
        tar = tarfile.open(fileobj=gunzip, mode="r|")  # noqa: SIM115 (the caller reads it)
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise TarballError(f"The payload is not a gzip'd tar: {exc}") from exc
    return tar, _members(tar)


def _members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    try:
        yield from tar
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise TarballError(f"The tarball is damaged: {exc}") from exc


def read_member(tar: tarfile.TarFile, member: tarfile.TarInfo, limit: int) -> bytes:
    """A small member whole (metadata, manifests, documents), at most ``limit`` bytes."""
    if member.size > limit:
        raise TarballError(f"{member.name} is larger than the {limit} bytes allowed")
    handle = tar.extractfile(member)
    if handle is None:
        raise TarballError(f"{member.name} is not a regular file")
    try:
        return handle.read()
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise TarballError(f"The tarball is damaged at {member.name}: {exc}") from exc


def member_chunks(handle: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := handle.read(READ_CHUNK):
            yield chunk
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise TarballError(f"The tarball is damaged: {exc}") from exc


def read_metadata(tar: tarfile.TarFile, members: Iterator[tarfile.TarInfo]) -> dict[str, Any]:
    """The first member, which must be ``metadata.json`` with Bailo's keys."""
    first = next(members, None)
    if first is None or first.name != METADATA_FILE:
        raise TarballError(f"The tarball does not start with {METADATA_FILE}")
    try:
        metadata = json.loads(read_member(tar, first, 1024 * 1024))
    except ValueError as exc:
        raise TarballError(f"{METADATA_FILE} is not JSON") from exc
    if not isinstance(metadata, dict):
        raise TarballError(f"{METADATA_FILE} is not an object")
    for key in ("sourceModelId", "mirroredModelId", "exportId", "importKind"):
        if not isinstance(metadata.get(key), str) or not metadata[key]:
            raise TarballError(f"{METADATA_FILE} has no {key}")
    if metadata["importKind"] not in {"documents", "file", "image"}:
        raise TarballError(f"Unknown importKind {metadata['importKind']!r}")
    return metadata
