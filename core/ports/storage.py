"""The blob-storage port: the only module that touches file bytes at rest.

Two adapters share one narrow interface: ``FilesystemBlobStore`` for the embedded default and
``S3BlobStore`` (a boto3 client) for real deployments. Bytes always move as iterators of chunks;
nothing here reads a whole object into memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings

from core.errors import ServiceUnavailable

READ_CHUNK = 1024 * 1024
# S3 allows at most 10,000 parts of at least 5 MiB (but the last).
MAX_PARTS = 10_000
MIN_PART_SIZE = 5 * 1024 * 1024


class BlobNotFound(Exception):
    """The key names no blob."""


STORAGE_UNAVAILABLE = "File storage is unavailable; try again later"


class StorageUnavailable(ServiceUnavailable):
    """The storage service could not be reached, or failed on its side (a 5xx, a connection
    refused, reset or timed out). A 503 to API callers: nothing about the request was wrong, and
    the same request may work later. ``detail`` keeps the cause for logs, never for users."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(STORAGE_UNAVAILABLE)
        self.detail = detail


@contextmanager
def _s3_outages() -> Iterator[None]:
    """Turn botocore's and urllib3's ways of saying "the server is not there" into one
    ``StorageUnavailable``, so every caller (upload, download, multipart, health) answers alike
    without knowing boto3."""
    from botocore.exceptions import ClientError, HTTPClientError, UnseekableStreamError
    from botocore.exceptions import ConnectionError as S3ConnectionError
    from urllib3.exceptions import HTTPError as Urllib3Error

    try:
        yield
    # botocore retries a failed call by rewinding its body; a streamed part cannot be rewound,
    # so a transport failure while sending one surfaces as UnseekableStreamError.
    except (S3ConnectionError, HTTPClientError, UnseekableStreamError, Urllib3Error) as exc:
        raise StorageUnavailable(f"{type(exc).__name__}: {exc}") from exc
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        if int(status) >= 500:
            raise StorageUnavailable(f"S3 answered {status}: {exc}") from exc
        raise


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int
    etag: str


@dataclass(frozen=True)
class UploadedPart:
    part_number: int
    etag: str


@dataclass(frozen=True)
class OpenUpload:
    """A multipart upload that was started and neither completed nor aborted."""

    key: str
    upload_id: str
    started: datetime


