"""Input no part of the app can store or process, refused with a 400 where requests are parsed.

PostgreSQL refuses NUL characters in text and JSON, a lone UTF-16 surrogate cannot be encoded to
UTF-8, ``NaN`` and ``Infinity`` are not JSON (Python accepts them, PostgreSQL's ``jsonb`` does not),
and deeply nested JSON raises ``RecursionError`` in whatever walks it. Each would surface as a 500
far from its cause; here they are refused before any handler runs:

- ``json_loads_strict`` is the one JSON parser for request bodies (the API's parser and
  ``core.api_helpers.read_json`` both use it);
- ``request_line_problem`` checks the path and query string of every request (from
  ``core.middleware.BadInputMiddleware``);
- ``is_unreadable_body`` recognises a body the server could not read (a malformed chunked
  encoding, a client that went away), which is the client's fault, not ours.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any
from urllib.parse import parse_qsl

from django.http import HttpRequest, UnreadablePostError

from core.errors import BadRequest

# Bidirectional overrides and isolates make "exe.txt" display as "txt.exe", or a name look like
# another: refused in names along with control characters.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

# Far deeper than any document Bailo reads (model cards nest a handful of levels).
MAX_JSON_DEPTH = 64


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a control character (tab and newline included) or a bidi control,
    which have no place in a name shown in lists and pages."""
    return any(unicodedata.category(c) == "Cc" or c in BIDI_CONTROLS for c in text)


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "must not contain NUL characters"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must not contain lone UTF-16 surrogates"
    return None


def _refuse_constant(name: str) -> Any:
    raise BadRequest(f"The request body is not valid JSON: {name} is not a JSON number")


def json_loads_strict(raw: bytes | str) -> Any:
    """Parse a request body as JSON, refusing what cannot be stored (BadRequest, 400)."""
    try:
        value = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise BadRequest(
            f"The request body is nested too deeply (more than {MAX_JSON_DEPTH} levels)"
        ) from exc
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise BadRequest(f"The request body is not valid JSON: {exc}") from exc
    # Walked with a stack, not recursion, so depth cannot exhaust Python's stack here.
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            problem = _text_problem(item)
            if problem:
                raise BadRequest(f"Strings in the request body {problem}")
        elif isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise BadRequest(
                    f"The request body is nested too deeply (more than {MAX_JSON_DEPTH} levels)"
                )
            if isinstance(item, dict):
                stack.extend((key, depth) for key in item)
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)
    return value


def request_line_problem(request: HttpRequest) -> str | None:
    """What is wrong with the request's path or query string, or None."""
    problem = _text_problem(request.path)
    if problem:
        return f"The request path {problem}"
    query = request.META.get("QUERY_STRING", "")
    for key, value in parse_qsl(query, keep_blank_values=True, errors="replace"):
        problem = _text_problem(key)
        if problem:
            return f"Query parameter names {problem}"
        problem = _text_problem(value)
        if problem:
            return f"The query parameter '{key}' {problem}"
    return None


FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def form_problem(request: HttpRequest) -> str | None:
    """What is wrong with a posted form's fields, or None. Only for forms, which Django parses
    anyway (the CSRF check reads them): any other body is a stream the view reads itself."""
    if request.method != "POST" or request.content_type not in FORM_TYPES:
        return None
    for key, values in request.POST.lists():
        for text in (key, *values):
            problem = _text_problem(text)
            if problem:
                return f"Form fields {problem}"
    return None


def is_unreadable_body(exc: BaseException) -> bool:
    """Whether ``exc`` means the request body could not be read: the client's fault (400)."""
    if isinstance(exc, UnreadablePostError):
        return True
    # gunicorn's HTTP parser raises its own errors (not OSErrors, so Django does not turn them
    # into UnreadablePostError) for a malformed chunked body; matched by module so that this
    # floor does not import the server.
    return any(cls.__module__.startswith("gunicorn.http") for cls in type(exc).__mro__)
