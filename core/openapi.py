"""The OpenAPI document: what every operation can answer, added in one place.

Handlers parse their own bodies and query strings (``core.api_helpers``), so django-ninja sees
neither and would describe every operation as "200 OK" with no input. Each operation states its
own body, query parameters, success body and particular refusals with ``documented(...)``
(``core.api_helpers``); ``BailoApi.get_openapi_schema`` then adds the answers that every
operation shares, all in Bailo's error shape:

- ``400`` for every operation: the strict body parser refuses malformed JSON, NUL characters and
  the like before any handler runs, and malformed query values are refused too;
- ``401`` for every operation: wrong, revoked or expired credentials are refused even where
  signing in is optional, and required elsewhere;
- ``403`` where signing in is required (a token whose scope does not cover the action or entry);
- ``404`` where the path names something;
- ``413`` where the operation reads a JSON body (larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE``);
- ``429`` for every operation (a client that keeps sending a wrong secret is locked out);
- ``500`` for every operation (an unexpected failure; the body says no more).
"""

from __future__ import annotations

import copy
from typing import Any

from ninja import NinjaAPI

from core.authentication import optional_api_auth

# Bailo's error shape, for every 4xx and 5xx answer.
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

ERROR_REF = {"$ref": "#/components/schemas/Error"}
# Where ``documented(path=...)`` leaves narrower schemas for path parameters (django-ninja
# would append a second parameter of the same name): ``complete_operation`` merges them.
PATH_SCHEMAS = "x-bailo-path-schemas"

COMMON_ERRORS: dict[int, str] = {
    400: "The request is malformed: unreadable JSON, a missing or invalid field or parameter",
    401: "Not signed in, or the credentials are wrong, revoked or expired",
    403: "Not allowed: the caller's role or the token's scope does not cover this",
    404: "Nothing by that id, or the caller may not see it",
    413: "The request body is larger than the configured limit",
    429: "Too many failed sign-ins from this client or for this access key (see Retry-After)",
    500: "An unexpected failure; the server's log has the details",
}

SECURITY_SCHEMES: dict[str, Any] = {
    "accessToken": {
        "type": "http",
        "scheme": "basic",
        "description": "A personal access token: its access key as user name, its secret key "
        "as password",
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "sessionid",
        "description": "The browser session (writes also need the X-CSRFToken header)",
    },
}


def error_response(meaning: str) -> dict[str, Any]:
    """A refusal in Bailo's error shape (``Error`` among the document's schemas)."""
    return {"description": meaning, "content": {"application/json": {"schema": ERROR_REF}}}


# --- small schema builders, so operations state their shapes briefly ---------------------------


def obj(
    properties: dict[str, Any] | None = None, *, required: tuple[str, ...] | list[str] = ()
) -> dict[str, Any]:
    """A JSON object with these properties (others allowed, as the handlers ignore them)."""
    schema: dict[str, Any] = {"type": "object", "properties": properties or {}}
    if required:
        schema["required"] = list(required)
    return schema


def array(items: dict[str, Any] | None = None, **constraints: Any) -> dict[str, Any]:
    return {"type": "array", "items": items or {"type": "object"}, **constraints}


def string(**constraints: Any) -> dict[str, Any]:
    return {"type": "string", **constraints}


def answer(key: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """A success body ``{key: ...}`` (an object unless ``schema`` says otherwise)."""
    return obj({key: schema if schema is not None else {"type": "object"}}, required=[key])


def listing(key: str, items: dict[str, Any] | None = None) -> dict[str, Any]:
    """A success body ``{key: [...]}``."""
    return answer(key, array(items))


MESSAGE = answer("message", string())

# Named shapes (an entry, a release...) that many operations answer with: each is written once
# under ``components.schemas`` of the documents that refer to it.
_COMPONENTS: dict[str, dict[str, Any]] = {}
TIMESTAMP = string(format="date-time")


def component(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """Register ``schema`` as ``#/components/schemas/<name>`` and answer a reference to it."""
    _COMPONENTS[name] = schema
    return {"$ref": f"#/components/schemas/{name}"}


def _references(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name not in found and name in _COMPONENTS:
                found.add(name)
                _references(_COMPONENTS[name], found)
        for value in node.values():
            _references(value, found)
    elif isinstance(node, list):
        for value in node:
            _references(value, found)


# --- completing the document -------------------------------------------------------------------


def _public_operation_ids(api: NinjaAPI) -> set[str]:
    """Operations where signing in is optional (``optional_api_auth``)."""
    public: set[str] = set()
    for _prefix, router in api._routers:
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                if operation.auth_param is optional_api_auth:
                    public.add(operation.operation_id or api.get_openapi_operation_id(operation))
    return public


def complete_operation(operation: dict[str, Any], *, method: str, public: bool) -> None:
    """Add the common answers, the success body's default and the security to one operation."""
    # Integer and string keys would both reach the JSON document (Swagger UI refuses a key
    # given twice): keep the strings, as JSON has them.
    narrower = operation.pop(PATH_SCHEMAS, {})
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "path" and parameter.get("name") in narrower:
            parameter["schema"] = {**parameter.get("schema", {}), **narrower[parameter["name"]]}
    responses: dict[str, Any] = {}
    for status, described in operation.get("responses", {}).items():
        responses[str(status)] = described
    ok = responses.setdefault("200", {"description": "OK"})
    if method == "head":
        # A HEAD answer has headers only.
        ok.pop("content", None)
    else:
        ok.setdefault("content", {"application/json": {"schema": {"type": "object"}}})
    has_path_parameter = any(p.get("in") == "path" for p in operation.get("parameters", []))
    reads_json = "application/json" in operation.get("requestBody", {}).get("content", {})
    for status, meaning in COMMON_ERRORS.items():
        if status == 403 and public:
            continue
        if status == 404 and not has_path_parameter:
            continue
        if status == 413 and not reads_json:
            continue
        responses.setdefault(str(status), error_response(meaning))
    if method == "head":
        for described in responses.values():
            described.pop("content", None)
    operation["responses"] = dict(sorted(responses.items()))
    schemes: list[dict[str, list[str]]] = [{"accessToken": []}, {"session": []}]
    operation["security"] = [{}, *schemes] if public else schemes


def complete_document(document: dict[str, Any], *, public: set[str]) -> dict[str, Any]:
    # django-ninja places the operations' openapi_extra in the document by reference: work on
    # a copy, so that building the document twice gives the same document.
    document = copy.deepcopy(document)
    for operations in document.get("paths", {}).values():
        for method, operation in operations.items():
            complete_operation(
                operation, method=method, public=operation.get("operationId") in public
            )
    components = document.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    schemas = components.setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    used: set[str] = set()
    _references(document.get("paths", {}), used)
    for name in sorted(used):
        schemas[name] = _COMPONENTS[name]
    return document


class BailoApi(NinjaAPI):
    """django-ninja's API whose OpenAPI document states every operation's errors."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> Any:
        document = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        return complete_document(document, public=_public_operation_ids(self))
