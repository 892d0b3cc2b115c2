"""Writes on files: streamed uploads (simple and multipart), metadata changes, upload cleanup.

Every byte goes from the request to blob storage through the storage port in bounded pieces: a
simple upload is cut into parts and sent to the port's multipart API while it is read, and a
multipart part streams straight into one storage part. Nothing reads a whole file into memory or
onto the web server's disk.

A file row exists from the moment its upload starts, with ``complete=False`` and the storage
``upload_id``: that is the recorded state that lets ``abort_abandoned_uploads`` clean up an upload
whose client (or web worker) went away. Users see a file only once it is complete.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.audit import AuditAction, audit_record
from core.bad_input import has_control_characters
from core.errors import BadRequest, BailoError, Conflict, NotFound
from core.hooks import Hook
from core.ports.storage import (
    MAX_PARTS,
    MIN_PART_SIZE,
    BlobNotFound,
    BlobStore,
    OpenUpload,
    UploadedPart,
    blob_store,
    part_size_for,
)
from models_app.models import EntryKind, Model
from models_app.policy import Action, Actor, check
from releases.models import File, FilePart, ReleaseFile

log = logging.getLogger(__name__)

# Called (after commit) with each file that has just become complete: the checksum task and the
# scanners listen here (registered in releases/apps.py).
FILE_COMPLETED: Hook[Callable[[File], None]] = Hook("file completed")

READ_CHUNK = 1024 * 1024
# S3 refuses objects above 5 TiB.
MAX_FILE_SIZE = 5 * 1024**4
MAX_NAME_LENGTH = 255
MAX_TAGS = 50
MAX_TAG_LENGTH = 100
# A simple upload with a Content-Length streams each part from the request straight into
# storage, so a part costs no memory and its size only sets how many storage requests there
# are: at least this much per part (more for files of over 2.5 TiB, which would need more than
# 10,000 parts). Fewer parts are faster: SeaweedFS spent about 30% more CPU storing 1 GiB as 64
# parts of 16 MiB than as 4 of 256 MiB, and the upload ran at 0.73x direct boto3 to the same S3
# instead of 1.06x (bench/transfer).
SIMPLE_UPLOAD_STREAMED_PART = 256 * 1024 * 1024
# When a simple upload gives no Content-Length (chunked), parts of this size allow 160 GiB.
SIMPLE_UPLOAD_UNKNOWN_LENGTH_PART = 16 * 1024 * 1024
# Without a Content-Length a part's length is known only once it has been read, so parts are held
# and stored while the next one is read: memory (SIMPLE_UPLOAD_IN_FLIGHT + 1) parts, 48 MiB.
# With one (every client we know sends it), each part streams from the request straight into
# storage and nothing is held.
SIMPLE_UPLOAD_IN_FLIGHT = 2
# The multipart plan (see ``multipart_part_size``): 1 GiB goes as 16 parts of 64 MiB. Each part
# streams through to storage (nothing is held), and storage pays per part: against SeaweedFS the
# browser's upload ran at 0.85x direct boto3 with 64 parts of 16 MiB and 0.99x with 16 of 64 MiB
# (bench/transfer). A failed part is sent again whole, so parts stay at most 64 MiB.
MULTIPART_TARGET_PARTS = 16
MULTIPART_MAX_PART = 64 * 1024 * 1024
MiB = 1024 * 1024
DEFAULT_MIME = "application/octet-stream"
# The largest piece handed to the storage port at once (see ``small_pieces``).
STORAGE_WRITE_PIECE = 64 * 1024

_MIME_TOKEN = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
_MIME_RE = re.compile(
    rf"^{_MIME_TOKEN}/{_MIME_TOKEN}"
    rf'(\s*;\s*{_MIME_TOKEN}=({_MIME_TOKEN}|"[^"\x00-\x1f\x7f]*"))*$'
)


class LengthRequired(BailoError):
    status = 411


# --- input cleaning ---------------------------------------------------------------------------


def clean_file_name(name: Any) -> str:
    """A file name as stored and offered for download. Refused: empty, longer than 255
    characters, path separators, ``..`` and control characters."""
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("A file name is required", {"name": name if isinstance(name, str) else ""})
    if len(name) > MAX_NAME_LENGTH:
        raise BadRequest(
            f"File names may be at most {MAX_NAME_LENGTH} characters", {"length": len(name)}
        )
    if "/" in name or "\\" in name:
        raise BadRequest("File names may not contain '/' or '\\'", {"name": name})
    if ".." in name:
        raise BadRequest("File names may not contain '..'", {"name": name})
    if has_control_characters(name):
        raise BadRequest("File names may not contain control characters", {"name": name})
    return name


def clean_mime(mime: Any) -> str:
    """A media type such as ``application/zip``; empty means ``application/octet-stream``."""
    if mime is None or mime == "":
        return DEFAULT_MIME
    if not isinstance(mime, str) or len(mime) > 255 or not _MIME_RE.match(mime.strip()):
        raise BadRequest(
            "mime must be a media type such as application/zip",
            {"mime": mime if isinstance(mime, str) else ""},
        )
    return mime.strip()


def clean_file_tags(tags: Any) -> list[str]:
    """Tags as a list of short strings (a comma-separated string is split); duplicates dropped."""
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = tags.split(",")
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise BadRequest("tags must be a list of strings")
    cleaned: list[str] = []
    for tag in tags:
        tag = tag.strip()
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH or has_control_characters(tag):
            raise BadRequest(
                f"Tags must be at most {MAX_TAG_LENGTH} printable characters", {"tag": tag}
            )
        if tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise BadRequest(f"A file may have at most {MAX_TAGS} tags")
    return cleaned


def _check_can_hold_files(actor: Actor, model: Model) -> None:
    check(actor, Action.FILE_UPLOAD, model)
    if model.kind == EntryKind.DATA_CARD:
        raise BadRequest("Data cards have no files: upload to a model", {"modelId": model.pk})


def _clean_size(size: Any) -> int:
    if isinstance(size, bool) or not isinstance(size, int):
        raise BadRequest("size must be the file's size in bytes (an integer)")
    if size <= 0:
        raise BadRequest("Empty files cannot be uploaded", {"size": size})
    if size > MAX_FILE_SIZE:
        raise BadRequest("Files may be at most 5 TiB", {"size": size})
    return size


def new_file_id() -> str:
    """An opaque file id: 24 lowercase hex digits, like Bailo's."""
    return secrets.token_hex(12)


