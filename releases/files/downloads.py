"""The streamed download of one file, for the API and the pages alike.

The bytes come from storage in 1 MiB chunks straight into the response; nothing is buffered.

Headers: ``Content-Length``, ``Content-Type`` (the file's media type), ``Content-Disposition``
(RFC 6266: an ASCII ``filename`` and the exact UTF-8 ``filename*``), ``ETag`` (strong, quoted:
the file id and, once computed, the start of its sha256; a file's bytes never change),
``Accept-Ranges: bytes``, ``Cache-Control: no-store`` (as Bailo) and ``X-Content-SHA256`` (the
lowercase hex sha256 of the whole file, once known).

Conditional and partial requests: ``If-None-Match`` matching the ETag answers 304;
``Range: bytes=a-b``, ``bytes=a-`` and ``bytes=-n`` answer 206 with ``Content-Range``; a range
starting past the end answers 416 with ``Content-Range: bytes */<size>``; a request for several
ranges, or a malformed ``Range``, gets the whole file (200), as RFC 9110 allows; ``If-Range``
with another ETag also gets the whole file.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

from core.audit import AuditAction, audit_record
from core.errors import Conflict, Forbidden, NotFound, error_body
from core.hooks import Hook
from core.ports.storage import BlobNotFound, BlobStore, blob_store
from models_app.policy import Action, Actor, Subject, check
from releases.files.services import release_free_memory
from releases.models import File

log = logging.getLogger(__name__)

# Consulted before any byte is sent: each returns a reason to refuse the download, or None.
# The scanning feature registers "a virus was found" here (releases/apps.py).
DOWNLOAD_BLOCKERS: Hook[Callable[[File], str | None]] = Hook("download blockers")

SHA256_HEADER = "X-Content-SHA256"
# Large downloads are read from storage in segments, a few ahead of the one being sent, so the
# storage connection and the client connection are busy at the same time. Memory held per
# download: about (DOWNLOAD_AHEAD + 1) segments, 24 MiB.
DOWNLOAD_SEGMENT = 8 * 1024 * 1024
DOWNLOAD_AHEAD = 2


@dataclass(frozen=True)
class ByteRange:
    """Bytes ``start`` to ``end`` of the file, both inclusive, as HTTP writes them."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1


