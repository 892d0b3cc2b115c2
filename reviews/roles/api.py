"""The v2 API for review roles: Bailo's paths and JSON shapes."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router

from core.api_helpers import documented, json_with_count, read_json
from core.openapi import TIMESTAMP, answer, array, component, listing, obj, string
from models_app.policy import Actor, TokenAction, check_token_action, require_admin
from reviews.roles import services

router = Router(tags=["review"])


_ADMIN_ONLY = {403: "Only administrators manage review roles"}
_ROLE_FIELDS: dict[str, Any] = {
    "name": string(minLength=1, maxLength=200),
    "description": string(maxLength=5000),
    "defaultEntities": array(string(pattern="^(user|group):.+$")),
    "lockEntities": {"type": "boolean"},
}
REVIEW_ROLE = component(
    "ReviewRole",
    obj(
        {
            **_ROLE_FIELDS,
            "id": string(),
            "_id": string(),
            "shortName": string(),
            "kind": string(enum=["review"]),
            "systemRole": string(),
            "createdAt": TIMESTAMP,
            "updatedAt": TIMESTAMP,
        },
        required=["id", "name", "shortName", "kind", "defaultEntities", "lockEntities"],
    ),
)
_ROLE = answer("reviewRole", REVIEW_ROLE)
_CREATE = documented(
    _ROLE,
    {**_ADMIN_ONLY, 400: "A field is missing or invalid", 409: "The short name or name is taken"},
    body=obj(
        {"shortName": string(pattern="^[A-Za-z0-9][A-Za-z0-9_-]{0,49}$"), **_ROLE_FIELDS},
        required=["shortName", "name"],
    ),
)


@router.get(
    "/review/roles",
    operation_id="getReviewRoles",
    openapi_extra=documented(
        listing("reviewRoles", REVIEW_ROLE),
        {404: "No such schema"},
        query={"schemaId": string()},
        response_headers={"x-count": {"type": "string", "pattern": "^[0-9]+$"}},
    ),
)
def get_review_roles(request: HttpRequest) -> HttpResponse:
    """Every review role, or those of ``schemaId``."""
    actor = Actor.from_request(request)
    check_token_action(actor, TokenAction.REVIEW_ROLE_READ)
    roles = list(services.review_role_list(schema_id=request.GET.get("schemaId")))
    return json_with_count(
        {"reviewRoles": [services.review_role_json(r) for r in roles]}, len(roles)
    )


def _create_role(request: HttpRequest) -> dict[str, Any]:
    role = services.review_role_create(actor=Actor.from_request(request), body=read_json(request))
    return {"reviewRole": services.review_role_json(role)}


@router.post("/review/roles", operation_id="postReviewRoles", openapi_extra=_CREATE)
def post_review_roles(request: HttpRequest) -> dict[str, Any]:
    """Create a review role (administrators): ``{shortName, name, description,
    defaultEntities, lockEntities}``."""
    return _create_role(request)


@router.post("/review/role", operation_id="postReviewRole", openapi_extra=_CREATE)
def post_review_role(request: HttpRequest) -> dict[str, Any]:
    """Bailo's spelling of ``POST /review/roles``."""
    return _create_role(request)


@router.put(
    "/review/role/{short_name}",
    operation_id="putReviewRole",
    openapi_extra=documented(
        _ROLE,
        {**_ADMIN_ONLY, 400: "A field is invalid", 409: "The name is taken"},
        body=obj({"shortName": string(description="Must be the role's own"), **_ROLE_FIELDS}),
    ),
)
def put_review_role(request: HttpRequest, short_name: str) -> dict[str, Any]:
    """Change a review role (administrators): ``name``, ``description``, ``defaultEntities``,
    ``lockEntities``."""
    actor = Actor.from_request(request)
    require_admin(actor, TokenAction.REVIEW_ROLE_WRITE)
    role = services.review_role_get(short_name)
    role = services.review_role_update(actor=actor, role=role, body=read_json(request))
    return {"reviewRole": services.review_role_json(role)}


@router.delete(
    "/review/role/{short_name}",
    operation_id="deleteReviewRole",
    openapi_extra=documented(
        obj({"deleted": {"type": "boolean"}}, required=["deleted"]), _ADMIN_ONLY
    ),
)
def delete_review_role(request: HttpRequest, short_name: str) -> dict[str, Any]:
    """Delete a review role (administrators): it leaves every schema, every entry's
    collaborators, and its reviews go."""
    actor = Actor.from_request(request)
    require_admin(actor, TokenAction.REVIEW_ROLE_WRITE)
    role = services.review_role_get(short_name)
    counts = services.review_role_delete(actor=actor, role=role)
    return {"deleted": True, **counts}
