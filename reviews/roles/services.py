"""Review roles: administrators create, edit and delete them; schemas name them.

A role's ``default_entities`` become holders of the role on every entry whose current card uses a
schema naming the role (added, never removed: an owner may have chosen them on purpose).
Deleting a role removes it everywhere in one transaction: from schemas, from collaborator rows and
the reviews it was owed (removed with their decisions, since nobody could answer them any more).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet

from core.audit import AuditAction, audit_record
from core.entities import parse_entity
from core.errors import BadRequest, Conflict, NotFound
from core.hooks import Hook
from models_app.listing_cache import entries_changed
from models_app.models import Collaborator, Model, ModelCardRevision, Schema, SystemRole
from models_app.policy import Actor, TokenAction, require_admin
from models_app.roles import ReviewRoleInfo
from releases.models import Release
from reviews.badge import reviews_changed
from reviews.models import Review, ReviewRole
from reviews.services import reviews_open_for_release

# "new" would clash with the page that creates a role (/administration/review-roles/new).
RESERVED_SHORT_NAMES = frozenset({"new"})
SHORT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,49}$")
# Fields a client may send that carry nothing here: Bailo's ``kind`` is always "review", and
# review roles grant no system role in this project.
IGNORED_FIELDS = frozenset({"kind", "systemRole", "id", "_id", "createdAt", "updatedAt"})
EDITABLE_FIELDS = frozenset({"name", "description", "defaultEntities", "lockEntities"})


def review_role_json(role: ReviewRole) -> dict[str, Any]:
    """A review role as Bailo's API gives it."""
    return {
        "id": role.short_name,
        "_id": str(role.pk),
        "name": role.name,
        "shortName": role.short_name,
        "kind": "review",
        "description": role.description,
        "defaultEntities": list(role.default_entities),
        "lockEntities": role.lock_entities,
        "systemRole": "",
        "createdAt": role.created_at.isoformat().replace("+00:00", "Z"),
        "updatedAt": role.updated_at.isoformat().replace("+00:00", "Z"),
    }


def review_role_infos() -> list[ReviewRoleInfo]:
    """``models_app.roles.REVIEW_ROLE_SOURCES`` entry: the roles the entries layer may name."""
    return [
        ReviewRoleInfo(short_name, name, description)
        for short_name, name, description in ReviewRole.objects.values_list(
            "short_name", "name", "description"
        )
    ]


def review_role_list(*, schema_id: str | None = None) -> QuerySet[ReviewRole]:
    """Every review role, or those a schema names (unknown schema: 404)."""
    roles = ReviewRole.objects.order_by("short_name")
    if schema_id:
        schema = Schema.objects.filter(pk=schema_id).first()
        if schema is None:
            raise NotFound(f"Schema {schema_id} not found", {"schemaId": schema_id})
        roles = roles.filter(short_name__in=list(schema.review_roles))
    return roles


def review_role_get(short_name: str) -> ReviewRole:
    role = ReviewRole.objects.filter(short_name=short_name).first()
    if role is None:
        raise NotFound(f"Review role {short_name} not found", {"shortName": short_name})
    return role


# --- input checks -------------------------------------------------------------------------------


def _clean_text(value: Any, name: str, *, required: bool, limit: int) -> str:
    if value is None:
        if required:
            raise BadRequest(f"{name} is required")
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be text")
    value = value.strip()
    if required and not value:
        raise BadRequest(f"{name} is required")
    if len(value) > limit:
        raise BadRequest(f"{name} must be at most {limit:,} characters")
    return value