# Every file's bytes live under this prefix of the uploads bucket (deletion.cascade names it too).
FILE_KEY_PREFIX = "beta/model/"


def storage_key_for(model_id: str) -> str:
    return f"{FILE_KEY_PREFIX}{model_id}/files/{uuid.uuid4()}"


# --- memory ---------------------------------------------------------------------------------


@cache
def _libc_malloc_trim() -> Callable[[int], int] | None:
    try:
        import ctypes

        trim: Callable[[int], int] = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to do
        return None
    return trim


def release_free_memory() -> None:
    """Hand memory freed by a large transfer back to the operating system.

    Streaming allocates many 1 MiB buffers, some from worker threads; glibc keeps freed ones in
    its arenas, so a worker would otherwise stay tens of MiB larger after each transfer.
    """
    trim = _libc_malloc_trim()
    if trim is not None:
        trim(0)


# --- request bodies ---------------------------------------------------------------------------


def body_chunks(read: Callable[[int], bytes], length: int | None) -> Iterator[bytes]:
    """The bytes of a request body in chunks of at most 1 MiB.

    With a ``length`` (Content-Length), exactly that many bytes are read and a body that ends
    early is refused; without one, the stream is read to its end (chunked transfer encoding).
    """
    remaining = length
    while remaining is None or remaining > 0:
        chunk = read(READ_CHUNK if remaining is None else min(READ_CHUNK, remaining))
        if not chunk:
            if remaining and length is not None:
                raise BadRequest(
                    f"The request body ended after {length - remaining} of {length} bytes",
                    {"expectedBytes": length, "receivedBytes": length - remaining},
                )
            return
        if remaining is not None:
            remaining -= len(chunk)
        yield chunk


def small_pieces(
    chunks: Iterable[bytes | memoryview], size: int = STORAGE_WRITE_PIECE
) -> Iterator[bytes]:
    """Re-cut chunks into views of at most ``size`` bytes, without copying them.

    The S3 adapter's request body re-slices its pending buffer on every read (of 8-16 kB), so
    feeding it small pieces keeps that copying proportional to the data, not quadratic in it.
    """
    for chunk in chunks:
        if len(chunk) <= size:
            yield chunk  # type: ignore[misc]
            continue
        view = memoryview(chunk)
        for start in range(0, len(chunk), size):
            yield view[start : start + size]  # type: ignore[misc]


