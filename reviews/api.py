"""The v2 API for reviews and responses: Bailo's paths and JSON shapes (review roles:
``reviews.roles.api``).

Handlers parse the request, call one service or selector and serialise the answer. Entries load
through ``get_model_for``, so an unknown entry and one the caller may not see both answer 404.

``parentId`` of a response: a decision's is its review's ``_id``; a comment's is
``release:<n>`` for a release (releases have no public id of their own) or the access request's
id. ``GET /responses?parentIds[]=`` takes the same values.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Router

from core.api_helpers import documented, json_with_count, query_flag, read_json
from core.authentication import optional_api_auth
from core.errors import BadRequest
from core.openapi import TIMESTAMP, answer, array, component, listing, obj, string
from models_app.policy import (
    Action,
    Actor,
    Subject,
    TokenAction,
    allowed,
    check,
    check_token_action,
    get_model_for,
    visible_to,
)
from releases.selectors import release_get_visible
from reviews import selectors, services
from reviews.lifecycle import services as lifecycle
from reviews.models import Decision, Response, Review, ReviewKind

router = Router(tags=["review"])
# Bailo's v3 review routes, mounted under /api/v3 (bailo_site/api.py).
router_v3 = Router(tags=["review"])

RELEASE_PARENT_PREFIX = "release:"

RESPONSE = component(
    "Response",
    obj(
        {
            "id": string(),
            "_id": string(),
            "entity": string(),
            "kind": string(enum=["review", "comment"]),
            "parentId": string(),
            "comment": string(),
            "reactions": array(
                obj({"kind": string(), "users": array(string())}, required=["kind", "users"])
            ),
            "role": string(),
            "decision": string(enum=list(Decision.values)),
            "createdAt": TIMESTAMP,
            "updatedAt": TIMESTAMP,
            "commentEditedAt": TIMESTAMP,
        },
        required=["id", "entity", "kind", "parentId", "reactions"],
    ),
)
REVIEW = component(
    "Review",
    obj(
        {
            "id": string(),
            "_id": string(),
            "kind": string(),
            "modelId": string(),
            "role": string(),
            "status": {"description": "The latest decision, or null"},
            "responses": array(RESPONSE),
            "semver": string(),
            "accessRequestId": string(),
            "createdAt": TIMESTAMP,
            "updatedAt": TIMESTAMP,
        },
        required=["id", "kind", "modelId", "role", "responses"],
    ),
)
_REVIEW_QUERY: dict[str, Any] = {
    "modelId": string(),
    "semver": string(),
    "accessRequestId": string(),
    "kind": string(enum=list(ReviewKind.values)),
    "mine": {"type": "boolean", "description": "Reviews of roles the caller holds (default)"},
    "open": {"type": "boolean", "description": "Not yet answered by the caller"},
    "active": {"type": "boolean", "description": "The official client's name for open"},
}
_COUNT = {"x-count": {"type": "string", "pattern": "^[0-9]+$"}}
_REVIEW_QUERY_ERRORS = {400: "An unknown kind, or a flag that is not true or false"}
_DECISION_BODY = obj(
    {
        "role": string(minLength=1),
        "decision": string(enum=list(Decision.values)),
        "comment": string(),
    },
    required=["role", "decision"],
)
_COMMENT_BODY = obj({"comment": string(minLength=1)}, required=["comment"])


# --- reviews ------------------------------------------------------------------------------------


def _reviews_query(request: HttpRequest) -> QuerySet[Review]:
    """The reviews matching the request's filters, for the caller."""
    actor = Actor.from_request(request)
    check_token_action(actor, TokenAction.MODEL_READ)
    mine = query_flag(request, "mine")
    is_open = query_flag(request, "open")
    # The official client's name for it, refused when malformed even beside ``open``.
    active = query_flag(request, "active")
    if is_open is None:
        is_open = active
    qs = selectors.reviews_for_user(actor=actor, open=is_open, mine=True if mine is None else mine)
    model_id = request.GET.get("modelId")
    if model_id:
        qs = qs.filter(model_id=model_id)
    semver = request.GET.get("semver")
    if semver:
        qs = qs.filter(kind=ReviewKind.RELEASE, release__semver=semver.strip().lstrip("v"))
    access_request_id = request.GET.get("accessRequestId")
    if access_request_id:
        qs = qs.filter(access_request_id=access_request_id)
    kind = request.GET.get("kind")
    if kind:
        if kind not in ReviewKind.values:
            raise BadRequest(f"kind must be one of: {', '.join(ReviewKind.values)}", {"kind": kind})
        qs = qs.filter(kind=kind)
    return qs


