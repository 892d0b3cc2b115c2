"""The v2 API for access requests: Bailo's paths and JSON shapes, as the official client uses them
(``AccessRequest.create / from_id / update / delete``, ``post_access_request_review``).

Entries load through ``get_model_for`` (``access_request:create`` to make a request, token action
``access_request:write``; ``access_request:view``, token action ``access_request:read``, for the
rest), so an unknown entry and one the caller may not see both answer 404; the services check the
rest (changing needs ``access_request:write`` and to be named or an owner; a review needs the role
and ``model:write``).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from access.access_requests.selectors import (
    access_request_get,
    access_request_json,
    access_request_list,
    access_request_search,
)
from access.access_requests.services import (
    access_request_create,
    access_request_delete,
    access_request_may_change,
    access_request_update,
)
from core.api_helpers import documented, query_flag, read_json
from core.errors import BadRequest, NotFound
from core.openapi import MESSAGE, TIMESTAMP, answer, component, listing, obj, string
from models_app.policy import Action, Actor, check, get_model_for
from reviews.api import RESPONSE
from reviews.models import Decision, Review
from reviews.selectors import response_json
from reviews.services import comment_add, review_respond

router = Router(tags=["access-request"])

_METADATA = {"type": "object", "description": "The answers to the access request's schema"}
ACCESS_REQUEST = component(
    "AccessRequest",
    obj(
        {
            "id": string(),
            "modelId": string(),
            "schemaId": string(),
            "metadata": _METADATA,
            "createdBy": string(),
            "createdAt": TIMESTAMP,
            "updatedAt": TIMESTAMP,
            "deleted": {"type": "boolean"},
        },
        required=["id", "modelId", "schemaId", "metadata"],
    ),
)
_ACCESS_REQUEST = answer("accessRequest", ACCESS_REQUEST)
_NOT_NAMED = {403: "Only the people the request names and the entry's owners may change it"}


def _load(request: HttpRequest, model_id: str, access_request_id: str) -> tuple[Actor, Any]:
    actor = Actor.from_request(request)
    model = get_model_for(actor, model_id, Action.ACCESS_REQUEST_VIEW)
    return actor, access_request_get(model=model, access_request_id=access_request_id)


@router.post(
    "/model/{model_id}/access-requests",
    openapi_extra=documented(
        _ACCESS_REQUEST,
        {400: "No such access-request schema, or the answers do not satisfy it"},
        body=obj({"schemaId": string(minLength=1), "metadata": _METADATA}, required=["schemaId"]),
    ),
)
def create_access_request(request: HttpRequest, model_id: str) -> dict[str, Any]:
    """Ask for access: ``{schemaId, metadata}``; opens the reviews of the schema's roles."""
    actor = Actor.from_request(request)
    model = get_model_for(actor, model_id, Action.ACCESS_REQUEST_CREATE)
    body = read_json(request)
    created = access_request_create(
        actor=actor, model=model, schema_id=body.get("schemaId"), metadata=body.get("metadata")
    )
    return {"accessRequest": access_request_json(created)}


@router.get(
    "/model/{model_id}/access-requests",
    openapi_extra=documented(listing("accessRequests", ACCESS_REQUEST)),
)
def list_access_requests(request: HttpRequest, model_id: str) -> dict[str, Any]:
    """Every live access request of the entry (anyone who can view the entry sees them)."""
    model = get_model_for(Actor.from_request(request), model_id, Action.ACCESS_REQUEST_VIEW)
    return {"accessRequests": [access_request_json(ar) for ar in access_request_list(model=model)]}


@router.get(
    "/model/{model_id}/access-request/{access_request_id}",
    openapi_extra=documented(_ACCESS_REQUEST),
)
def get_access_request(
    request: HttpRequest, model_id: str, access_request_id: str
) -> dict[str, Any]:
    _, access_request = _load(request, model_id, access_request_id)
    return {"accessRequest": access_request_json(access_request)}


@router.patch(
    "/model/{model_id}/access-request/{access_request_id}",
    openapi_extra=documented(
        _ACCESS_REQUEST,
        {**_NOT_NAMED, 400: "metadata missing or invalid, or a different schemaId"},
        body=obj({"metadata": _METADATA, "schemaId": string()}, required=["metadata"]),
    ),
)
def patch_access_request(
    request: HttpRequest, model_id: str, access_request_id: str
) -> dict[str, Any]:
    """Replace the answers: ``{metadata}`` (the schema of a request cannot change)."""
    actor, access_request = _load(request, model_id, access_request_id)
    body = read_json(request)
    if "schemaId" in body and body["schemaId"] != access_request.schema_id:
        raise BadRequest(
            "The schema of an access request cannot change; make a new request instead",
            {"schemaId": body["schemaId"]},
        )
    if "metadata" not in body:
        raise BadRequest("metadata is required")
    updated = access_request_update(
        actor=actor, access_request=access_request, metadata=body["metadata"]
    )
    return {"accessRequest": access_request_json(updated)}


