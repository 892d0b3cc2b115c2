"""Marketplace search over the API: ``GET /models/search`` and ``GET /models/tags``.

Query parameters follow Bailo's: lists may repeat (``states=a&states=b``, what the official
client sends) or carry brackets (``states[]=a``, what browsers' query builders send). Bad values
give 400 in Bailo's error shape, never a 500.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from core.api_helpers import documented
from core.errors import BadRequest
from core.federation.service import peer_search_start
from core.openapi import TIMESTAMP, answer, array, component, obj, string
from core.ports.peers import PeerQuery
from models_app.listing_cache import public_tags
from models_app.policy import (
    Actor,
    TokenAction,
    check_token_action,
    require_admin,
    visible_split,
    visible_to,
)
from models_app.search import model_search_summaries
from models_app.selectors import popular_tags

router = Router(tags=["model"])

API_PAGE_SIZE = 100
API_MAX_PAGE_SIZE = 500


def _values(request: HttpRequest, name: str) -> list[str]:
    return request.GET.getlist(name) + request.GET.getlist(f"{name}[]")


def _flag(request: HttpRequest, name: str) -> bool | None:
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return None
    lowered = raw.lower()
    if lowered in {"true", "1"}:
        return True
    if lowered in {"false", "0"}:
        return False
    raise BadRequest(f"{name} must be true or false, got '{raw[:20]}'", {name: raw[:20]})


def _whole_number(request: HttpRequest, name: str, default: int) -> int:
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(
            f"{name} must be a whole number, got '{raw[:20]}'", {name: raw[:20]}
        ) from None


_SUMMARY = component(
    "ModelSummary",
    obj(
        {
            "id": string(),
            "name": string(),
            "description": string(),
            "tags": array(string()),
            "kind": string(),
            "visibility": string(enum=["public", "private"]),
            "organisation": string(),
            "state": string(),
            "collaborators": array(),
            "createdAt": TIMESTAMP,
            "updatedAt": TIMESTAMP,
            "peerId": string(description="The federated peer this row comes from"),
        },
        required=["id", "name", "kind"],
    ),
)
_SEARCH_QUERY: dict[str, Any] = {
    "search": string(),
    "titleOnly": {"type": "boolean"},
    "kind": string(),
    "organisations": string(),
    "states": string(),
    "libraries": string(),
    "task": string(),
    "filters": string(description="Roles the caller holds on the entry"),
    "schemaId": string(),
    "allowTemplating": {"type": "boolean"},
    "adminAccess": {"type": "boolean", "description": "Every entry (administrators)"},
    "peers": string(),
    "page": {"type": "integer", "minimum": 1},
    "pageSize": {"type": "integer", "minimum": 1, "maximum": API_MAX_PAGE_SIZE},
}
_REPEATABLE = ("kind", "organisations", "states", "libraries", "filters", "peers")


@router.get(
    "/models/search",
    summary="Search the entries you can see",
    openapi_extra=documented(
        obj(
            {
                "models": array(_SUMMARY),
                "errors": {"type": "object"},
                "totalEntries": {"type": "integer"},
                "page": {"type": "integer"},
                "pageSize": {"type": "integer"},
            },
            required=["models", "totalEntries"],
        ),
        {
            400: "A flag is not true or false, a page number is not a whole number, or a peer "
            "is not configured",
            403: "adminAccess without being an administrator",
        },
        query=_SEARCH_QUERY,
        repeatable=_REPEATABLE,
    ),
)
def search_models(request: HttpRequest) -> dict[str, Any]:
    """Entries visible to the caller, name matches first, then full-text matches.

    Paginated: ``page`` (from 1) and ``pageSize`` (default 100, at most 500); ``totalEntries``
    counts all pages.

    ``peers`` (repeatable) also searches those federated peers: their rows follow ours on the
    first page, each with ``peerId``, and a peer that fails is named in ``errors[peerId]``.
    """
    actor = Actor.from_request(request)
    check_token_action(actor, TokenAction.MODEL_READ)
    if _flag(request, "adminAccess"):
        require_admin(actor, what="search with adminAccess")
    tags = _values(request, "libraries")
    task = request.GET.get("task", "").strip()
    if task:
        tags.append(task)
    peer_ids = _values(request, "peers")
    page_number = _whole_number(request, "page", 1)
    # Peers are asked first and answer while the local search runs; only the first page carries
    # their results (they have no pages of their own).
    remote = (
        peer_search_start(
            user=actor.user.get_username(),
            query=PeerQuery(
                text=request.GET.get("search", ""),
                kinds=tuple(_values(request, "kind")),
                organisations=tuple(_values(request, "organisations")),
                states=tuple(_values(request, "states")),
                libraries=tuple(tags),
                filters=tuple(_values(request, "filters")),
            ),
            peer_ids=peer_ids,
        )
        if peer_ids and page_number == 1
        else None
    )
    page = model_search_summaries(
        actor=actor,
        text=request.GET.get("search", ""),
        title_only=bool(_flag(request, "titleOnly")),
        kinds=_values(request, "kind"),
        organisations=_values(request, "organisations"),
        states=_values(request, "states"),
        tags=tags,
        roles=_values(request, "filters"),
        schema_id=request.GET.get("schemaId") or None,
        allow_templating=_flag(request, "allowTemplating"),
        page=page_number,
        page_size=_whole_number(request, "pageSize", API_PAGE_SIZE),
        max_page_size=API_MAX_PAGE_SIZE,
    )
    models = page.models
    errors: dict[str, Any] = {}
    if remote is not None:
        found = remote.collect()
        models += found.rows
        errors = found.errors
    return {
        "models": models,
        "errors": errors,
        "totalEntries": page.total,
        "page": page.page,
        "pageSize": page.page_size,
    }


@router.get(
    "/models/tags",
    summary="The ten most used tags on public entries",
    openapi_extra=documented(answer("tags", array(string()))),
)
def popular_model_tags(request: HttpRequest) -> dict[str, Any]:
    """Bailo's popular tags are the same for everyone: here those of live public entries, from
    the marketplace's cache (``listing_cache``) instead of a count over every entry the caller
    can see. A token counts only the entries it may see (a token limited to chosen models
    learns nothing about the others)."""
    actor = Actor.from_request(request)
    check_token_action(actor, TokenAction.MODEL_READ)
    if visible_split(actor) is not None:
        return {"tags": public_tags()}
    return {"tags": popular_tags(visible_to(actor))}