@router.get(
    "/reviews",
    operation_id="getReviews",
    openapi_extra=documented(
        listing("reviews", REVIEW),
        _REVIEW_QUERY_ERRORS,
        query=_REVIEW_QUERY,
        response_headers=_COUNT,
    ),
)
def get_reviews(request: HttpRequest) -> HttpResponse:
    """Reviews matching ``modelId``, ``semver``, ``accessRequestId``, ``kind`` (release,
    access or lifecycle); ``mine`` (default true: reviews of roles you hold); ``open`` (true:
    not yet answered by you, or a lifecycle review not answered yet; false: answered; the
    official client sends it as ``active``). The count is also in the ``x-count`` header."""
    qs = _reviews_query(request)
    reviews = list(selectors.reviews_with_subjects(qs).order_by("-created_at"))
    return json_with_count({"reviews": selectors.reviews_json(reviews)}, len(reviews))


@router.api_operation(
    ["HEAD"],
    "/reviews",
    auth=optional_api_auth,
    operation_id="headReviews",
    openapi_extra=documented(
        None, _REVIEW_QUERY_ERRORS, query=_REVIEW_QUERY, response_headers=_COUNT
    ),
)
def head_reviews(request: HttpRequest) -> HttpResponse:
    """The count of ``GET /reviews`` in ``x-count`` (the navigation badge). Anonymous callers
    owe no reviews: their count is 0."""
    return json_with_count({}, _reviews_query(request).count())


def _review_of_release(request: HttpRequest, model_id: str, semver: str, role: Any) -> Review:
    actor = Actor.from_request(request)
    model = get_model_for(actor, model_id, Action.RELEASE_VIEW)
    if not isinstance(role, str) or not role:
        raise BadRequest("role is required: the short name of the review role you answer as")
    release = release_get_visible(actor=actor, model=model, semver=semver)
    review = (
        Review.objects.filter(release=release, role=role).select_related("model", "release").first()
    )
    if review is None:
        raise BadRequest(
            f"Release {release.semver} has no review for the role {role}",
            {"modelId": model.pk, "semver": release.semver, "role": role},
        )
    return review


def _respond(request: HttpRequest, review: Review, body: dict[str, Any]) -> dict[str, Any]:
    response = services.review_respond(
        actor=Actor.from_request(request),
        review=review,
        decision=body.get("decision"),
        comment=body.get("comment") or "",
    )
    fresh = selectors.reviews_with_subjects(Review.objects.filter(pk=review.pk)).get()
    return {"review": selectors.review_json(fresh), "response": selectors.response_json(response)}


@router.post(
    "/model/{model_id}/release/{semver}/review",
    operation_id="postReleaseReview",
    openapi_extra=documented(
        obj({"review": REVIEW, "response": RESPONSE}, required=["review", "response"]),
        {
            400: "role missing or not owed a review, an unknown decision, or changes "
            "requested without a comment",
            403: "The caller does not hold the role on the entry",
        },
        body=_DECISION_BODY,
    ),
)
def post_release_review(request: HttpRequest, model_id: str, semver: str) -> dict[str, Any]:
    """A holder of ``role`` on the entry answers the release's review: ``{role, decision,
    comment}`` with ``decision`` one of approve, request_changes (needs a comment) or undo."""
    body = read_json(request)
    review = _review_of_release(request, model_id, semver, body.get("role"))
    return _respond(request, review, body)