# --- simple upload ----------------------------------------------------------------------------


@dataclass
class _Streamed:
    parts: list[UploadedPart]
    size: int
    sha256: str


def _stream_into_parts(
    store: BlobStore, key: str, upload_id: str, chunks: Iterable[bytes], part_size: int
) -> _Streamed:
    """Cut ``chunks`` into ``part_size`` parts and store each while the next is being read.

    A part is kept as the list of chunks it was read as (views, no copies), and at most
    ``SIMPLE_UPLOAD_IN_FLIGHT`` parts are being stored at once, so memory stays at a few parts
    whatever the file's size. The sha256 and size are computed on the way through.
    """
    digest = hashlib.sha256()
    size = 0
    part: list[bytes | memoryview] = []
    part_bytes = 0
    futures: list[Future[UploadedPart]] = []
    done: list[UploadedPart] = []

    def send(pieces: list[bytes | memoryview], length: int, number: int) -> UploadedPart:
        return store.multipart_part(key, upload_id, number, small_pieces(pieces), length)

    def submit(pieces: list[bytes | memoryview], length: int) -> None:
        number = len(done) + len(futures) + 1
        if number > MAX_PARTS:
            raise BadRequest(
                f"A body without a Content-Length may be at most {MAX_PARTS * part_size} bytes"
            )
        # Wait for a free slot first: bounds the memory held.
        while len(futures) >= SIMPLE_UPLOAD_IN_FLIGHT:
            done.append(futures.pop(0).result())
        futures.append(pool.submit(send, pieces, length, number))

    with ThreadPoolExecutor(max_workers=SIMPLE_UPLOAD_IN_FLIGHT) as pool:
        try:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                rest = memoryview(chunk)
                while rest:
                    take = min(len(rest), part_size - part_bytes)
                    part.append(rest[:take])
                    part_bytes += take
                    rest = rest[take:]
                    if part_bytes == part_size:
                        submit(part, part_bytes)
                        part, part_bytes = [], 0
            if part:
                submit(part, part_bytes)
            for future in futures:
                done.append(future.result())
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        finally:
            part = []
    release_free_memory()
    return _Streamed(parts=done, size=size, sha256=digest.hexdigest())


def _stream_through_parts(
    store: BlobStore,
    key: str,
    upload_id: str,
    chunks: Iterable[bytes],
    part_size: int,
    length: int,
) -> _Streamed:
    """Store a body of known ``length`` as parts of ``part_size``, each streamed from ``chunks``
    into storage as it arrives: only the chunk in hand is held, whatever the part size.

    The sha256 is computed on the way through, one pass over each chunk as it is read.
    """
    digest = hashlib.sha256()
    source = iter(chunks)
    pending = memoryview(b"")
    received = 0
    # The storage client reads the request inside its own call and treats any failure there as
    # its own (it would retry, find the stream cannot rewind, and report storage unavailable).
    # A failure of the request (a short body, a client gone) is kept here and raised instead.
    request_failure: list[BaseException] = []

    def pieces(wanted: int) -> Iterator[memoryview]:
        nonlocal pending, received
        while wanted:
            if not pending:
                try:
                    chunk = next(source, None)
                    if chunk is None:
                        raise BadRequest(
                            f"The request body ended after {received} of {length} bytes",
                            {"expectedBytes": length, "receivedBytes": received},
                        )
                except BaseException as exc:
                    request_failure.append(exc)
                    raise
                pending = memoryview(chunk)
                digest.update(pending)
            piece = pending[:wanted]
            pending = pending[len(piece) :]
            wanted -= len(piece)
            received += len(piece)
            yield piece

    parts = []
    for number, start in enumerate(range(0, length, part_size), start=1):
        size = min(part_size, length - start)
        try:
            parts.append(
                store.multipart_part(
                    key, upload_id, number, small_pieces(pieces(size)), length=size
                )
            )
        except Exception:
            if request_failure:
                raise request_failure[0] from None
            raise
    if pending or next(source, None) is not None:
        raise BadRequest(f"The request body is longer than its Content-Length ({length})")
    release_free_memory()
    return _Streamed(parts=parts, size=received, sha256=digest.hexdigest())