def _clean_entities(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest("defaultEntities must be a list such as ['user:alice', 'group:reviewers']")
    result: list[str] = []
    for raw in value:
        entity = raw.strip()
        try:
            parse_entity(entity)
        except ValueError as exc:
            raise BadRequest(f"defaultEntities: {exc}", {"entity": raw}) from exc
        if entity not in result:
            result.append(entity)
    return result


def _clean_flag(value: Any, name: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise BadRequest(f"{name} must be true or false")
    return value


def _check_fields(body: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(body) - allowed - IGNORED_FIELDS)
    if unknown:
        raise BadRequest(f"Unknown or read-only field(s): {', '.join(unknown)}")


# --- default entities and back-filling ----------------------------------------------------------


def _entries_using(schema_ids: list[str]) -> QuerySet[Model]:
    """Live entries whose current card follows one of these schemas."""
    return Model.objects.filter(card__schema_id__in=schema_ids)


def _add_default_entities(role: ReviewRole, models: QuerySet[Model]) -> int:
    """Make the role's default entities holders of it on ``models``; returns rows added."""
    if not role.default_entities:
        return 0
    rows = [
        Collaborator(model_id=model_id, entity=entity, role=role.short_name)
        for model_id in models.values_list("pk", flat=True)
        for entity in role.default_entities
    ]
    before = Collaborator.objects.filter(role=role.short_name).count()
    Collaborator.objects.bulk_create(rows, ignore_conflicts=True)
    added = Collaborator.objects.filter(role=role.short_name).count() - before
    if added:
        entries_changed()  # a role makes private entries visible to its holders
    return added


def default_entities_apply(model: Model) -> int:
    """Give an entry the default holders of its card schema's roles (for when an entry first
    takes a card, or moves to another schema). Returns how many assignments were added."""
    card = ModelCardRevision.objects.filter(pk=model.card_id).select_related("schema").first()
    if card is None:
        return 0
    entries = Model.objects.filter(pk=model.pk)
    return sum(
        _add_default_entities(role, entries)
        for role in ReviewRole.objects.filter(short_name__in=list(card.schema.review_roles))
    )


# Other subjects of reviews open the reviews a schema's roles now owe them: the access-requests
# feature registers its open requests here (access/apps.py). Each is called as
# ``(schema, also_owed)`` and returns the reviews it opened; ``also_owed`` names roles just
# defined, which the subject owed (without a review) before they were.
SCHEMA_BACKFILLS: Hook[Callable[[Schema, Collection[str]], list[Review]]] = Hook(
    "reviews owed after a schema change"
)


def reviews_backfill_for_schema(schema: Schema, also_owed: Collection[str] = ()) -> list[Review]:
    """Open the reviews a schema's roles now owe, after its roles changed or one of them was
    defined. Safe to call again.

    - published releases (not minor, not draft, live) whose card version follows the schema;
    - for an access-request schema, the access requests it governs, through ``SCHEMA_BACKFILLS``
      (open ones only: an approval already given is not taken back by a schema change; a request
      that waited for a role in ``also_owed`` was not approved, so it gets that role's review);
    - the roles' default entities join the entries whose current card follows the schema.
    Runs in the caller's transaction; e-mails to the new reviews' holders leave after commit.
    """
    created: list[Review] = []
    with transaction.atomic():
        entries = _entries_using([schema.pk])
        for role in ReviewRole.objects.filter(short_name__in=list(schema.review_roles)):
            _add_default_entities(role, entries)
        if schema.kind == "accessRequest":
            for open_reviews in SCHEMA_BACKFILLS:
                created += open_reviews(schema, also_owed)
        else:
            card_follows_schema = ModelCardRevision.all_objects.filter(
                model_id=OuterRef("model_id"),
                version=OuterRef("model_card_version"),
                mirrored=False,
                schema=schema,
            )
            releases = Release.objects.filter(
                Exists(card_follows_schema),
                is_minor=False,
                draft=False,
                deleted_at__isnull=True,
                model__deleted_at__isnull=True,
            )
            for release in releases:
                created += reviews_open_for_release(release)
    return created


# --- create, update, delete ---------------------------------------------------------------------


def _schemas_naming(short_name: str) -> list[Schema]:
    # review_roles is a JSON list; few schemas exist, so filtering in Python works on every
    # database.
    return [s for s in Schema.objects.order_by("pk") if short_name in (s.review_roles or [])]


def review_role_create(*, actor: Actor, body: Any) -> ReviewRole:
    """Create a review role (administrators). ``shortName`` (Bailo also sent ``short``) and
    ``name`` are required and unique."""
    require_admin(actor, TokenAction.REVIEW_ROLE_WRITE)
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object")
    body = dict(body)
    if "shortName" not in body and "short" in body:
        body["shortName"] = body.pop("short")
    _check_fields(body, EDITABLE_FIELDS | {"shortName"})
    short_name = body.get("shortName")
    if not isinstance(short_name, str) or not SHORT_NAME.match(short_name.strip()):
        raise BadRequest(
            "shortName is required: up to 50 letters, digits, '-' or '_', starting with a "
            "letter or digit",
            {"shortName": short_name if isinstance(short_name, str) else None},
        )
    short_name = short_name.strip()
    if short_name in SystemRole.values:
        raise BadRequest(f"{short_name} is a system role name", {"shortName": short_name})
    if short_name in RESERVED_SHORT_NAMES:
        raise BadRequest(f"{short_name} is reserved; choose another", {"shortName": short_name})
    name = _clean_text(body.get("name"), "name", required=True, limit=200)
    values = {
        "description": _clean_text(
            body.get("description"), "description", required=False, limit=5000
        ),
        "default_entities": _clean_entities(body.get("defaultEntities")),
        "lock_entities": _clean_flag(body.get("lockEntities"), "lockEntities"),
    }
    if ReviewRole.objects.filter(short_name=short_name).exists():
        raise Conflict(f"A review role {short_name} already exists", {"shortName": short_name})
    if ReviewRole.objects.filter(name__iexact=name).exists():
        raise Conflict(f"A review role named “{name}” already exists", {"name": name})
    try:
        with transaction.atomic():
            role = ReviewRole.objects.create(short_name=short_name, name=name, **values)
            audit_record(
                action=AuditAction.REVIEW_ROLE_CREATE, actor=actor.user, subject=short_name
            )
            # Schemas may already name the role (as Bailo allows): the releases and access
            # requests they govern owe its review from now on, and its default holders join.
            for schema in _schemas_naming(short_name):
                reviews_backfill_for_schema(schema, also_owed=(short_name,))
            return role
    except IntegrityError as exc:  # a concurrent create of the same role
        raise Conflict(f"A review role {short_name} already exists") from exc


def review_role_update(*, actor: Actor, role: ReviewRole, body: Any) -> ReviewRole:
    """Change a role's name, description, default entities or lock (short names never change).
    New default entities join the entries that already use the role's schemas."""
    require_admin(actor, TokenAction.REVIEW_ROLE_WRITE)
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object")
    if "shortName" in body and body["shortName"] != role.short_name:
        raise BadRequest("shortName cannot change", {"shortName": role.short_name})
    body = {k: v for k, v in body.items() if k != "shortName"}
    _check_fields(body, EDITABLE_FIELDS)
    if "name" in body:
        name = _clean_text(body["name"], "name", required=True, limit=200)
        if ReviewRole.objects.filter(name__iexact=name).exclude(pk=role.pk).exists():
            raise Conflict(f"A review role named “{name}” already exists", {"name": name})
        role.name = name
    if "description" in body:
        role.description = _clean_text(
            body["description"], "description", required=False, limit=5000
        )
    if "defaultEntities" in body:
        role.default_entities = _clean_entities(body["defaultEntities"])
    if "lockEntities" in body:
        role.lock_entities = _clean_flag(body["lockEntities"], "lockEntities")
    with transaction.atomic():
        role.save()
        audit_record(
            action=AuditAction.REVIEW_ROLE_UPDATE,
            actor=actor.user,
            subject=role.short_name,
            detail={"fields": sorted(body)},
        )
        if "defaultEntities" in body:
            schema_ids = [
                s.pk for s in Schema.objects.all() if role.short_name in (s.review_roles or [])
            ]
            _add_default_entities(role, _entries_using(schema_ids))
    return role


def review_role_delete(*, actor: Actor, role: ReviewRole) -> dict[str, int]:
    """Delete a role and every trace of it, in one transaction: schemas stop naming it,
    collaborator rows holding it go, and its reviews are removed. Returns the counts."""
    require_admin(actor, TokenAction.REVIEW_ROLE_WRITE)
    short_name = role.short_name
    with transaction.atomic():
        # Lock the schemas that name the role so a concurrent schema edit cannot put it back.
        schemas = [
            s
            for s in Schema.objects.select_for_update().order_by("pk")
            if short_name in (s.review_roles or [])
        ]
        for schema in schemas:
            schema.review_roles = [r for r in schema.review_roles if r != short_name]
            schema.save(update_fields=["review_roles", "updated_at"])
        collaborators, _ = Collaborator.objects.filter(role=short_name).delete()
        if collaborators:
            entries_changed()  # its holders may no longer see some private entries
        # Removed, not soft-deleted: nobody can answer them any more, and a soft-deleted row must
        # belong to a Deletion (which covers files, releases, images and models only). The
        # decisions stay in the audit log.
        reviews = Review.all_objects.filter(role=short_name).count()
        Review.all_objects.filter(role=short_name).delete()
        reviews_changed()
        role.delete()
    audit_record(
        action=AuditAction.REVIEW_ROLE_DELETE,
        actor=actor.user,
        subject=role.short_name,
        detail={"schemas": len(schemas), "collaborators": collaborators, "reviews": reviews},
    )
    return {"schemas": len(schemas), "collaborators": collaborators, "reviews": reviews}