@router.post(
    "/model/{model_id}/release/{semver}/comment",
    operation_id="postReleaseComment",
    openapi_extra=documented(
        answer("response", RESPONSE), {400: "comment missing or empty"}, body=_COMMENT_BODY
    ),
)
def post_release_comment(request: HttpRequest, model_id: str, semver: str) -> dict[str, Any]:
    """Anyone who can view the release comments on it: ``{comment}``."""
    actor = Actor.from_request(request)
    model = get_model_for(actor, model_id, Action.RELEASE_VIEW)
    check(actor, Action.COMMENT_ADD, model)
    body = read_json(request)
    text = body.get("comment")
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("comment must not be empty")
    release = release_get_visible(actor=actor, model=model, semver=semver)
    response = services.comment_add(actor=actor, text=text, release=release)
    return {"response": selectors.response_json(response)}


# --- responses ----------------------------------------------------------------------------------


def _visible_response(actor: Actor, response_id: str) -> Response:
    return selectors.response_get_visible(actor, response_id)


@router.get(
    "/responses",
    operation_id="getResponses",
    openapi_extra=documented(
        listing("responses", RESPONSE),
        {400: "parentIds missing"},
        query={
            "parentIds": string(description="A review id, release:<n> or an access request id"),
            "mine": {"type": "boolean"},
        },
        repeatable=("parentIds",),
    ),
)
def get_responses(request: HttpRequest) -> dict[str, Any]:
    """Responses whose parent is one of ``parentIds[]`` (review ids, ``release:<n>`` or access
    request ids), oldest first; ``mine=true`` keeps your own."""
    actor = Actor.from_request(request)
    check_token_action(actor, TokenAction.MODEL_READ)
    parent_ids = request.GET.getlist("parentIds[]") + request.GET.getlist("parentIds")
    if not parent_ids:
        raise BadRequest("parentIds is required: review ids, release:<n> or access request ids")
    # isdigit() alone also accepts digits int() refuses, such as '³'.
    review_ids = [int(p) for p in parent_ids if p.isascii() and p.isdigit()]
    release_ids = [
        int(p[len(RELEASE_PARENT_PREFIX) :])
        for p in parent_ids
        if p.startswith(RELEASE_PARENT_PREFIX)
        and p.isascii()
        and p[len(RELEASE_PARENT_PREFIX) :].isdigit()
    ]
    request_ids = [p for p in parent_ids if not (p.isascii() and p.isdigit()) and ":" not in p]
    models = visible_to(actor)
    qs = Response.objects.filter(
        Q(review_id__in=review_ids, review__deleted_at__isnull=True, review__model__in=models)
        | Q(
            release_id__in=release_ids,
            release__deleted_at__isnull=True,
            release__model__in=models,
        )
        | Q(
            access_request_id__in=request_ids,
            access_request__deleted_at__isnull=True,
            access_request__model__in=models,
        )
    ).select_related("release__model")
    if query_flag(request, "mine"):
        qs = qs.filter(user=actor.user)
    # Comments on a draft release are for those who may see drafts (reviews never open on one).
    responses = [
        r
        for r in qs.order_by("created_at", "id")
        if r.release is None
        or not r.release.draft
        or allowed(actor, Action.RELEASE_VIEW_DRAFT, r.release.model)
    ]
    return {"responses": [selectors.response_json(r) for r in responses]}