@router.delete(
    "/model/{model_id}/access-request/{access_request_id}",
    openapi_extra=documented(MESSAGE, _NOT_NAMED),
)
def delete_access_request(
    request: HttpRequest, model_id: str, access_request_id: str
) -> dict[str, Any]:
    """Withdraw the request (and its reviews)."""
    actor, access_request = _load(request, model_id, access_request_id)
    access_request_delete(actor=actor, access_request=access_request)
    return {"message": "Successfully removed access request."}


@router.post(
    "/model/{model_id}/access-request/{access_request_id}/comment",
    openapi_extra=documented(
        answer("accessRequestComment", RESPONSE),
        {400: "comment missing or empty"},
        body=obj({"comment": string(minLength=1)}, required=["comment"]),
    ),
)
def comment_access_request(
    request: HttpRequest, model_id: str, access_request_id: str
) -> dict[str, Any]:
    """Anyone who can view the entry comments on its access requests: ``{comment}``."""
    actor, access_request = _load(request, model_id, access_request_id)
    check(actor, Action.ACCESS_REQUEST_CREATE, access_request.model)
    body = read_json(request)
    response = comment_add(actor=actor, text=body.get("comment"), access_request=access_request)
    return {"accessRequestComment": response_json(response)}


@router.post(
    "/model/{model_id}/access-request/{access_request_id}/review",
    openapi_extra=documented(
        answer("response", RESPONSE),
        {
            400: "role missing, an unknown decision, or changes requested without a comment",
            403: "The caller does not hold the role on the entry",
            404: "No such access request, or it has no review for the role",
        },
        body=obj(
            {
                "role": string(minLength=1),
                "decision": string(enum=list(Decision.values)),
                "comment": string(),
            },
            required=["role", "decision"],
        ),
    ),
)
def review_access_request(
    request: HttpRequest, model_id: str, access_request_id: str
) -> dict[str, Any]:
    """A holder of ``role`` decides: ``{role, decision, comment}``."""
    actor, access_request = _load(request, model_id, access_request_id)
    body = read_json(request)
    role = body.get("role")
    if not isinstance(role, str) or not role:
        raise BadRequest("role is required")
    review = Review.objects.filter(access_request=access_request, role=role).first()
    if review is None:
        raise NotFound(
            f"This access request has no review for the role {role}",
            {"accessRequestId": access_request.pk, "role": role},
        )
    comment = body.get("comment")
    response = review_respond(
        actor=actor,
        review=review,
        decision=body.get("decision"),
        comment=comment if comment is not None else "",
    )
    return {"response": response_json(response)}


@router.get(
    "/model/{model_id}/access-request/{access_request_id}/permissions/mine",
    openapi_extra=documented(answer("permissions")),
)
def access_request_permissions(
    request: HttpRequest, model_id: str, access_request_id: str
) -> dict[str, Any]:
    """Whether the caller may edit or withdraw the request (Bailo's permission shape)."""
    actor, access_request = _load(request, model_id, access_request_id)
    may = access_request_may_change(actor, access_request)
    entry: dict[str, Any] = {"hasPermission": may}
    if not may:
        entry["info"] = (
            "Only the people named in this access request and the entry's owners may change it"
        )
    return {"permissions": {"editAccessRequest": entry, "deleteAccessRequest": dict(entry)}}


class SearchQuery(Schema):
    modelId: list[str] = []
    schemaId: str = ""


@router.get(
    "/access-requests/search",
    openapi_extra=documented(
        listing("accessRequests", ACCESS_REQUEST), query={"mine": {"type": "boolean"}}
    ),
)
def search_access_requests(request: HttpRequest, filters: Query[SearchQuery]) -> dict[str, Any]:
    """Access requests across the entries the caller can see; ``mine=true`` keeps those they
    made or are named in."""
    found = access_request_search(
        actor=Actor.from_request(request),
        model_ids=filters.modelId,
        schema_id=filters.schemaId,
        mine=bool(query_flag(request, "mine")),
    )
    return {"accessRequests": [access_request_json(ar) for ar in found]}
