"""The v2 API for entries and their cards: Bailo's paths and JSON shapes.

Handlers parse the request, call one service or selector and serialise the answer. Entries load
through ``get_model_for`` so an unknown entry and one the caller may not see both answer 404.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import Router

from core.api_helpers import documented, query_flag, read_json
from core.entities import entity_search
from core.errors import BadRequest, NotFound, invalid
from core.openapi import TIMESTAMP, answer, array, component, listing, obj, string
from models_app.card_export import EXPORT_CSP, card_html
from models_app.card_import import card_import_text
from models_app.models import EntryKind, Model, SchemaMigration
from models_app.policy import Action, Actor, get_model_for, permissions_mine
from models_app.roles import ReviewRoleInfo, review_roles
from models_app.selectors import card_json, card_revision, card_revisions, model_get_detailed
from models_app.selectors import model_json as _model_json
from models_app.services import (
    card_from_schema,
    card_from_template,
    card_update,
    model_create,
    model_update,
    schema_migration_apply,
)

router = Router(tags=["model"])

# The role list offered when choosing collaborators. Names come from the UI configuration.
SYSTEM_ROLE_DESCRIPTIONS = {
    "consumer": "Can see the entry (even a private one) and ask for access to its artefacts.",
    "contributor": "Can edit the card, upload files, push images and create releases.",
    "owner": "Can do everything, including managing collaborators, settings and deletion.",
}
ENTITY_QUERY_MIN_LENGTH = 3
ENTITY_QUERY_MAX_LENGTH = 100
# Every kind Bailo's client may name. Kinds this instance does not have (untrusted models,
# mirrored data cards) are valid to ask for; no entry is of them, so they match nothing.
BAILO_ENTRY_KINDS = (*EntryKind.values, "untrusted-model", "mirrored-data-card")
ENTITY_QUERY_LIMIT = 20


# --- what the OpenAPI document says about the bodies ---------------------------------------------

_COLLABORATORS = array(
    obj(
        {"entity": string(pattern="^(user|group):.+$"), "roles": array(string())},
        required=["entity", "roles"],
    )
)
_SETTINGS = obj(
    {
        "ungovernedAccess": {"type": "boolean"},
        "allowTemplating": {"type": "boolean"},
        "mirror": obj(
            {
                "sourceModelId": {"type": ["string", "null"]},
                "destinationModelId": {"type": ["string", "null"]},
            }
        ),
    }
)
_ENTRY_FIELDS: dict[str, Any] = {
    "name": string(minLength=1),
    "description": string(minLength=1),
    "visibility": string(enum=["public", "private"]),
    "organisation": string(description="One of the configured organisations, or empty"),
    "state": string(description="One of the configured states, or empty"),
    "tags": array(string()),
    "collaborators": _COLLABORATORS,
    "settings": _SETTINGS,
}
_ENTRY_BODY = obj(
    {**_ENTRY_FIELDS, "kind": string(enum=list(EntryKind.values))}, required=["name", "description"]
)
_ENTRY_CHANGES = {
    **obj({**_ENTRY_FIELDS, "kind": string(description="Must be the entry's own kind")}),
    "additionalProperties": False,
}
CARD = component(
    "ModelCard",
    obj(
        {
            "modelId": string(),
            "schemaId": string(),
            "version": {"type": "integer", "minimum": 1},
            "metadata": {"type": "object"},
            "mirrored": {"type": "boolean"},
            "createdBy": string(),
            "createdAt": TIMESTAMP,
            "updatedAt": TIMESTAMP,
        },
        required=["modelId", "schemaId", "version", "metadata"],
    ),
)
MODEL = component(
    "Model",
    obj(
        {
            **_ENTRY_FIELDS,
            "id": string(),
            "kind": string(enum=list(EntryKind.values)),
            "description": string(),
            "card": CARD,
            # Mirrored models only: the latest imported card (``card`` is then the local one).
            "mirroredCard": CARD,
            "createdBy": string(),
            "createdAt": TIMESTAMP,
            "updatedAt": TIMESTAMP,
            "deleted": {"type": "boolean"},
        },
        required=["id", "name", "kind", "visibility", "collaborators", "settings"],
    ),
)
_MODEL = answer("model", MODEL)
_CARD = answer("card", CARD)
_VERSION_ERRORS = {400: "version is neither a positive integer nor latest"}
_VERSION = {"version": string(pattern="^(latest|[1-9][0-9]*)$")}


# --- request helpers --------------------------------------------------------------------------


def model_json(model: Model) -> dict[str, Any]:
    """The entry with its collaborators, tags and card, loaded in a fixed number of queries."""
    detailed = model_get_detailed(model.pk)
    if detailed is None:  # pragma: no cover - the entry was loaded a moment ago
        raise NotFound(f"Model {model.pk} not found", {"modelId": model.pk})
    return _model_json(detailed)


def _parse_version(version: str) -> int | None:
    """``latest`` gives None; otherwise a positive integer."""
    if version == "latest":
        return None
    if not (version.isascii() and version.isdigit()) or int(version) < 1:
        raise BadRequest("version must be a positive integer or 'latest'", {"version": version})
    return int(version)


# --- entries ----------------------------------------------------------------------------------


@router.post(
    "/models",
    openapi_extra=documented(
        _MODEL,
        {
            400: "A field is missing or invalid, or a mirrored model is asked for while importing "
            "is not enabled (MIRROR_IMPORT_ENABLED) or without settings.mirror.sourceModelId"
        },
        body=_ENTRY_BODY,
    ),
)
def create_model(request: HttpRequest) -> dict[str, Any]:
    """Create an entry (model, data card or mirrored model); the caller becomes an owner."""
    body = read_json(request)
    model = model_create(
        actor=Actor.from_request(request),
        name=body.get("name"),
        description=body.get("description"),
        kind=body.get("kind", EntryKind.MODEL),
        visibility=body.get("visibility", "public"),
        organisation=body.get("organisation", ""),
        state=body.get("state", ""),
        tags=body.get("tags"),
        collaborators=body.get("collaborators"),
        settings_=body.get("settings"),
    )
    # A new entry comes back with its collaborators and tags, and has no card yet: no re-read.
    return {"model": _model_json(model)}


@router.get(
    "/model/{model_id}",
    openapi_extra=documented(
        _MODEL,
        {400: "An unknown kind", 404: "No such entry, not visible, or not of a kind named"},
        query={"kind": string(enum=list(BAILO_ENTRY_KINDS))},
        repeatable=("kind",),
    ),
)
def get_model(request: HttpRequest, model_id: str) -> dict[str, Any]:
    """``kind`` (repeatable) answers 404 unless the entry is of one of the kinds named."""
    kinds = request.GET.getlist("kind") + request.GET.getlist("kind[]")
    unknown = [kind for kind in kinds if kind not in BAILO_ENTRY_KINDS]
    if unknown:
        raise BadRequest(
            f"Unknown kind '{unknown[0][:50]}': use one of {', '.join(BAILO_ENTRY_KINDS)}",
            {"kind": unknown[0][:50]},
        )
    model = get_model_for(Actor.from_request(request), model_id, kinds=kinds)
    return {"model": model_json(model)}


@router.patch(
    "/model/{model_id}",
    openapi_extra=documented(
        _MODEL,
        {
            400: "An unknown or invalid field, the card lacks what the new state requires, or a "
            "mirrored model's settings.mirror.sourceModelId is changed after its first import"
        },
        body=_ENTRY_CHANGES,
    ),
)
def patch_model(request: HttpRequest, model_id: str) -> dict[str, Any]:
    """Change details, visibility, state, tags, collaborators or settings."""
    actor = Actor.from_request(request)
    model = get_model_for(actor, model_id, Action.MODEL_EDIT_SETTINGS)
    changes = read_json(request)
    updated = model_update(actor=actor, model=model, changes=changes)
    return {"model": model_json(updated)}


@router.get("/model/{model_id}/permissions/mine", openapi_extra=documented(answer("permissions")))
def my_permissions(request: HttpRequest, model_id: str) -> dict[str, Any]:
    actor = Actor.from_request(request)
    model = get_model_for(actor, model_id)
    return {"permissions": permissions_mine(actor, model)}


# --- cards ------------------------------------------------------------------------------------


@router.get(
    "/model/{model_id}/model-card/{version}",
    openapi_extra=documented(
        answer("modelCard", CARD),
        _VERSION_ERRORS,
        query={"mirrored": {"type": "boolean"}},
        path=_VERSION,
    ),
)
def get_model_card(request: HttpRequest, model_id: str, version: str) -> dict[str, Any]:
    """One revision of the card; ``latest`` is the current one. ``?mirrored=true`` reads the
    card imported from a mirror source."""
    model = get_model_for(Actor.from_request(request), model_id)
    wanted = _parse_version(version)
    mirrored = bool(query_flag(request, "mirrored"))
    if not mirrored and wanted is None:
        # "latest" is the revision the entry points at.
        wanted = model.card.version if model.card else 0
    revision = card_revision(model, wanted, mirrored=mirrored)
    if revision is None:
        raise NotFound(
            f"Model {model_id} has no card version {version}",
            {"modelId": model_id, "version": version},
        )
    return {"modelCard": card_json(revision, model.pk)}


@router.get(
    "/model/{model_id}/model-card/{version}/html",
    openapi_extra=documented(
        ("A printable, self-contained HTML page of the card", "text/html", {"type": "string"}),
        {
            400: "version is neither a positive integer nor latest",
            401: "Not signed in",
            404: "No such entry, card or version, or the entry is not visible to the caller",
        },
        path=_VERSION,
    ),
)
def get_model_card_html(request: HttpRequest, model_id: str, version: str) -> HttpResponse:
    """One revision of the card (``latest``: the current one) as a printable, self-contained
    HTML page: entry, state, review-role holders, then every question by its title."""
    model = get_model_for(Actor.from_request(request), model_id)
    wanted = _parse_version(version)
    if wanted is None:
        wanted = model.card.version if model.card else 0
    revision = card_revision(model, wanted)
    if revision is None:
        raise NotFound(
            f"Model {model_id} has no card version {version}",
            {"modelId": model_id, "version": version},
        )
    html = card_html(model=model, revision=revision, exported_by=request.user.get_username())
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = EXPORT_CSP
    return response


@router.post(
    "/model/{model_id}/import-model-card-text",
    openapi_extra=documented(
        (
            "Suggested answers (nested like the card) and what was left out; nothing is saved",
            "application/json",
            {
                "type": "object",
                "required": ["metadata", "warnings"],
                "properties": {
                    "metadata": {"type": "object", "additionalProperties": True},
                    "warnings": {"type": "array", "items": {"type": "string"}},
                },
            },
        ),
        {
            400: "text missing, blank or too long, or the entry has no card",
            401: "Not signed in",
            403: "The caller may see the entry but not edit its card",
            404: "No such entry, or the entry is not visible to the caller",
            502: "The language model answered with an error or not with a JSON object",
            503: "The language model could not be reached or did not answer in time",
        },
        body={
            "type": "object",
            "required": ["text"],
            "properties": {"text": {"type": "string", "minLength": 1}},
        },
    ),
)
def import_model_card_text(request: HttpRequest, model_id: str) -> dict[str, Any]:
    """Suggested answers for the card from free text (``{text}``): ``{metadata, warnings}``.
    Nothing is saved; the caller reviews the answers and saves them with ``PUT model-cards``."""
    actor = Actor.from_request(request)
    # The permission is checked before the body, so a refusal never depends on the input.
    model = get_model_for(actor, model_id, Action.MODEL_EDIT_CARD)
    body = read_json(request)
    result = card_import_text(actor=actor, model=model, text=body.get("text"))
    return {"metadata": result.metadata, "warnings": result.warnings}


@router.get(
    "/model/{model_id}/model-card-revisions",
    openapi_extra=documented(listing("modelCardRevisions", CARD)),
)
def list_model_card_revisions(request: HttpRequest, model_id: str) -> dict[str, Any]:
    model = get_model_for(Actor.from_request(request), model_id)
    return {"modelCardRevisions": [card_json(r, model.pk) for r in card_revisions(model)]}


@router.put(
    "/model/{model_id}/model-cards",
    openapi_extra=documented(
        _CARD,
        {
            400: "The entry has no card (a mirrored model: nothing imported yet), or the answers "
            "do not satisfy its schema"
        },
        body=obj(
            {"metadata": {"type": "object", "description": "The answers, nested like the card"}},
            required=["metadata"],
        ),
    ),
)
def put_model_card(request: HttpRequest, model_id: str) -> dict[str, Any]:
    """Save new answers as the next revision, validated against the card's schema. On a mirrored
    model this is the additional information (the local card); the imported card is read-only."""
    actor = Actor.from_request(request)
    # The permission is checked before the body, so a refusal never depends on the input.
    model = get_model_for(actor, model_id, Action.MODEL_EDIT_CARD)
    body = read_json(request)
    revision = card_update(actor=actor, model=model, metadata=body.get("metadata"))
    return {"card": card_json(revision, model.pk)}


@router.post(
    "/model/{model_id}/setup/from-schema",
    openapi_extra=documented(
        _CARD,
        {400: "No such schema, not a model-card schema, or the entry already has a card"},
        body=obj({"schemaId": string(minLength=1)}, required=["schemaId"]),
    ),
)
def setup_from_schema(request: HttpRequest, model_id: str) -> dict[str, Any]:
    actor = Actor.from_request(request)
    # The permission is checked before the body, so a refusal never depends on the input.
    model = get_model_for(actor, model_id, Action.MODEL_EDIT_CARD)
    body = read_json(request)
    revision = card_from_schema(actor=actor, model=model, schema_id=body.get("schemaId"))
    return {"card": card_json(revision, model.pk)}


@router.post(
    "/model/{model_id}/setup/from-template",
    openapi_extra=documented(
        _CARD,
        {400: "No such template entry, or it does not allow templating"},
        body=obj({"templateId": string(minLength=1)}, required=["templateId"]),
    ),
)
def setup_from_template(request: HttpRequest, model_id: str) -> dict[str, Any]:
    actor = Actor.from_request(request)
    # The permission is checked before the body, so a refusal never depends on the input.
    model = get_model_for(actor, model_id, Action.MODEL_EDIT_CARD)
    body = read_json(request)
    revision = card_from_template(actor=actor, model=model, template_id=body.get("templateId"))
    return {"card": card_json(revision, model.pk)}


@router.post(
    "/model/{model_id}/migrate-schema/{migration_id}",
    openapi_extra=documented(
        obj({"response": string(), "card": CARD}, required=["response", "card"]),
        {400: "The plan is a draft, or does not start from the card's schema"},
        body=obj(),
    ),
)
def migrate_schema(request: HttpRequest, model_id: str, migration_id: str) -> dict[str, Any]:
    """Move the card to another schema with a final migration plan."""
    actor = Actor.from_request(request)
    # Check the permission before saying whether the plan exists.
    model = get_model_for(actor, model_id, Action.MODEL_EDIT_SETTINGS)
    read_json(request)  # Bailo accepts an optional empty object; anything else is refused
    migration = SchemaMigration.objects.filter(pk=migration_id).first()
    if migration is None:
        raise NotFound(f"Schema migration {migration_id} not found", {"migrationId": migration_id})
    revision = schema_migration_apply(actor=actor, model=model, migration=migration)
    return {
        "response": "Successfully migrated model schema",
        "card": card_json(revision, model.pk),
    }


# --- roles and entities -----------------------------------------------------------------------


def _review_roles_for(model: Model | None) -> list[ReviewRoleInfo]:
    """The review roles of the entry's card schema (every role before a card exists)."""
    roles = review_roles()
    if model is not None and model.card is not None:
        wanted = set(model.card.schema.review_roles)
        return [r for r in roles if r.short_name in wanted]
    return roles