@router.patch(
    "/response/{response_id}/reaction/{kind}",
    operation_id="patchResponseReaction",
    openapi_extra=documented(
        answer("response", RESPONSE),
        {400: "kind is not like, dislike, celebrate or heart"},
        path={"kind": string(enum=list(services.REACTION_KINDS))},
    ),
)
def patch_response_reaction(request: HttpRequest, response_id: str, kind: str) -> dict[str, Any]:
    """Toggle the caller's reaction (``like``, ``dislike``, ``celebrate`` or ``heart``)."""
    actor = Actor.from_request(request)
    response = _visible_response(actor, response_id)
    updated = services.response_react(actor=actor, response=response, kind=kind)
    return {"response": selectors.response_json(updated)}


@router.patch(
    "/response/{response_id}",
    operation_id="patchResponse",
    openapi_extra=documented(
        answer("response", RESPONSE),
        {400: "comment missing", 403: "Only the author changes a response"},
        body=obj({"comment": string()}, required=["comment"]),
    ),
)
def patch_response(request: HttpRequest, response_id: str) -> dict[str, Any]:
    """The author changes the comment of their comment or decision: ``{comment}``."""
    actor = Actor.from_request(request)
    response = _visible_response(actor, response_id)
    check_token_action(actor, TokenAction.MODEL_WRITE)
    body = read_json(request)
    if "comment" not in body:
        raise BadRequest("comment is required")
    updated = services.comment_edit(actor=actor, response=response, text=body.get("comment"))
    return {"response": selectors.response_json(updated)}


# --- v3 -----------------------------------------------------------------------------------------


_NOTIFIED = {
    "type": "object",
    "required": ["status"],
    "properties": {"status": {"type": "string"}, "notified": {"type": "integer", "minimum": 0}},
}


@router_v3.post(
    "/review/{review_id}/notify",
    operation_id="postNotifyReviewer",
    openapi_extra=documented(
        ("The role's holders were e-mailed", "application/json", _NOTIFIED),
        {
            400: "Not a review id",
            401: "Not signed in",
            403: "The caller is not an owner or contributor of the entry",
            404: "No such review, or not visible to the caller",
            409: "The review is already approved",
            429: "Asked about this review less than 30 seconds ago (see Retry-After)",
        },
    ),
)
def post_notify_reviewer(request: HttpRequest, review_id: str) -> dict[str, Any]:
    """Ask the holders of the review's role again to review (owners and contributors of the
    entry; once per person and review every 30 seconds). Nothing is written."""
    actor = Actor.from_request(request)
    review = selectors.review_get_visible(actor, review_id)
    sent = services.review_notify(actor=actor, review=review)
    return {"status": "OK", "notified": sent}


@router_v3.get(
    "/review/{review_id}/responses/latest",
    operation_id="getLatestResponse",
    openapi_extra=documented(
        (
            "The review's newest decision",
            "application/json",
            {
                "type": "object",
                "required": ["response"],
                "properties": {"response": RESPONSE},
            },
        ),
        {
            400: "Not a review id",
            401: "Not signed in",
            404: "No such review, not visible to the caller, or not answered yet",
        },
    ),
)
def get_latest_response(request: HttpRequest, review_id: str) -> dict[str, Any]:
    """The review's newest decision, for anyone who can see the review's release or access
    request (404 when nobody has answered yet)."""
    actor = Actor.from_request(request)
    check_token_action(actor, TokenAction.MODEL_READ)
    review = selectors.review_get_visible(actor, review_id)
    return {"response": selectors.response_json(selectors.response_latest(review))}


_REVIEW = {
    "type": "object",
    "required": ["review"],
    "properties": {"review": {"type": "object", "additionalProperties": True}},
}
_RESPONSE = {
    "type": "object",
    "required": ["response"],
    "properties": {"response": {"type": "object", "additionalProperties": True}},
}
_DUE_DATE = {
    "type": "string",
    "description": "A date (2027-01-31) or an ISO 8601 date-time",
    "examples": ["2027-01-31"],
}


