"""The v2 API for files: listing, streamed uploads and downloads, metadata changes.

Upload endpoints that carry file bytes (simple upload, multipart part) declare no body parameter:
django-ninja then never touches ``request.body``, and the handler reads the request stream in
1 MiB chunks, so a body of any size passes through without being held.

Beyond Bailo: ``GET /model/{id}/files/upload/multipart/parts?fileId&uploadId`` lists the parts
stored so far, so an interrupted uploader can resume.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from ninja import Router

from core.api_helpers import documented, read_json
from core.errors import BadRequest, NotFound
from core.openapi import TIMESTAMP, answer, array, component, listing, obj, string
from models_app.models import Model
from models_app.policy import Action, Actor, allowed, get_model_for
from releases.files import services as file_services
from releases.files.downloads import download_response
from releases.files.selectors import (
    file_get,
    file_get_any,
    file_get_bare,
    file_json,
    files_of,
    release_file_get,
)
from releases.files.services import LengthRequired, body_chunks
from releases.models import File

router = Router(tags=["file"])

FILE = component(
    "File",
    obj(
        {
            "id": string(),
            "_id": string(),
            "modelId": string(),
            "name": string(),
            "size": {"type": "integer", "minimum": 0},
            "mime": string(),
            "tags": array(string()),
            "complete": {"type": "boolean"},
            "createdAt": TIMESTAMP,
            "updatedAt": TIMESTAMP,
            "scanResults": array(),
        },
        required=["id", "modelId", "name", "size", "complete"],
    ),
)
_FILE = answer("file", FILE)
_STORAGE_OUTAGE = {503: "The blob store could not be reached"}
_UPLOAD_QUERY = {"fileId": string(minLength=1), "uploadId": string(minLength=1)}
_DOWNLOAD = documented(
    ("The file's bytes, with the file's media type", "*/*", string(format="binary")),
    {**_STORAGE_OUTAGE, 403: "No approved access request", 416: "The range is not satisfiable"},
    headers={
        "Range": string(description="One range: bytes=a-b, bytes=a- or bytes=-n"),
        "If-Range": string(description="The ETag the range applies to"),
        "If-None-Match": string(description="ETags already held"),
    },
    response_headers={
        "ETag": string(),
        "Accept-Ranges": string(enum=["bytes"]),
        "Content-Disposition": string(),
        "X-Content-SHA256": string(),
    },
    also={
        206: "The range asked for (Content-Range says which)",
        304: "The file has not changed (If-None-Match)",
    },
)
_TAGS = array(string())


# --- request helpers --------------------------------------------------------------------------


def request_body(request: HttpRequest) -> tuple[Iterator[bytes], int | None]:
    """The request body as a stream of chunks, and its Content-Length (None when chunked).

    Reads through ``request.read`` (Django's length-limited stream), never ``request.body``.
    A chunked body is read from the server's input stream when the server decodes chunked
    transfer encoding for us (gunicorn does); otherwise a Content-Length is required (411). A
    request with neither has an empty body.
    """
    raw = request.META.get("CONTENT_LENGTH") or ""
    if raw.strip():
        try:
            length = int(raw)
        except ValueError as exc:
            raise BadRequest("Content-Length must be a number of bytes") from exc
        if length < 0:
            raise BadRequest("Content-Length must be a number of bytes")
        return body_chunks(request.read, length), length
    if "chunked" not in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
        # Neither a length nor chunked encoding: HTTP says the body is empty.
        return iter(()), 0
    if request.META.get("wsgi.input_terminated"):
        return body_chunks(request.META["wsgi.input"].read, None), None
    raise LengthRequired("This upload needs a Content-Length header")


def _query_tags(request: HttpRequest) -> list[str] | None:
    values = request.GET.getlist("tags") + request.GET.getlist("tags[]")
    if not values:
        return None
    tags: list[str] = []
    for value in values:
        tags.extend(value.split(","))
    return tags


def _int_param(request: HttpRequest, name: str) -> int:
    raw = request.GET.get(name, "")
    try:
        return int(raw)
    except ValueError as exc:
        raise BadRequest(f"{name} must be an integer", {name: raw}) from exc


def _entry(request: HttpRequest, model_id: str, action: Action = Action.FILE_VIEW) -> Model:
    return get_model_for(Actor.from_request(request), model_id, action)


def _upload_file(model: Model, file_id: Any, *, scans: bool = True) -> File:
    """The entry's file ``file_id``, finished or not; ``scans=False`` skips fetching its scan
    results (a part upload answers with an ETag only)."""
    if not isinstance(file_id, str) or not file_id:
        raise BadRequest("fileId is required")
    file = file_get_any(model, file_id) if scans else file_get_bare(model, file_id)
    if file is None:
        raise NotFound(
            f"File {file_id} not found on model {model.pk}",
            {"fileId": file_id, "modelId": model.pk},
        )
    return file


def _complete_file(model: Model, file_id: str) -> File:
    file = file_get(model, file_id)
    if file is None:
        raise NotFound(f"File {file_id} not found", {"fileId": file_id, "modelId": model.pk})
    return file


def _file_answer(file: File) -> dict[str, Any]:
    fresh = file_get_any(file.model, file.pk)
    return {"file": file_json(fresh or file)}


# --- listing and metadata ---------------------------------------------------------------------


@router.get(
    "/model/{model_id}/files",
    operation_id="getFiles",
    openapi_extra=documented(listing("files", FILE)),
)
def get_files(request: HttpRequest, model_id: str) -> dict[str, Any]:
    model = _entry(request, model_id)
    return {"files": [file_json(f) for f in files_of(Actor.from_request(request), model)]}


@router.patch(
    "/model/{model_id}/file/{file_id}",
    operation_id="patchFile",
    openapi_extra=documented(
        _FILE,
        {400: "An unknown or invalid field"},
        body=obj({"name": string(minLength=1), "mime": string(), "tags": _TAGS}),
    ),
)
def patch_file(request: HttpRequest, model_id: str, file_id: str) -> dict[str, Any]:
    model = _entry(request, model_id)
    file = _complete_file(model, file_id)
    file = file_services.file_update(
        actor=Actor.from_request(request), file=file, changes=read_json(request)
    )
    return _file_answer(file)


# --- downloads --------------------------------------------------------------------------------


def _download_by_id(request: HttpRequest, model_id: str, file_id: str) -> HttpResponseBase:
    model = _entry(request, model_id)
    file = file_get_any(model, file_id)
    if file is None:
        raise NotFound(f"File {file_id} not found", {"fileId": file_id, "modelId": model_id})
    return download_response(request=request, actor=Actor.from_request(request), file=file)


def _download_by_name(
    request: HttpRequest, model_id: str, semver: str, file_name: str
) -> HttpResponseBase:
    actor = Actor.from_request(request)
    model = _entry(request, model_id, Action.RELEASE_VIEW)
    drafts = allowed(actor, Action.RELEASE_VIEW_DRAFT, model)
    release, file = release_file_get(model, semver, file_name, include_drafts=drafts)
    if release is None:
        raise NotFound(f"Release {semver} not found", {"modelId": model_id, "semver": semver})
    if file is None:
        raise NotFound(
            f"Release {release.semver} has no file named {file_name!r}",
            {"modelId": model_id, "semver": release.semver, "fileName": file_name},
        )
    return download_response(request=request, actor=actor, file=file)


@router.get(
    "/model/{model_id}/file/{file_id}/download",
    operation_id="getDownloadFile",
    openapi_extra=_DOWNLOAD,
)
def download_file(request: HttpRequest, model_id: str, file_id: str) -> HttpResponseBase:
    return _download_by_id(request, model_id, file_id)


@router.get(
    "/token/model/{model_id}/file/{file_id}/download",
    operation_id="getDownloadFileToken",
    openapi_extra=_DOWNLOAD,
)
def download_file_token(request: HttpRequest, model_id: str, file_id: str) -> HttpResponseBase:
    return _download_by_id(request, model_id, file_id)


@router.get(
    "/model/{model_id}/release/{semver}/file/{file_name}/download",
    operation_id="getDownloadReleaseFile",
    openapi_extra=_DOWNLOAD,
)
def download_release_file(
    request: HttpRequest, model_id: str, semver: str, file_name: str
) -> HttpResponseBase:
    return _download_by_name(request, model_id, semver, file_name)


@router.get(
    "/token/model/{model_id}/release/{semver}/file/{file_name}/download",
    operation_id="getDownloadReleaseFileToken",
    openapi_extra=_DOWNLOAD,
)
def download_release_file_token(
    request: HttpRequest, model_id: str, semver: str, file_name: str
) -> HttpResponseBase:
    return _download_by_name(request, model_id, semver, file_name)


# --- uploads ----------------------------------------------------------------------------------


@router.post(
    "/model/{model_id}/files/upload/simple",
    operation_id="postSimpleUpload",
    openapi_extra=documented(
        _FILE,
        {**_STORAGE_OUTAGE, 400: "name missing or invalid", 411: "No Content-Length"},
        raw_body="application/octet-stream",
        query={"name": string(minLength=1), "mime": string(), "tags": string()},
        repeatable=("tags",),
    ),
)
def simple_upload(request: HttpRequest, model_id: str) -> dict[str, Any]:
    """The raw request body is the file; ``name``, ``mime`` and ``tags`` come in the query."""
    model = _entry(request, model_id, Action.FILE_UPLOAD)
    stream, length = request_body(request)
    file = file_services.file_upload_simple(
        actor=Actor.from_request(request),
        model=model,
        name=request.GET.get("name"),
        mime=request.GET.get("mime"),
        tags=_query_tags(request),
        stream=stream,
        length=length,
    )
    return _file_answer(file)


@router.post(
    "/model/{model_id}/files/upload/multipart/start",
    operation_id="postStartMultipart",
    openapi_extra=documented(
        obj(
            {
                "fileId": string(),
                "file": FILE,
                "uploadId": string(),
                "chunks": array(),
            },
            required=["fileId", "file", "uploadId", "chunks"],
        ),
        {**_STORAGE_OUTAGE, 400: "name or size missing or invalid"},
        body=obj(
            {
                "name": string(minLength=1),
                "mime": string(),
                "size": {"type": "integer", "minimum": 0},
                "tags": _TAGS,
            },
            required=["name", "size"],
        ),
    ),
)
def multipart_start(request: HttpRequest, model_id: str) -> dict[str, Any]:
    model = _entry(request, model_id, Action.FILE_UPLOAD)
    body = read_json(request)
    file, chunks = file_services.multipart_start(
        actor=Actor.from_request(request),
        model=model,
        name=body.get("name"),
        mime=body.get("mime"),
        size=body.get("size"),
        tags=body.get("tags"),
    )
    # Bailo answers ``fileId``; the whole ``file`` object is ours and stays for our interface.
    return {
        "fileId": file.pk,
        "file": file_json(file),
        "uploadId": file.upload_id,
        "chunks": chunks,
    }


@router.post(
    "/model/{model_id}/files/upload/multipart/part",
    operation_id="postMultipartPart",
    openapi_extra=documented(
        answer("ETag", string()),
        {**_STORAGE_OUTAGE, 400: "fileId, uploadId or partNumber missing or invalid"},
        raw_body="application/octet-stream",
        query={**_UPLOAD_QUERY, "partNumber": {"type": "integer", "minimum": 1}},
    ),
)
def multipart_part(request: HttpRequest, model_id: str) -> dict[str, Any]:
    """The raw request body is one part; ``fileId``, ``uploadId``, ``partNumber`` in the query."""
    model = _entry(request, model_id, Action.FILE_UPLOAD)
    file = _upload_file(model, request.GET.get("fileId"), scans=False)
    part_number = _int_param(request, "partNumber")
    stream, length = request_body(request)
    part = file_services.multipart_part(
        actor=Actor.from_request(request),
        file=file,
        upload_id=request.GET.get("uploadId"),
        part_number=part_number,
        stream=stream,
        length=length,
    )
    return {"ETag": part.etag}


@router.get(
    "/model/{model_id}/files/upload/multipart/parts",
    operation_id="getMultipartParts",
    openapi_extra=documented(
        obj({"parts": array(), "chunks": array()}, required=["parts", "chunks"]),
        {**_STORAGE_OUTAGE, 400: "fileId or uploadId missing or not this upload's"},
        query=_UPLOAD_QUERY,
    ),
)
def multipart_parts(request: HttpRequest, model_id: str) -> dict[str, Any]:
    model = _entry(request, model_id, Action.FILE_UPLOAD)
    file = _upload_file(model, request.GET.get("fileId"))
    parts = file_services.multipart_parts(
        actor=Actor.from_request(request), file=file, upload_id=request.GET.get("uploadId")
    )
    return {
        "parts": [{"PartNumber": p.part_number, "ETag": p.etag, "size": p.size} for p in parts],
        "chunks": file_services.chunks_of(file),
    }


@router.post(
    "/model/{model_id}/files/upload/multipart/finish",
    operation_id="postFinishMultipart",
    openapi_extra=documented(
        _FILE,
        {**_STORAGE_OUTAGE, 400: "fileId, uploadId or parts missing or invalid"},
        body=obj(
            {
                "fileId": string(minLength=1),
                "uploadId": string(minLength=1),
                "parts": array(
                    obj(
                        {"ETag": string(), "PartNumber": {"type": "integer", "minimum": 1}},
                        required=["ETag", "PartNumber"],
                    )
                ),
                "tags": _TAGS,
            },
            required=["fileId", "uploadId", "parts"],
        ),
    ),
)
def multipart_finish(request: HttpRequest, model_id: str) -> dict[str, Any]:
    model = _entry(request, model_id, Action.FILE_UPLOAD)
    body = read_json(request)
    file = _upload_file(model, body.get("fileId"))
    file = file_services.multipart_finish(
        actor=Actor.from_request(request),
        file=file,
        upload_id=body.get("uploadId"),
        parts=body.get("parts"),
        tags=body.get("tags"),
    )
    return _file_answer(file)