def part_size_for(total_size: int, minimum: int = MIN_PART_SIZE) -> int:
    """The smallest part size (a multiple of 1 MiB, at least ``minimum``) that keeps the number of
    parts of a ``total_size`` object at or under ``MAX_PARTS``."""
    needed = -(-max(total_size, 1) // MAX_PARTS)
    mib = 1024 * 1024
    return max(minimum, -(-needed // mib) * mib)


class BlobStore(Protocol):
    bucket: str

    def put(self, key: str, chunks: Iterable[bytes]) -> BlobInfo: ...

    def open(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Yield the bytes ``start..end`` (inclusive, as HTTP ranges) of the blob."""
        ...

    def info(self, key: str) -> BlobInfo: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the blob; a missing blob is not an error (purges must be idempotent)."""
        ...

    def delete_many(self, keys: list[str]) -> None: ...

    def list_keys(self, prefix: str = "") -> Iterator[str]: ...

    def multipart_start(self, key: str) -> str: ...

    def multipart_part(
        self,
        key: str,
        upload_id: str,
        part_number: int,
        chunks: Iterable[bytes],
        length: int | None = None,
    ) -> UploadedPart:
        """Store one part. ``length`` is required by S3 when ``chunks`` is a stream."""
        ...

    def multipart_complete(
        self, key: str, upload_id: str, parts: list[UploadedPart]
    ) -> BlobInfo: ...

    def multipart_abort(self, key: str, upload_id: str) -> None: ...

    def multipart_list(self, prefix: str = "") -> Iterator[OpenUpload]:
        """The open multipart uploads of keys under ``prefix``."""
        ...

    def check(self) -> str:
        """Raise when the bucket cannot be reached; otherwise a short description of it."""
        ...

    def metadata(self, key: str) -> dict[str, str]:
        """The blob's user metadata (S3 ``x-amz-meta-*``), names in lower case."""
        ...

    def copy(self, key: str, dest_key: str, metadata: dict[str, str]) -> None:
        """Copy a blob within the bucket, replacing its metadata with ``metadata``."""
        ...


class FilesystemBlobStore:
    """Blobs as files under ``root/bucket``. Multipart parts wait in ``root/.multipart``."""

    def __init__(self, root: Path, bucket: str) -> None:
        self.root = root
        self.bucket = bucket
        self._base = (root / bucket).resolve()

    def _path(self, key: str) -> Path:
        path = (self._base / key).resolve()
        if self._base not in path.parents:
            raise ValueError(f"blob key escapes the store: {key!r}")
        return path

    def _staging(self, upload_id: str) -> Path:
        if not upload_id.isalnum():
            raise ValueError("malformed upload id")
        return self.root / ".multipart" / upload_id

    def put(self, key: str, chunks: Iterable[bytes]) -> BlobInfo:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        try:
            with tmp.open("wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return BlobInfo(key=key, size=size, etag=digest.hexdigest())

    def open(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        path = self._path(key)
        try:
            handle = path.open("rb")
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc
        return self._read(handle, start, end)

    @staticmethod
    def _read(handle: Any, start: int, end: int | None) -> Iterator[bytes]:
        with handle:
            handle.seek(start)
            remaining = None if end is None else end - start + 1
            while remaining is None or remaining > 0:
                chunk = handle.read(READ_CHUNK if remaining is None else min(READ_CHUNK, remaining))
                if not chunk:
                    break
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    def info(self, key: str) -> BlobInfo:
        path = self._path(key)
        try:
            stat = path.stat()
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc
        return BlobInfo(key=key, size=stat.st_size, etag=f"{stat.st_mtime_ns:x}-{stat.st_size:x}")

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_many(self, keys: list[str]) -> None:
        for key in keys:
            self.delete(key)

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        if not self._base.is_dir():
            return
        for dirpath, _dirs, files in os.walk(self._base):
            for name in files:
                if name.endswith(".tmp"):
                    continue
                key = str((Path(dirpath) / name).relative_to(self._base))
                if key.startswith(prefix):
                    yield key

    def multipart_start(self, key: str) -> str:
        self._path(key)  # validates the key before anything is written
        upload_id = uuid.uuid4().hex
        staging = self._staging(upload_id)
        staging.mkdir(parents=True)
        (staging / "key").write_text(key, encoding="utf-8")
        return upload_id

    def multipart_part(
        self,
        key: str,
        upload_id: str,
        part_number: int,
        chunks: Iterable[bytes],
        length: int | None = None,
    ) -> UploadedPart:
        staging = self._staging(upload_id)
        if not staging.is_dir():
            raise BlobNotFound(f"no upload {upload_id}")
        target = staging / f"{part_number:05d}"
        tmp = staging / f"{part_number:05d}.{uuid.uuid4().hex}.tmp"
        digest = hashlib.md5(usedforsecurity=False)
        try:
            with tmp.open("wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                    digest.update(chunk)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return UploadedPart(part_number=part_number, etag=f'"{digest.hexdigest()}"')

    def multipart_complete(self, key: str, upload_id: str, parts: list[UploadedPart]) -> BlobInfo:
        staging = self._staging(upload_id)
        if not staging.is_dir():
            raise BlobNotFound(f"no upload {upload_id}")

        def chunks() -> Iterator[bytes]:
            for part in sorted(parts, key=lambda p: p.part_number):
                with (staging / f"{part.part_number:05d}").open("rb") as handle:
                    while chunk := handle.read(READ_CHUNK):
                        yield chunk

        info = self.put(key, chunks())
        shutil.rmtree(staging, ignore_errors=True)
        return info

    def multipart_abort(self, key: str, upload_id: str) -> None:
        shutil.rmtree(self._staging(upload_id), ignore_errors=True)

    def multipart_list(self, prefix: str = "") -> Iterator[OpenUpload]:
        staging = self.root / ".multipart"
        if not staging.is_dir():
            return
        for entry in staging.iterdir():
            marker = entry / "key"
            try:
                key = marker.read_text(encoding="utf-8")
                started = datetime.fromtimestamp(marker.stat().st_mtime, tz=UTC)
            except (FileNotFoundError, NotADirectoryError):
                continue  # completed or aborted meanwhile
            if key.startswith(prefix):
                yield OpenUpload(key=key, upload_id=entry.name, started=started)

    def _metadata_path(self, key: str) -> Path:
        self._path(key)  # validates the key
        return self.root / ".metadata" / self.bucket / f"{key}.json"

    def metadata(self, key: str) -> dict[str, str]:
        if not self.exists(key):
            raise BlobNotFound(key)
        try:
            return dict(json.loads(self._metadata_path(key).read_text(encoding="utf-8")))
        except FileNotFoundError:
            return {}

    def copy(self, key: str, dest_key: str, metadata: dict[str, str]) -> None:
        source = self._path(key)
        if not source.is_file():
            raise BlobNotFound(key)
        with source.open("rb") as handle:
            self.put(dest_key, iter(lambda: handle.read(READ_CHUNK), b""))
        marker = self._metadata_path(dest_key)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps({k.lower(): v for k, v in metadata.items()}), "utf-8")

    def check(self) -> str:
        self._base.mkdir(parents=True, exist_ok=True)
        if not os.access(self._base, os.W_OK):
            raise OSError(f"{self._base} is not writable")
        return f"directory {self._base}"


class S3BlobStore:
    """Blobs in an S3 bucket, through a boto3 client."""

    def __init__(self, bucket: str) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        # A plain boto3 client: django-storages' ``S3Storage`` builds a boto3 *resource* for its
        # connection, whose model costs every worker about 8 MiB more and which nothing here uses.
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=settings.S3_ENDPOINT,
            aws_access_key_id=settings.S3_ACCESS_KEY,
            aws_secret_access_key=settings.S3_SECRET_KEY,
            region_name=settings.S3_REGION,
            verify=settings.S3_VERIFY,
            # Streamed bodies cannot be re-read, so neither a checksum nor a SigV4 payload hash
            # (which needs a second pass over the bytes) is computed up front.
            config=Config(
                s3={"addressing_style": "path", "payload_signing_enabled": False},
                signature_version="s3v4",
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                retries={"max_attempts": settings.S3_MAX_ATTEMPTS, "mode": "standard"},
                # A dead server must not hold a request (or a download mid-stream) for the
                # minutes of botocore's defaults: connecting fails fast, and a stream that stops
                # delivering bytes is abandoned, which closes the client's connection.
                connect_timeout=settings.S3_CONNECT_TIMEOUT,
                read_timeout=settings.S3_READ_TIMEOUT,
            ),
        )
        self.client: Any = _GuardedClient(client)

    def check(self) -> str:
        self.client.head_bucket(Bucket=self.bucket)
        return f"bucket {self.bucket}"

    def put(self, key: str, chunks: Iterable[bytes]) -> BlobInfo:
        # A stream of unknown length goes up as a multipart upload so it is never held whole.
        upload_id = self.multipart_start(key)
        parts: list[UploadedPart] = []
        buffer = bytearray()
        try:
            for chunk in chunks:
                buffer.extend(chunk)
                while len(buffer) >= MIN_PART_SIZE:
                    piece = bytes(buffer[:MIN_PART_SIZE])
                    del buffer[:MIN_PART_SIZE]
                    parts.append(self.multipart_part(key, upload_id, len(parts) + 1, [piece]))
            if buffer or not parts:
                parts.append(self.multipart_part(key, upload_id, len(parts) + 1, [bytes(buffer)]))
            return self.multipart_complete(key, upload_id, parts)
        except BaseException:
            self.multipart_abort(key, upload_id)
            raise

    def open(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if start or end is not None:
            kwargs["Range"] = f"bytes={start}-{'' if end is None else end}"
        try:
            body = self.client.get_object(**kwargs)["Body"]
        except self.client.exceptions.NoSuchKey as exc:
            raise BlobNotFound(key) from exc
        return self._iterate(body)

    @staticmethod
    def _iterate(body: Any) -> Iterator[bytes]:
        # A server that dies or stalls mid-stream raises here (after S3_READ_TIMEOUT at most);
        # the web server then closes the client's connection, which sees a short read.
        try:
            with _s3_outages():
                yield from body.iter_chunks(READ_CHUNK)
        finally:
            body.close()

    def _head(self, key: str) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        try:
            head: dict[str, Any] = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                raise BlobNotFound(key) from exc
            raise
        return head

    def info(self, key: str) -> BlobInfo:
        head = self._head(key)
        return BlobInfo(key=key, size=int(head["ContentLength"]), etag=head["ETag"].strip('"'))

    def exists(self, key: str) -> bool:
        try:
            self.info(key)
        except BlobNotFound:
            return False
        return True

    def metadata(self, key: str) -> dict[str, str]:
        head = self._head(key)
        return {k.lower(): v for k, v in (head.get("Metadata") or {}).items()}

    def copy(self, key: str, dest_key: str, metadata: dict[str, str]) -> None:
        from boto3.s3.transfer import TransferConfig

        # A plain CopyObject up to S3's 5 GiB limit; above it boto3 copies part by part
        # (server side either way: the bytes never come here).
        with _s3_outages():
            self.client.copy(
                CopySource={"Bucket": self.bucket, "Key": key},
                Bucket=self.bucket,
                Key=dest_key,
                ExtraArgs={"Metadata": metadata, "MetadataDirective": "REPLACE"},
                Config=TransferConfig(
                    multipart_threshold=5 * 1024**3, multipart_chunksize=512 * 1024**2
                ),
            )

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def delete_many(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            if batch:
                self.client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
                )

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        with _s3_outages():
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield item["Key"]

    def multipart_start(self, key: str) -> str:
        return str(self.client.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"])

    def multipart_part(
        self,
        key: str,
        upload_id: str,
        part_number: int,
        chunks: Iterable[bytes],
        length: int | None = None,
    ) -> UploadedPart:
        body: Any
        if length is None:
            # Without a length the part must be materialised: only ``put`` does this, with
            # pieces of at most MIN_PART_SIZE.
            body = b"".join(chunks)
            length = len(body)
        else:
            body = _IterStream(chunks)
        response = self.client.upload_part(
            Bucket=self.bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=part_number,
            Body=body,
            ContentLength=length,
        )
        return UploadedPart(part_number=part_number, etag=response["ETag"])

    def multipart_complete(self, key: str, upload_id: str, parts: list[UploadedPart]) -> BlobInfo:
        self.client.complete_multipart_upload(
            Bucket=self.bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={
                "Parts": [
                    {"ETag": p.etag, "PartNumber": p.part_number}
                    for p in sorted(parts, key=lambda p: p.part_number)
                ]
            },
        )
        return self.info(key)

    def multipart_abort(self, key: str, upload_id: str) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchUpload":
                raise

    def multipart_list(self, prefix: str = "") -> Iterator[OpenUpload]:
        paginator = self.client.get_paginator("list_multipart_uploads")
        with _s3_outages():
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Uploads", []):
                    yield OpenUpload(
                        key=item["Key"], upload_id=item["UploadId"], started=item["Initiated"]
                    )


class _GuardedClient:
    """The boto3 client, with every API call raising ``StorageUnavailable`` on an outage: one
    place for the mapping instead of a ``try`` around each call."""

    _PLAIN = frozenset({"exceptions", "meta", "get_paginator", "can_paginate"})

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name in self._PLAIN or name.startswith("_") or not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            with _s3_outages():
                return attribute(*args, **kwargs)

        return call


class _IterStream:
    """A read-only file object over an iterator of chunks, so boto3 can stream a request body.

    boto3 needs ``read``; it seeks to compute checksums only when the body supports ``seek``, so
    this object deliberately does not. A memoryview keeps each read from copying what is left.
    """

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            data = bytes(self._pending) + b"".join(self._chunks)
            self._pending = memoryview(b"")
            return data
        while not self._pending:
            try:
                self._pending = memoryview(next(self._chunks))
            except StopIteration:
                return b""
        data = bytes(self._pending[:size])
        self._pending = self._pending[size:]
        return data


@cache
def blob_store(bucket: str | None = None) -> BlobStore:
    """The configured store for ``bucket`` (default: the uploads bucket)."""
    name = bucket or settings.S3_BUCKET_UPLOADS
    if settings.BLOB_STORAGE == "s3":
        return S3BlobStore(name)
    return FilesystemBlobStore(Path(settings.BLOB_ROOT), name)