@router_v3.post(
    "/review/{model_id}",
    operation_id="postReview",
    openapi_extra=documented(
        ("The lifecycle review that was opened", "application/json", _REVIEW),
        {
            400: "Not JSON, a kind other than lifecycle, a bad due date, or an open lifecycle "
            "review exists already",
            401: "Not signed in",
            403: "The caller is not an owner of the entry or an administrator",
            404: "No such entry, or not visible to the caller",
        },
        body={
            "type": "object",
            "required": ["kind", "dueDate"],
            "properties": {
                "kind": {"type": "string", "enum": list(ReviewKind.values)},
                "dueDate": _DUE_DATE,
            },
        },
    ),
)
def post_review(request: HttpRequest, model_id: str) -> dict[str, Any]:
    """Open the entry's lifecycle review of its model card, due on ``dueDate`` (owners and
    administrators; one open at a time; on or after 2000-01-01 and at most the configured maximum
    ahead). Release and access reviews open by themselves: ``kind`` release or access is 400."""
    actor = Actor.from_request(request)
    model = get_model_for(actor, model_id, Action.MODEL_VIEW)
    check(actor, Action.MODEL_EDIT_SETTINGS, model)
    body = read_json(request)
    kind = body.get("kind")
    if kind in (ReviewKind.RELEASE, ReviewKind.ACCESS):
        raise BadRequest(f"Creating a review of kind {kind} is not supported yet in V3")
    if kind != ReviewKind.LIFECYCLE:
        raise BadRequest("kind must be lifecycle", {"field": "kind"})
    review = lifecycle.lifecycle_review_create(
        actor=actor, model=model, due_date=body.get("dueDate")
    )
    fresh = selectors.reviews_with_subjects(Review.objects.filter(pk=review.pk)).get()
    return {"review": selectors.review_json(fresh)}


@router_v3.post(
    "/review/{review_id}/response",
    operation_id="postReviewResponse",
    openapi_extra=documented(
        ("The recorded response", "application/json", _RESPONSE),
        {
            400: "Not JSON, not a review id, a kind that does not match the review, a bad "
            "decision or due date, or request_changes without a comment",
            401: "Not signed in",
            403: "The caller does not hold the review's role on the entry",
            404: "No such review, or not visible to the caller",
            409: "The lifecycle review has been answered already",
        },
        body={
            "type": "object",
            "required": ["decision", "kind"],
            "properties": {
                "decision": {"type": "string", "enum": list(Decision.values)},
                "comment": {"type": "string"},
                "kind": {"type": "string", "enum": list(ReviewKind.values)},
                "dueDate": _DUE_DATE,
            },
        },
    ),
)
def post_review_response(request: HttpRequest, review_id: str) -> dict[str, Any]:
    """Answer a review as a holder of its literal role: for ``kind`` lifecycle (role owner),
    ``approve`` with the next ``dueDate`` (in the future, within the maximum), which opens the
    next review; for release and access reviews, a decision as in v2 (no ``dueDate``)."""
    actor = Actor.from_request(request)
    review = selectors.review_get_visible(actor, review_id)
    check(actor, Action.REVIEW_RESPOND, review.model, Subject(role=review.role))
    body = read_json(request)
    kind = body.get("kind")
    if kind not in ReviewKind.values:
        raise BadRequest(f"kind must be one of: {', '.join(ReviewKind.values)}", {"field": "kind"})
    if kind != review.kind:
        raise BadRequest(
            f"Review {review.pk} is a {review.kind} review, not {kind}", {"field": "kind"}
        )
    if review.kind == ReviewKind.LIFECYCLE:
        response = lifecycle.lifecycle_review_respond(
            actor=actor,
            review=review,
            decision=body.get("decision"),
            comment=body.get("comment") or "",
            due_date=body.get("dueDate"),
        )
    else:
        if body.get("dueDate") is not None:
            raise BadRequest("dueDate is only for lifecycle reviews", {"field": "dueDate"})
        response = services.review_respond(
            actor=actor,
            review=review,
            decision=body.get("decision"),
            comment=body.get("comment") or "",
        )
    return {"response": selectors.response_json(response)}
