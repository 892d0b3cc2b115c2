"""Small helpers shared by the API handlers: reading JSON bodies and query flags."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja.parser import Parser

from core.bad_input import json_loads_strict
from core.errors import BadRequest, PayloadTooLarge


def too_large() -> PayloadTooLarge:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return PayloadTooLarge(
        f"The request body is larger than the limit of {limit // 1024} kB", {"limitBytes": limit}
    )


def read_json(request: HttpRequest) -> dict[str, Any]:
    """The request body as a JSON object; an empty body counts as ``{}``.

    Raises ``PayloadTooLarge`` (413) past ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (Django refuses to read
    such a body) and ``BadRequest`` (400) for anything that is not a JSON object, or that holds
    what cannot be stored (``core.bad_input.json_loads_strict``).
    """
    try:
        raw = request.body
    except RequestDataTooBig as exc:
        raise too_large() from exc
    if not raw.strip():
        return {}
    body = json_loads_strict(raw)
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object")
    return body


def query_flag(request: HttpRequest, name: str) -> bool | None:
    """A true/false query parameter (any case, as Python's ``requests`` sends ``False``)."""
    value = request.GET.get(name)
    if value is None or value == "":
        return None
    lowered = value.lower()
    if lowered not in {"true", "false"}:
        raise BadRequest(f"{name} must be true or false", {name: value})
    return lowered == "true"


def json_with_count(body: dict[str, Any], count: int) -> HttpResponse:
    """A JSON answer with Bailo's ``x-count`` header (the number of items listed)."""
    response = JsonResponse(body)
    response["x-count"] = str(count)
    return response


class StrictJsonParser(Parser):
    """django-ninja's body parser for the API, with the same refusals as ``read_json``."""

    def parse_body(self, request: HttpRequest) -> Any:
        try:
            raw = request.body
        except RequestDataTooBig as exc:
            raise too_large() from exc
        return json_loads_strict(raw)


# Bailo's error shape, for operations that describe their answers in the OpenAPI document.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message"],
            "properties": {
                "message": {"type": "string"},
                "context": {"type": "object", "additionalProperties": True},
            },
        }
    },
}


def documented(
    ok: tuple[str, str, dict[str, Any]],
    errors: dict[int, str],
    *,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``openapi_extra`` for an operation whose handler builds its own answer: the success
    (``(description, media type, schema)``), each error status with what it means, and the JSON
    request body's schema when it takes one."""
    description, media_type, schema = ok
    # Integer keys, as django-ninja writes its own: a "200" beside its 200 would put the key in
    # the JSON document twice, which Swagger UI refuses to read.
    responses: dict[int, Any] = {
        200: {"description": description, "content": {media_type: {"schema": schema}}}
    }
    for status, meaning in errors.items():
        responses[status] = {
            "description": meaning,
            "content": {"application/json": {"schema": ERROR_SCHEMA}},
        }
    extra: dict[str, Any] = {"responses": responses}
    if body is not None:
        extra["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    return extra