@router.get(
    "/roles",
    openapi_extra=documented(
        listing("roles"),
        {404: "modelId names no entry the caller can see"},
        query={"modelId": string()},
    ),
)
def list_roles(request: HttpRequest) -> dict[str, Any]:
    """Roles that collaborators can hold: review roles first, then the system roles.

    With ``modelId`` and a card, the review roles are those of the card's schema (as Bailo);
    otherwise every review role, since any of them may be assigned.
    """
    model_id = request.GET.get("modelId")
    model = get_model_for(Actor.from_request(request), model_id) if model_id else None
    names = settings.BAILO_UI.get("roleDisplayNames", {})
    roles: list[dict[str, Any]] = [
        {
            "id": role.short_name,
            "shortName": role.short_name,
            "name": role.name,
            "kind": "review",
            "description": role.description,
        }
        for role in _review_roles_for(model)
    ]
    roles.extend(
        {
            "id": short_name,
            "shortName": short_name,
            "name": names.get(short_name, short_name.title()),
            "kind": "system",
            "description": description,
        }
        for short_name, description in SYSTEM_ROLE_DESCRIPTIONS.items()
    )
    return {"roles": roles}


@router.get(
    "/entities",
    openapi_extra=documented(
        listing(
            "results",
            obj(
                {"kind": string(enum=["user", "group"]), "id": string(), "name": string()},
                required=["kind", "id"],
            ),
        ),
        {400: f"q is longer than {ENTITY_QUERY_MAX_LENGTH} characters"},
    ),
)
def search_entities(request: HttpRequest, q: str) -> dict[str, Any]:
    """Users and groups whose name contains ``q`` (at least three characters, as Bailo), at most
    ``ENTITY_QUERY_LIMIT`` of each. Each result is Bailo's ``{kind, id}`` plus ``name``, the
    display name the person picker shows (Bailo's own UI looks each one up instead)."""
    q = q.strip()
    if len(q) > ENTITY_QUERY_MAX_LENGTH:
        raise invalid("q", f"The query is longer than {ENTITY_QUERY_MAX_LENGTH} characters")
    if len(q) < ENTITY_QUERY_MIN_LENGTH:
        return {"results": []}
    return {
        "results": [
            {"kind": kind, "id": name, "name": display}
            for kind, name, display in entity_search(q, ENTITY_QUERY_LIMIT)
        ]
    }