def file_upload_simple(
    *,
    actor: Actor,
    model: Model,
    name: Any,
    mime: Any,
    tags: Any,
    stream: Iterable[bytes],
    length: int | None,
) -> File:
    """Store a whole file sent as one request body and return it, complete.

    ``stream`` yields the body's bytes (see ``body_chunks``); ``length`` is its Content-Length,
    if known. Everything is validated before the first byte is read; a failure part way aborts
    the storage upload and removes the row, so nothing is left behind.
    """
    _check_can_hold_files(actor, model)
    name = clean_file_name(name)
    mime = clean_mime(mime)
    tags = clean_file_tags(tags)
    if length is not None:
        _clean_size(length)
        part_size = part_size_for(length, minimum=SIMPLE_UPLOAD_STREAMED_PART)
    else:
        part_size = SIMPLE_UPLOAD_UNKNOWN_LENGTH_PART

    store = blob_store()
    key = storage_key_for(model.pk)
    upload_id = store.multipart_start(key)
    try:
        file = File.objects.create(
            id=new_file_id(),
            model=model,
            name=name,
            mime=mime,
            tags=tags,
            size=length or 0,
            storage_key=key,
            upload_id=upload_id,
            part_size=part_size,
            complete=False,
            created_by=actor.user if actor.user.is_authenticated else None,
        )
    except BaseException:
        store.multipart_abort(key, upload_id)
        raise

    try:
        if length is None:
            streamed = _stream_into_parts(store, key, upload_id, stream, part_size)
        else:
            streamed = _stream_through_parts(store, key, upload_id, stream, part_size, length)
        if streamed.size == 0:
            raise BadRequest("Empty files cannot be uploaded", {"size": 0})
        store.multipart_complete(key, upload_id, streamed.parts)
    except BaseException:
        _discard(file)
        raise

    with transaction.atomic():
        File.objects.filter(pk=file.pk).update(
            complete=True,
            size=streamed.size,
            sha256=streamed.sha256,
            upload_id="",
            updated_at=timezone.now(),
        )
        file.refresh_from_db()
        _record_upload(actor, file, how="simple")
        _after_completion(file)
    return file


def _discard(file: File) -> None:
    """Forget a failed upload: abort its storage upload, remove any stored object and the row."""
    store = blob_store()
    try:
        if file.upload_id:
            store.multipart_abort(file.storage_key, file.upload_id)
        store.delete(file.storage_key)
    except Exception:
        # Storage is failing (it may be why the upload failed). The row stays, incomplete, with
        # its upload id, dated as abandoned so that the next sweep (hourly) aborts the storage
        # upload once storage answers again, instead of a day later.
        log.exception("Could not discard the storage of upload %s", file.pk)
        File.all_objects.filter(pk=file.pk, complete=False).update(
            updated_at=timezone.now() - upload_abandon_after() - timedelta(seconds=1)
        )
        return
    File.all_objects.filter(pk=file.pk).delete()


def _record_upload(actor: Actor, file: File, *, how: str) -> None:
    audit_record(
        action=AuditAction.FILE_UPLOAD,
        actor=actor.user,
        subject=f"{file.model_id}/{file.pk}",
        detail={"fileId": file.pk, "name": file.name, "size": file.size, "upload": how},
    )


def _after_completion(file: File) -> None:
    """Once the transaction commits, tell ``FILE_COMPLETED``'s listeners."""
    file_id = file.pk

    def run() -> None:
        completed = File.objects.filter(pk=file_id, model__deleted_at__isnull=True).first()
        if completed is None:
            return
        for hook in FILE_COMPLETED:
            try:
                hook(completed)
            except Exception:  # a hook must never undo or fail a finished upload
                log.exception("File-completed hook %r failed for file %s", hook, file_id)

    transaction.on_commit(run)


# --- multipart upload -------------------------------------------------------------------------


