"""The OpenAPI documents describe every operation: its input, its success and its refusals.

Generated clients and fuzzers read these documents, so each operation that takes a body says what
the body is, each documents at least one 4xx in Bailo's error shape, and the documents are valid
OpenAPI 3.1 with no key given twice (Swagger UI refuses such a document).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from openapi_spec_validator import validate

DOCUMENTS = (
    "/api/v2/openapi.json",
    "/api/v2/api-docs/swagger.json",
    "/api/v3/api-docs/swagger.json",
)
ERROR_REF = "#/components/schemas/Error"
# Operations whose body is the file's bytes, streamed through untouched.
RAW_BODY_OPERATIONS = {"postSimpleUpload", "postMultipartPart"}
# Operations that read no body at all (their input is the path).
NO_BODY_OPERATIONS = {
    "postNotifyReviewer",
    "patchResponseReaction",
    "releases_scanning_api_put_file_scan",
    "releases_scanning_api_put_image_scan",
}


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    duplicates = {key for key in keys if keys.count(key) > 1}
    assert not duplicates, f"keys given twice: {duplicates}"
    return dict(pairs)


@pytest.fixture(scope="module", params=DOCUMENTS)
def document(request: Any) -> dict[str, Any]:
    response = Client().get(request.param)
    assert response.status_code == 200
    parsed: dict[str, Any] = json.loads(response.content, object_pairs_hook=_no_duplicate_keys)
    return parsed


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.")
    validate(document)


def test_every_operation_that_takes_a_body_describes_it(document: dict[str, Any]) -> None:
    missing = []
    for method, path, operation in _operations(document):
        if method not in {"post", "put", "patch"} or operation["operationId"] in NO_BODY_OPERATIONS:
            continue
        content = operation.get("requestBody", {}).get("content", {})
        if operation["operationId"] in RAW_BODY_OPERATIONS:
            ok = content.get("application/octet-stream", {}).get("schema", {}).get("format")
            ok = ok == "binary"
        else:
            schema = content.get("application/json", {}).get("schema", {})
            ok = schema.get("type") == "object" and "properties" in schema
        if not ok:
            missing.append(f"{method.upper()} {path}")
    assert not missing, f"operations without a request body schema: {missing}"


def test_every_operation_documents_a_refusal_in_bailos_error_shape(
    document: dict[str, Any],
) -> None:
    assert document["components"]["schemas"]["Error"]["required"] == ["error"]
    for method, path, operation in _operations(document):
        refusals = {s: r for s, r in operation["responses"].items() if s.startswith("4")}
        assert {"400", "401"} <= set(refusals), f"{method} {path}"
        for status, described in refusals.items():
            if method == "head":
                continue
            schema = described["content"]["application/json"]["schema"]
            assert schema == {"$ref": ERROR_REF}, f"{method} {path} {status}"


def test_every_success_has_a_body_schema(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        if method == "head":
            continue
        content = operation["responses"]["200"]["content"]
        assert all("schema" in media for media in content.values()), f"{method} {path}"


def test_operations_on_a_named_thing_document_404_and_signed_in_ones_403(
    document: dict[str, Any],
) -> None:
    for method, path, operation in _operations(document):
        if "{" in path:
            assert "404" in operation["responses"], f"{method} {path}"
        if {} not in operation["security"]:
            assert "403" in operation["responses"], f"{method} {path}"


def test_query_parameters_the_handlers_read_are_typed() -> None:
    paths = Client().get("/api/v2/openapi.json").json()["paths"]

    def query(path: str, method: str = "get") -> dict[str, Any]:
        params = paths[path][method]["parameters"]
        return {p["name"]: p["schema"] for p in params if p["in"] == "query"}

    search = query("/api/v2/models/search")
    assert search["pageSize"]["type"] == "integer" and search["pageSize"]["maximum"] == 500
    assert search["states"]["type"] == "array"
    assert {"release", "access"} <= set(query("/api/v2/reviews")["kind"]["enum"])
    upload = query("/api/v2/model/{model_id}/files/upload/multipart/part", "post")
    assert upload["partNumber"]["type"] == "integer"
    assert query("/api/v2/schemas")["hidden"]["type"] == "boolean"


def test_a_request_body_states_its_fields_types_and_requirements() -> None:
    paths = Client().get("/api/v2/openapi.json").json()["paths"]
    body = paths["/api/v2/models"]["post"]["requestBody"]["content"]["application/json"]
    schema = body["schema"]
    assert set(schema["required"]) == {"name", "description"}
    assert schema["properties"]["visibility"]["enum"] == ["public", "private"]
    release = paths["/api/v2/model/{model_id}/releases"]["post"]["requestBody"]
    assert "semver" in release["content"]["application/json"]["schema"]["required"]


def test_downloads_document_ranges_conditions_and_their_answers() -> None:
    paths = Client().get("/api/v2/openapi.json").json()["paths"]
    download = paths["/api/v2/model/{model_id}/file/{file_id}/download"]["get"]
    headers = {p["name"] for p in download["parameters"] if p["in"] == "header"}
    assert {"Range", "If-None-Match", "If-Range"} <= headers
    assert {"200", "206", "304", "403", "404", "416", "503"} <= set(download["responses"])
    assert "ETag" in download["responses"]["200"]["headers"]


def test_path_parameters_carry_their_constraints() -> None:
    paths = Client().get("/api/v2/openapi.json").json()["paths"]
    reaction = paths["/api/v2/response/{response_id}/reaction/{kind}"]["patch"]
    kinds = [p for p in reaction["parameters"] if p["name"] == "kind"]
    assert len(kinds) == 1 and kinds[0]["schema"]["enum"][0] == "like"
    card = paths["/api/v2/model/{model_id}/model-card/{version}"]["get"]
    (version,) = [p for p in card["parameters"] if p["name"] == "version"]
    assert version["schema"]["pattern"] == "^(latest|[1-9][0-9]*)$"