class Unsatisfiable(Exception):
    """The requested range starts past the end of the file."""


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The single byte range asked for, or None for the whole file.

    Raises ``Unsatisfiable`` when the range cannot be served (416). Malformed headers and
    several ranges are ignored: the whole file is sent.
    """
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    first, last = first.strip(), last.strip()
    if not (first.isascii() and last.isascii()):
        return None  # isdigit() would also accept digits int() refuses, such as '³'
    if not dash or not (first.isdigit() or first == "") or not (last.isdigit() or last == ""):
        return None
    if first == "":
        if last == "":
            return None
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise Unsatisfiable
        return ByteRange(max(size - suffix, 0), size - 1)
    start = int(first)
    if last != "" and int(last) < start:
        return None
    if start >= size:
        raise Unsatisfiable
    end = size - 1 if last == "" else min(int(last), size - 1)
    return ByteRange(start, end)


def segments_ahead(store: BlobStore, key: str, start: int, end: int) -> Iterator[bytes]:
    """Bytes ``start..end`` of a blob, read as segments in parallel, a few ahead, in order.

    The first segment is awaited before this returns, so a missing blob raises ``BlobNotFound``
    here rather than in the middle of a response.
    """
    bounds = [
        (s, min(s + DOWNLOAD_SEGMENT - 1, end)) for s in range(start, end + 1, DOWNLOAD_SEGMENT)
    ]
    if len(bounds) == 1:
        return store.open(key, start, end)

    def fetch(segment: tuple[int, int]) -> list[bytes]:
        # Kept as the chunks storage gave: joining them would hold each segment twice.
        return list(store.open(key, *segment))

    pool = ThreadPoolExecutor(max_workers=DOWNLOAD_AHEAD, thread_name_prefix="download")
    pending: deque[Future[list[bytes]]] = deque(
        pool.submit(fetch, b) for b in bounds[:DOWNLOAD_AHEAD]
    )
    try:
        first = pending.popleft().result()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    return _in_order(pool, fetch, first, pending, bounds[DOWNLOAD_AHEAD:])


def _in_order(
    pool: ThreadPoolExecutor,
    fetch: Callable[[tuple[int, int]], list[bytes]],
    first: list[bytes],
    pending: deque[Future[list[bytes]]],
    rest: list[tuple[int, int]],
) -> Iterator[bytes]:
    later = iter(rest)
    try:
        segment: list[bytes] | None = first
        while segment is not None:
            following = next(later, None)
            if following is not None:
                pending.append(pool.submit(fetch, following))
            while segment:
                yield segment.pop(0)
            segment = pending.popleft().result() if pending else None
    finally:
        # A client that goes away closes this generator: stop fetching for it.
        pool.shutdown(wait=False, cancel_futures=True)
        pending.clear()
        release_free_memory()


def file_etag(file: File) -> str:
    return f'"{file.pk}-{file.sha256[:16]}"' if file.sha256 else f'"{file.pk}"'


def _matches(header: str, etag: str) -> bool:
    """``If-None-Match``: weak comparison against a list of ETags, or ``*``."""
    bare = etag.removeprefix("W/")
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == bare:
            return True
    return False


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact name in RFC 5987 form."""
    fallback = (
        "".join(c if 32 <= ord(c) < 127 and c not in '"\\%' else "_" for c in name) or "download"
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _headers(response: HttpResponseBase, file: File) -> None:
    response["ETag"] = file_etag(file)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "no-store"
    if file.sha256:
        response[SHA256_HEADER] = file.sha256


def download_response(*, request: HttpRequest, actor: Actor, file: File) -> HttpResponseBase:
    """The response that streams ``file`` to ``actor``, or raise a ``BailoError``.

    403 says why (no download right, or a blocker such as a virus finding); 409 when the upload
    has not finished.
    """
    check(actor, Action.FILE_DOWNLOAD, file.model, Subject(file=file.pk))
    if not file.complete:
        raise Conflict(
            f"File {file.pk} cannot be downloaded: its upload has not finished",
            {"fileId": file.pk},
        )
    for blocker in DOWNLOAD_BLOCKERS:
        reason = blocker(file)
        if reason:
            raise Forbidden(reason, {"fileId": file.pk})

    etag = file_etag(file)
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match and _matches(if_none_match, etag):
        not_modified = HttpResponse(status=304)
        _headers(not_modified, file)
        return not_modified

    range_header = request.headers.get("Range")
    if_range = request.headers.get("If-Range")
    if if_range is not None and if_range.strip() != etag:
        range_header = None
    try:
        wanted = parse_range(range_header, file.size)
    except Unsatisfiable:
        refused = JsonResponse(
            error_body(
                f"The requested range is outside the file, which has {file.size} bytes",
                {"fileId": file.pk, "size": file.size, "range": range_header or ""},
            ),
            status=416,
        )
        refused["Content-Range"] = f"bytes */{file.size}"
        _headers(refused, file)
        return refused

    start, end = (wanted.start, wanted.end) if wanted else (0, file.size - 1)
    try:
        chunks = segments_ahead(blob_store(), file.storage_key, start, end)
    except BlobNotFound as exc:
        log.error(
            "The stored bytes of complete file %s (%s) are missing", file.pk, file.storage_key
        )
        raise NotFound(
            f"The stored bytes of file {file.pk} are missing; ask an administrator",
            {"fileId": file.pk},
        ) from exc

    response = StreamingHttpResponse(chunks, status=206 if wanted else 200, content_type=file.mime)
    response["Content-Length"] = str(end - start + 1)
    if wanted:
        response["Content-Range"] = f"bytes {start}-{end}/{file.size}"
    response["Content-Disposition"] = content_disposition(file.name)
    _headers(response, file)
    audit_record(
        action=AuditAction.FILE_DOWNLOAD,
        actor=actor.user,
        subject=f"{file.model_id}/{file.pk}",
        detail={
            "fileId": file.pk,
            "name": file.name,
            "range": f"{start}-{end}" if wanted else "",
        },
    )
    return response