def part_count(file: File) -> int:
    return -(-file.size // file.part_size) if file.part_size else 0


def part_length(file: File, part_number: int) -> int:
    """The exact size of part ``part_number`` (1-based): ``part_size`` for all but the last."""
    start = (part_number - 1) * file.part_size
    return min(file.part_size, file.size - start)


def chunks_of(file: File) -> list[dict[str, int]]:
    """Bailo's part plan: ``[{startByte, endByte}]`` with ``endByte`` inclusive."""
    return [
        {
            "startByte": (n - 1) * file.part_size,
            "endByte": (n - 1) * file.part_size + part_length(file, n) - 1,
        }
        for n in range(1, part_count(file) + 1)
    ]


def multipart_part_size(size: int) -> int:
    """The part size of a multipart upload's plan: S3's smallest (5 MiB) up to files of
    ``MULTIPART_TARGET_PARTS`` x 5 MiB, then larger (whole MiB, at most ``MULTIPART_MAX_PART``)
    so a large file needs about ``MULTIPART_TARGET_PARTS`` part requests rather than hundreds:
    each request pays for authentication, permission checks and bookkeeping."""
    wanted = min(MULTIPART_MAX_PART, -(-size // MULTIPART_TARGET_PARTS))
    return part_size_for(size, minimum=max(MIN_PART_SIZE, -(-wanted // MiB) * MiB))


def multipart_start(
    *, actor: Actor, model: Model, name: Any, mime: Any, size: Any, tags: Any
) -> tuple[File, list[dict[str, int]]]:
    """Open a multipart upload: an incomplete file and the parts the client must send."""
    _check_can_hold_files(actor, model)
    name = clean_file_name(name)
    mime = clean_mime(mime)
    tags = clean_file_tags(tags)
    size = _clean_size(size)
    part_size = multipart_part_size(size)

    store = blob_store()
    key = storage_key_for(model.pk)
    upload_id = store.multipart_start(key)
    try:
        file = File.objects.create(
            id=new_file_id(),
            model=model,
            name=name,
            mime=mime,
            tags=tags,
            size=size,
            storage_key=key,
            upload_id=upload_id,
            part_size=part_size,
            complete=False,
            created_by=actor.user if actor.user.is_authenticated else None,
        )
    except BaseException:
        store.multipart_abort(key, upload_id)
        raise
    return file, chunks_of(file)


def _open_upload(actor: Actor, file: File, upload_id: Any) -> None:
    check(actor, Action.FILE_UPLOAD, file.model)
    if file.complete:
        raise Conflict(f"The upload of file {file.pk} has already finished", {"fileId": file.pk})
    if not isinstance(upload_id, str) or not upload_id or upload_id != file.upload_id:
        raise NotFound(
            f"No upload with this uploadId is open for file {file.pk}",
            {"fileId": file.pk, "uploadId": upload_id if isinstance(upload_id, str) else ""},
        )


def multipart_part(
    *,
    actor: Actor,
    file: File,
    upload_id: Any,
    part_number: Any,
    stream: Iterable[bytes],
    length: int | None,
) -> FilePart:
    """Store one part. Its Content-Length must be exactly the planned size of that part.

    Sending a part again replaces it (a retry after a lost answer is harmless).
    """
    _open_upload(actor, file, upload_id)
    count = part_count(file)
    if isinstance(part_number, bool) or not isinstance(part_number, int):
        raise BadRequest("partNumber must be an integer")
    if not 1 <= part_number <= count:
        raise BadRequest(
            f"partNumber must be between 1 and {count} for this file",
            {"partNumber": part_number, "parts": count},
        )
    expected = part_length(file, part_number)
    if length is None:
        raise LengthRequired("A part needs a Content-Length header", {"expectedBytes": expected})
    if length != expected:
        raise BadRequest(
            f"Part {part_number} must be exactly {expected} bytes; the request says {length}",
            {"partNumber": part_number, "expectedBytes": expected, "contentLength": length},
        )
    try:
        stored = blob_store().multipart_part(
            file.storage_key, file.upload_id, part_number, small_pieces(stream), length=length
        )
    except BlobNotFound as exc:
        raise NotFound(
            f"The storage upload of file {file.pk} no longer exists; start a new upload",
            {"fileId": file.pk},
        ) from exc
    part = _record_part(file, part_number, stored.etag, length)
    # Activity keeps the upload from being treated as abandoned.
    File.objects.filter(pk=file.pk).update(updated_at=timezone.now())
    return part


def _record_part(file: File, part_number: int, etag: str, size: int) -> FilePart:
    """Record (or replace) a stored part in one statement: ``INSERT ... ON CONFLICT DO UPDATE``,
    so the same part sent twice at once, or again after a lost answer, needs no transaction."""
    part = FilePart(file=file, part_number=part_number, etag=etag, size=size)
    FilePart.objects.bulk_create(
        [part],
        update_conflicts=True,
        unique_fields=["file", "part_number"],
        update_fields=["etag", "size"],
    )
    return part


def multipart_parts(*, actor: Actor, file: File, upload_id: Any) -> list[FilePart]:
    """The parts stored so far, so an interrupted client can resume (our extension)."""
    _open_upload(actor, file, upload_id)
    return list(file.parts.order_by("part_number"))


def _clean_finish_parts(parts: Any) -> dict[int, str]:
    if not isinstance(parts, list) or not parts:
        raise BadRequest("parts must be a non-empty list of {ETag, PartNumber}")
    cleaned: dict[int, str] = {}
    for item in parts:
        if not isinstance(item, dict):
            raise BadRequest("parts must be a non-empty list of {ETag, PartNumber}")
        number, etag = item.get("PartNumber"), item.get("ETag")
        if isinstance(number, bool) or not isinstance(number, int) or not isinstance(etag, str):
            raise BadRequest("Each part needs an integer PartNumber and a string ETag")
        cleaned[number] = etag
    return cleaned


def multipart_finish(
    *, actor: Actor, file: File, upload_id: Any, parts: Any, tags: Any = None
) -> File:
    """Join the stored parts into the file and mark it complete.

    Every planned part must be stored and named in ``parts`` with its ETag; otherwise a 400 names
    what is missing and nothing changes, so the client can send the missing parts and finish
    again. The sha256 is computed afterwards by a task on the ``scans`` queue (streaming the
    object back); until then, listings show an empty ``sha256``.
    """
    if file.complete:
        # A retried finish (the answer to the first one was lost) succeeds with the same file.
        check(actor, Action.FILE_UPLOAD, file.model)
        return file
    _open_upload(actor, file, upload_id)
    named = _clean_finish_parts(parts)
    new_tags = clean_file_tags(tags) if tags is not None else None
    count = part_count(file)
    expected = set(range(1, count + 1))
    outside = sorted(set(named) - expected)
    if outside:
        raise BadRequest(
            f"This file has parts 1 to {count}; there is no part {_list(outside)}",
            {"unknownParts": outside},
        )

    with transaction.atomic():
        locked = File.objects.select_for_update().get(pk=file.pk)
        if locked.complete:
            return locked
        stored = {p.part_number: p for p in locked.parts.all()}
        missing = sorted(expected - set(stored))
        if missing:
            raise BadRequest(f"Parts not uploaded yet: {_list(missing)}", {"missingParts": missing})
        unnamed = sorted(expected - set(named))
        if unnamed:
            raise BadRequest(
                f"The parts list must name every part; missing: {_list(unnamed)}",
                {"missingParts": unnamed},
            )
        stale = sorted(n for n, etag in named.items() if _bare(etag) != _bare(stored[n].etag))
        if stale:
            raise BadRequest(
                f"The ETag given for part {_list(stale)} does not match the stored part",
                {"mismatchedParts": stale},
            )
        _complete_storage(locked, [UploadedPart(n, stored[n].etag) for n in sorted(stored)])
        locked.complete = True
        locked.upload_id = ""
        if new_tags is not None:
            locked.tags = new_tags
        locked.save(update_fields=["complete", "upload_id", "tags", "updated_at"])
        locked.parts.all().delete()
        _record_upload(actor, locked, how="multipart")
        _after_completion(locked)
    return locked


def _complete_storage(file: File, parts: list[UploadedPart]) -> None:
    store = blob_store()
    try:
        info = store.multipart_complete(file.storage_key, file.upload_id, parts)
    except BlobNotFound:
        # Completed before, but the database did not record it (the commit failed): the stored
        # object is the proof, if its size is right.
        try:
            info = store.info(file.storage_key)
        except BlobNotFound as exc:
            raise NotFound(
                f"The storage upload of file {file.pk} no longer exists; start a new upload",
                {"fileId": file.pk},
            ) from exc
    except Exception as exc:
        if _already_stored(store, file):
            return
        raise exc
    if info.size != file.size:
        raise Conflict(
            f"The stored file has {info.size} bytes but {file.size} were announced",
            {"fileId": file.pk},
        )


def _already_stored(store: BlobStore, file: File) -> bool:
    try:
        return store.info(file.storage_key).size == file.size
    except BlobNotFound:
        return False


def _bare(etag: str) -> str:
    return etag.strip().strip('"')


def _list(numbers: list[int]) -> str:
    return ", ".join(str(n) for n in numbers)


# --- metadata ---------------------------------------------------------------------------------


def file_update(*, actor: Actor, file: File, changes: dict[str, Any]) -> File:
    """Rename, retag or change the media type of a complete file (uploaders only).

    Within a release file names are unique, so a rename that would clash with another file of
    one of this file's releases is refused (409).
    """
    check(actor, Action.FILE_UPLOAD, file.model)
    if not file.complete:
        raise NotFound(f"File {file.pk} not found", {"fileId": file.pk})
    fields: list[str] = []
    if "name" in changes and changes["name"] is not None:
        name = clean_file_name(changes["name"])
        if name != file.name:
            clash = (
                ReleaseFile.objects.filter(
                    release__in=ReleaseFile.objects.filter(file=file).values("release"),
                    file__name=name,
                    file__deleted_at__isnull=True,
                )
                .exclude(file=file)
                .select_related("release")
                .first()
            )
            if clash is not None:
                raise Conflict(
                    f"Release {clash.release.semver} already has a file named {name!r}",
                    {"name": name, "semver": clash.release.semver},
                )
            file.name = name
            fields.append("name")
    if "mime" in changes and changes["mime"] is not None:
        file.mime = clean_mime(changes["mime"])
        fields.append("mime")
    if "tags" in changes and changes["tags"] is not None:
        file.tags = clean_file_tags(changes["tags"])
        fields.append("tags")
    if fields:
        with transaction.atomic():
            file.save(update_fields=[*fields, "updated_at"])
            audit_record(
                # There is no file:update name yet; the upload vocabulary carries the change.
                action=AuditAction.FILE_UPDATE,
                actor=actor.user,
                subject=f"{file.model_id}/{file.pk}",
                detail={"fileId": file.pk, "changed": fields},
            )
    return file


def file_set_sha256(*, file_id: str) -> str | None:
    """Stream a complete file back from storage and record its sha256 (idempotent)."""
    file = File.objects.filter(pk=file_id, complete=True, model__deleted_at__isnull=True).first()
    if file is None:
        return None
    if file.sha256:
        return file.sha256
    digest = hashlib.sha256()
    for chunk in blob_store().open(file.storage_key):
        digest.update(chunk)
    sha = digest.hexdigest()
    File.objects.filter(pk=file.pk, sha256="").update(sha256=sha)
    return sha


# --- abandoned uploads ------------------------------------------------------------------------


def upload_abandon_after() -> timedelta:
    value = settings.UPLOAD_ABANDON_AFTER
    return value if isinstance(value, timedelta) else timedelta(seconds=float(value))


def abort_abandoned_uploads(*, older_than: timedelta | None = None) -> int:
    """Abort uploads with no activity for ``older_than`` (default ``UPLOAD_ABANDON_AFTER``,
    24 hours) and remove their rows. Returns how many were removed; safe to run twice."""
    cutoff = timezone.now() - (older_than if older_than is not None else upload_abandon_after())
    removed = 0
    for file in File.all_objects.filter(complete=False, updated_at__lt=cutoff).iterator():
        store = blob_store()
        try:
            if file.upload_id:
                store.multipart_abort(file.storage_key, file.upload_id)
            store.delete(file.storage_key)
        except Exception:  # try again at the next run; the row keeps the state
            log.exception("Could not abort the abandoned upload of file %s", file.pk)
            continue
        File.all_objects.filter(pk=file.pk, complete=False).delete()
        removed += 1
    for upload in abandoned_storage_uploads(older_than=older_than):
        # No row is waiting for these: an upload started in storage whose row was never written
        # (the process died, or storage took the request but its answer was lost).
        try:
            blob_store().multipart_abort(upload.key, upload.upload_id)
        except Exception:
            log.exception("Could not abort the abandoned storage upload %s", upload.upload_id)
            continue
        removed += 1
    return removed


def abandoned_storage_uploads(
    *, older_than: timedelta | None = None, prefix: str = FILE_KEY_PREFIX
) -> list[OpenUpload]:
    """Multipart uploads open in storage under ``prefix`` for longer than ``older_than`` (default
    ``UPLOAD_ABANDON_AFTER``) that no incomplete file row still active is using."""
    cutoff = timezone.now() - (older_than if older_than is not None else upload_abandon_after())
    stale = [u for u in blob_store().multipart_list(prefix) if u.started < cutoff]
    if not stale:
        return []
    active = set(
        File.all_objects.filter(
            complete=False,
            updated_at__gte=cutoff,
            upload_id__in=[u.upload_id for u in stale],
        ).values_list("upload_id", flat=True)
    )
    return [u for u in stale if u.upload_id not in active]
