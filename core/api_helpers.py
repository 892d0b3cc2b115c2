"""Small helpers shared by the API handlers: reading JSON bodies and query flags."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja.parser import Parser

from core.bad_input import json_loads_strict
from core.errors import BadRequest, PayloadTooLarge
from core.openapi import PATH_SCHEMAS, error_response


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


Schema = dict[str, Any]


def documented(
    ok: tuple[str, str, Schema] | Schema | None = None,
    errors: dict[int, str] | None = None,
    *,
    body: Schema | None = None,
    raw_body: str | None = None,
    query: dict[str, Schema] | None = None,
    repeatable: tuple[str, ...] = (),
    path: dict[str, Schema] | None = None,
    headers: dict[str, Schema] | None = None,
    response_headers: dict[str, Schema] | None = None,
    also: dict[int, str] | None = None,
) -> dict[str, Any]:
    """``openapi_extra`` for an operation whose handler builds its own answer and reads its own
    input. ``ok`` is the success body's JSON schema, or ``(description, media type, schema)``;
    ``errors`` each refusal particular to the operation (``core.openapi`` adds those every
    operation shares); ``body`` the JSON request body's schema, or ``raw_body`` the media type
    of a body passed through as bytes; ``query`` the query parameters the handler reads from
    ``request.GET`` (those in ``repeatable`` may be given more than once); ``path`` narrows the
    schemas of path parameters; ``headers`` the request headers it reads;
    ``response_headers`` those its success sets; ``also`` other successes (a 206 or 304, with
    the success's media type and no body for 304). Every error answers in Bailo's error
    shape."""
    if isinstance(ok, tuple):
        description, media_type, schema = ok
    else:
        description, media_type, schema = "OK", "application/json", ok or {"type": "object"}
    # Integer keys, as django-ninja writes its own (``core.openapi`` turns them all to strings).
    responses: dict[int, Any] = {
        200: {"description": description, "content": {media_type: {"schema": schema}}}
    }
    if response_headers:
        responses[200]["headers"] = {
            name: {"schema": schema} for name, schema in response_headers.items()
        }
    for status, meaning in (also or {}).items():
        responses[status] = (
            {"description": meaning}
            if status == 304
            else {"description": meaning, "content": {media_type: {"schema": schema}}}
        )
    for status, meaning in (errors or {}).items():
        responses[status] = error_response(meaning)
    extra: dict[str, Any] = {"responses": responses}
    if path:
        # django-ninja lists the path parameters already; core.openapi narrows their schemas.
        extra[PATH_SCHEMAS] = path
    if body is not None:
        # An empty body reads as {} (``read_json``): it may be left out when no field is required.
        extra["requestBody"] = {
            "required": bool(body.get("required")),
            "content": {"application/json": {"schema": body}},
        }
    elif raw_body is not None:
        extra["requestBody"] = {
            "required": True,
            "content": {raw_body: {"schema": {"type": "string", "format": "binary"}}},
        }
    if query:
        extra["parameters"] = [
            {
                "in": "query",
                "name": name,
                "required": False,
                "schema": {"type": "array", "items": schema} if name in repeatable else schema,
                **({"style": "form", "explode": True} if name in repeatable else {}),
            }
            for name, schema in query.items()
        ]
    if headers:
        extra.setdefault("parameters", []).extend(
            {"in": "header", "name": name, "required": False, "schema": schema}
            for name, schema in headers.items()
        )
    return extra
