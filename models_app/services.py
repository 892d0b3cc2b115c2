"""Writes for entries, cards, collaborators, schemas and schema migrations.

Every service takes the acting ``Actor`` and checks the policy itself, so the UI and the API share
one authorisation path. Each multi-row write is one transaction.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet

from core.audit import AuditAction, audit_event, audit_record
from core.bad_input import has_control_characters
from core.entities import parse_entity, user_entity
from core.errors import BadRequest, Conflict, Forbidden, NotFound
from core.hooks import Hook
from core.inserts import insert_rows
from models_app.ids import new_entry_id, slugify_name
from models_app.listing_cache import entries_changed
from models_app.models import (
    Collaborator,
    EntryKind,
    Model,
    ModelCardRevision,
    ModelTag,
    Schema,
    SchemaKind,
    SchemaMigration,
    SystemRole,
    Visibility,
)
from models_app.policy import (
    Action,
    Actor,
    TokenAction,
    check,
    check_token_action,
    require_admin,
    visible_to,
)
from models_app.roles import REVIEW_ROLE_NAME, known_roles
from models_app.schema_validation import (
    check_json_schema,
    iter_questions,
    state_refusal,
    validate_metadata,
    validation_errors,
)
from models_app.selectors import (
    has_mirrored_revisions,
    latest_mirrored_revision,
    mirrored_schema_differs,
)

# Tags are for finding entries in the marketplace; more than this is a mistake or abuse.
MAX_TAGS = 100
# The length of ``Model.mirror_source_model_id`` / ``mirror_destination_model_id``.
MAX_MIRROR_ID = 200

CARD_SCHEMA_KIND = {
    EntryKind.MODEL: SchemaKind.MODEL,
    EntryKind.MIRRORED_MODEL: SchemaKind.MODEL,
    EntryKind.DATA_CARD: SchemaKind.DATA_CARD,
}

# Called with a schema whose review roles have just changed, inside the change's transaction:
# the reviews feature opens the reviews the new roles are owed (reviews/apps.py).
SCHEMA_REVIEW_ROLES_CHANGED: Hook[Callable[[Schema], object]] = Hook("schema review roles changed")


# --- input checks -----------------------------------------------------------------------------


def _clean_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("name is required")
    name = name.strip()
    if len(name) > 200:
        raise BadRequest("name must be at most 200 characters")
    if has_control_characters(name):
        raise BadRequest("name must not contain control characters or bidirectional overrides")
    if not slugify_name(name):
        raise BadRequest("name must contain at least one letter or digit")
    return name


def _clean_description(description: Any) -> str:
    if not isinstance(description, str) or not description.strip():
        raise BadRequest("description is required")
    if len(description) > 50_000:
        raise BadRequest("description must be at most 50,000 characters")
    return description


def _clean_choice(value: Any, allowed: list[str], label: str) -> str:
    if value in (None, ""):
        return ""
    if value not in allowed:
        raise BadRequest(f"{label} '{value}' is not one of: {', '.join(allowed)}")
    return str(value)


def clean_tags(tags: Any) -> list[str]:
    if tags is None:
        return []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise BadRequest("tags must be a list of strings")
    result: list[str] = []
    for tag in tags:
        cleaned = tag.strip().lower()
        if not cleaned:
            continue
        if len(cleaned) > 100:
            raise BadRequest(f"tag '{cleaned[:20]}...' is longer than 100 characters")
        if has_control_characters(cleaned):
            raise BadRequest("tags must not contain control characters or bidirectional overrides")
        if cleaned not in result:
            result.append(cleaned)
    if len(result) > MAX_TAGS:
        raise BadRequest(f"An entry may have at most {MAX_TAGS} tags", {"count": len(result)})
    return result


def clean_collaborators(collaborators: Any, *, creator: Any = None) -> list[tuple[str, list[str]]]:
    """Validate Bailo's ``[{entity, roles[]}]``; the creator becomes an owner if absent."""
    if collaborators is None:
        collaborators = []
    if not isinstance(collaborators, list):
        raise BadRequest("collaborators must be a list of {entity, roles}")
    roles_known: set[str] = set(SystemRole.values)
    review_roles_read = False
    # Every user named, looked up at once (the checks below still run in the list's order).
    named = {
        item["entity"].strip().removeprefix("user:")
        for item in collaborators
        if isinstance(item, dict)
        and isinstance(item.get("entity"), str)
        and item["entity"].strip().startswith("user:")
    }
    active_users = (
        set(
            User.objects.filter(username__in=named, is_active=True).values_list(
                "username", flat=True
            )
        )
        if named
        else set()
    )
    seen: dict[str, list[str]] = {}
    for item in collaborators:
        if not isinstance(item, dict) or not isinstance(item.get("entity"), str):
            raise BadRequest("each collaborator needs an entity such as user:alice")
        entity = item["entity"].strip()
        try:
            kind, name = parse_entity(entity)
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc
        if entity in seen:
            raise BadRequest(f"Collaborator {entity} is listed more than once")
        if kind == "user" and name not in active_users:
            raise BadRequest(f"Unknown user '{name}'", {"entity": entity})
        roles = item.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise BadRequest(f"roles of {entity} must be a list of role names")
        unknown = sorted(set(roles) - roles_known)
        if unknown and not review_roles_read:
            # Only now ask the database: most collaborators hold system roles only.
            roles_known, review_roles_read = known_roles(), True
            unknown = sorted(set(roles) - roles_known)
        if unknown:
            raise BadRequest(f"Unknown role(s) for {entity}: {', '.join(unknown)}")
        if len(set(roles)) != len(roles):
            raise BadRequest(f"A role is listed twice for {entity}")
        seen[entity] = list(roles)
    if creator is not None:
        me = user_entity(creator)
        if me not in seen:
            seen[me] = [SystemRole.OWNER.value]
    if not any(SystemRole.OWNER.value in roles for roles in seen.values()):
        raise BadRequest("An entry must always have at least one owner")
    return list(seen.items())


def _clean_settings(value: Any, *, kind: str, current: Model | None = None) -> dict[str, Any]:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise BadRequest("settings must be an object")
    result: dict[str, Any] = {}
    for key in ("ungovernedAccess", "allowTemplating"):
        if key in value:
            if not isinstance(value[key], bool):
                raise BadRequest(f"settings.{key} must be true or false")
            result[key] = value[key]
    mirror = value.get("mirror")
    if mirror is not None:
        if not isinstance(mirror, dict):
            raise BadRequest("settings.mirror must be an object")
        for key in ("sourceModelId", "destinationModelId"):
            value = mirror.get(key, "")
            if not isinstance(value, str | None):
                raise BadRequest(f"settings.mirror.{key} must be a model id (text)")
            if value and len(value.strip()) > MAX_MIRROR_ID:
                raise BadRequest(
                    f"settings.mirror.{key} must be at most {MAX_MIRROR_ID} characters"
                )
            if value and has_control_characters(value):
                raise BadRequest(
                    f"settings.mirror.{key} must not contain control characters or "
                    "bidirectional overrides"
                )
        source = (mirror.get("sourceModelId") or "").strip()
        destination = (mirror.get("destinationModelId") or "").strip()
        if source and destination:
            raise BadRequest("A model cannot have both a mirror source and a mirror destination")
        if source and kind != EntryKind.MIRRORED_MODEL:
            raise BadRequest("Only mirrored models have a sourceModelId")
        if destination and kind == EntryKind.MIRRORED_MODEL:
            raise BadRequest("A mirrored model cannot export to another mirror")
        result["mirror_source_model_id"] = str(source)
        result["mirror_destination_model_id"] = str(destination)
    return result


def _keep_mirror_source(model: Model, raw: Any, cleaned: dict[str, Any]) -> None:
    """The rules for a mirrored entry's source model id on update: it stays set, and it may
    change only until the first import (after that the imported card, releases and files belong
    to that source). Sending the current id back is no change, so clients that echo the settings
    keep working. Caller holds the entry's row lock."""
    if model.kind != EntryKind.MIRRORED_MODEL or "mirror_source_model_id" not in cleaned:
        return
    mirror = raw.get("mirror") if isinstance(raw, dict) else None
    if not isinstance(mirror, dict) or "sourceModelId" not in mirror:
        # Only other mirror settings were sent: the source stays as it is.
        cleaned["mirror_source_model_id"] = model.mirror_source_model_id
        return
    wanted = cleaned["mirror_source_model_id"]
    if not wanted:
        raise BadRequest("A mirrored model needs settings.mirror.sourceModelId")
    if wanted != model.mirror_source_model_id and has_mirrored_revisions(model):
        raise BadRequest(
            "The source model ID can no longer be changed: this mirrored model has already "
            "been imported from its source",
            {"sourceModelId": model.mirror_source_model_id},
        )


def _apply_settings(model: Model, cleaned: dict[str, Any]) -> None:
    if "ungovernedAccess" in cleaned:
        model.ungoverned_access = cleaned["ungovernedAccess"]
    if "allowTemplating" in cleaned:
        model.allow_templating = cleaned["allowTemplating"]
    if "mirror_source_model_id" in cleaned:
        model.mirror_source_model_id = cleaned["mirror_source_model_id"]
        model.mirror_destination_model_id = cleaned["mirror_destination_model_id"]


def _write_collaborators(
    model: Model, collaborators: list[tuple[str, list[str]]]
) -> list[Collaborator]:
    """Replace the entry's collaborator rows; the rows, by id."""
    Collaborator.objects.filter(model=model).delete()
    return Collaborator.objects.bulk_create(_collaborator_rows(model, collaborators))


def _collaborator_rows(
    model: Model, collaborators: list[tuple[str, list[str]]]
) -> list[Collaborator]:
    """The rows recording ``collaborators``, not yet saved: one per role, and one with an empty
    role for an entity with none (it is still recorded, so it is listed)."""
    rows = [
        Collaborator(model=model, entity=entity, role=role)
        for entity, roles in collaborators
        for role in roles
    ]
    return rows + [
        Collaborator(model=model, entity=entity, role="")
        for entity, roles in collaborators
        if not roles
    ]


def _write_tags(model: Model, tags: Iterable[str]) -> list[ModelTag]:
    """Replace the entry's tags; the rows, by id."""
    ModelTag.objects.filter(model=model).delete()
    return ModelTag.objects.bulk_create(ModelTag(model=model, name=t) for t in tags)


def _as_fetched(rows_of: type[Any], found: list[Any], **lookup: Any) -> QuerySet[Any]:
    """``rows_of``'s rows matching ``lookup`` as if already read, holding ``found`` (what a
    prefetch leaves behind).

    The filter is recorded, not built: like a related manager's own querysets (Django's
    ``_defer_next_filter``), it is turned into SQL only if the queryset is asked for its query,
    say by a further ``filter``. Building it costs more than the rest of writing the entry's
    JSON, and an answer read from ``found`` never needs it."""
    rows = rows_of._default_manager.all()
    rows._defer_next_filter = True
    rows = rows.filter(**lookup)
    rows._result_cache = found
    rows._prefetch_done = True
    return rows  # type: ignore[no-any-return]


# --- entries ----------------------------------------------------------------------------------


def model_create(
    *,
    actor: Actor,
    name: Any,
    description: Any,
    kind: Any = EntryKind.MODEL,
    visibility: Any = Visibility.PUBLIC,
    organisation: Any = "",
    state: Any = "",
    tags: Any = None,
    collaborators: Any = None,
    settings_: Any = None,
) -> Model:
    """Create an entry; its creator is an owner."""
    check_token_action(actor, TokenAction.MODEL_WRITE)
    if actor.token_is_scoped_to_models():
        raise Forbidden("This access token is limited to chosen models and cannot create entries")
    if not actor.user.is_authenticated:
        raise BadRequest("Sign in to create an entry")
    name = _clean_name(name)
    description = _clean_description(description)
    if kind not in EntryKind.values:
        raise BadRequest(f"kind must be one of: {', '.join(EntryKind.values)}")
    if visibility not in Visibility.values:
        raise BadRequest("visibility must be public or private")
    ui = settings.BAILO_UI["modelDetails"]
    organisation = _clean_choice(organisation, ui["organisations"], "organisation")
    state = _clean_choice(state, ui["states"], "state")
    tag_list = clean_tags(tags)
    people = clean_collaborators(collaborators, creator=actor.user)
    if kind == EntryKind.MIRRORED_MODEL and not settings.MIRROR_IMPORT_ENABLED:
        # Stricter than Bailo, whose API creates them anyway: a mirrored entry here could never
        # receive its content, since nothing imports into this instance.
        raise BadRequest(
            "Mirrored models cannot be created here: importing from a mirror source is not "
            "enabled on this instance (MIRROR_IMPORT_ENABLED)"
        )
    cleaned_settings = _clean_settings(settings_, kind=kind)
    if kind == EntryKind.MIRRORED_MODEL and not cleaned_settings.get("mirror_source_model_id"):
        raise BadRequest("A mirrored model needs settings.mirror.sourceModelId")

    model = Model(
        id=new_entry_id(name),
        name=name,
        description=description,
        kind=kind,
        visibility=visibility,
        organisation=organisation,
        state=state,
        created_by=actor.user,
    )
    _apply_settings(model, cleaned_settings)
    collaborator_rows = _collaborator_rows(model, people)
    tag_rows = [ModelTag(model=model, name=t) for t in tag_list]
    event = audit_event(action=AuditAction.MODEL_CREATE, actor=actor.user, subject=model.id)
    # The entry, its collaborators, its tags and its audit event in one statement, all or none
    # (core.inserts): no transaction of its own is needed, so none is begun unless the caller
    # already holds one, where the entry's own block makes entries_changed drop the figures at
    # once too, for the caller may read them before it commits.
    enclosed = transaction.get_connection().in_atomic_block
    with transaction.atomic() if enclosed else contextlib.nullcontext():
        insert_rows([model], collaborator_rows, tag_rows, [event])
        entries_changed()
    # What was just written is what a read would find: callers answering with the entry's JSON
    # (``selectors.model_json``) need not read it back.
    model._prefetched_objects_cache = {  # type: ignore[attr-defined]
        "collaborators": _as_fetched(Collaborator, collaborator_rows, model=model),
        "tag_rows": _as_fetched(ModelTag, tag_rows, model=model),
    }
    return model


def model_update(*, actor: Actor, model: Model, changes: dict[str, Any]) -> Model:
    """Change details, visibility, state, tags, collaborators or settings (owners and admins).

    A state change is refused when the current card does not meet that state's requirements.
    """
    check(actor, Action.MODEL_EDIT_SETTINGS, model)
    allowed_keys = {
        "name",
        "description",
        "visibility",
        "organisation",
        "state",
        "tags",
        "collaborators",
        "settings",
    }
    if "kind" in changes:
        # Clients send the kind back on every update (the official one does); it cannot change.
        if changes["kind"] != model.kind:
            raise BadRequest("The kind of an entry cannot change", {"kind": model.kind})
        changes = {k: v for k, v in changes.items() if k != "kind"}
    unknown = sorted(set(changes) - allowed_keys)
    if unknown:
        raise BadRequest(f"Unknown or read-only field(s): {', '.join(unknown)}")
    ui = settings.BAILO_UI["modelDetails"]
    with transaction.atomic():
        locked = Model.objects.select_for_update().get(pk=model.pk)
        if "name" in changes:
            locked.name = _clean_name(changes["name"])
        if "description" in changes:
            locked.description = _clean_description(changes["description"])
        if "visibility" in changes:
            if changes["visibility"] not in Visibility.values:
                raise BadRequest("visibility must be public or private")
            locked.visibility = changes["visibility"]
        if "organisation" in changes:
            locked.organisation = _clean_choice(
                changes["organisation"], ui["organisations"], "organisation"
            )
        if "state" in changes:
            new_state = _clean_choice(changes["state"], ui["states"], "state")
            card = _state_card(locked) if new_state != locked.state else None
            if card is not None:
                json_schema = card.schema.json_schema
                problems = validation_errors(json_schema, card.metadata, state=new_state)
                if problems:
                    raise BadRequest(
                        state_refusal(json_schema, new_state, problems),
                        {"state": new_state, "validationErrors": problems},
                    )
            locked.state = new_state
        if "settings" in changes:
            cleaned = _clean_settings(changes["settings"], kind=locked.kind)
            _keep_mirror_source(locked, changes["settings"], cleaned)
            _apply_settings(locked, cleaned)
        if "tags" in changes:
            _write_tags(locked, clean_tags(changes["tags"]))
        if "collaborators" in changes:
            _write_collaborators(locked, clean_collaborators(changes["collaborators"]))
        locked.save()
        # Collaborators decide which private entries a person counts (listing_cache's own counts);
        # any change can move the entry in or out of a kept search page, or up it (updated_at).
        entries_changed()
        audit_record(
            action=AuditAction.MODEL_UPDATE,
            actor=actor.user,
            subject=locked.id,
            detail={"fields": sorted(changes)},
        )
    return locked


def _state_card(model: Model) -> ModelCardRevision | None:
    """The card a state's requirements are checked against: the entry's own, or for a mirrored
    entry the latest card imported from its source (the local card only adds information)."""
    if model.kind == EntryKind.MIRRORED_MODEL:
        return latest_mirrored_revision(model)
    if not model.card_id:
        return None
    return ModelCardRevision.objects.select_related("schema").get(pk=model.card_id)


# --- cards ------------------------------------------------------------------------------------


def _next_version(model: Model, *, mirrored: bool = False) -> int:
    top = ModelCardRevision.all_objects.filter(model=model, mirrored=mirrored).aggregate(
        top=Max("version")
    )["top"]
    return int(top or 0) + 1


def _write_revision(
    *, actor: Actor, model: Model, schema: Schema, metadata: dict[str, Any]
) -> ModelCardRevision:
    """Append a revision and point the entry at it. Caller holds the entry's row lock."""
    try:
        with transaction.atomic():
            revision = ModelCardRevision.objects.create(
                model=model,
                schema=schema,
                version=_next_version(model),
                metadata=metadata,
                created_by=actor.user,
            )
    except IntegrityError as exc:
        raise Conflict("Someone else saved this card at the same time; reload and retry") from exc
    Model.objects.filter(pk=model.pk).update(card=revision)
    model.card = revision
    audit_record(
        action=AuditAction.MODEL_CARD_UPDATE,
        actor=actor.user,
        subject=model.id,
        detail={"version": revision.version, "schemaId": schema.id},
    )
    return revision


def _usable_schema(schema_id: Any, model: Model) -> Schema:
    if not isinstance(schema_id, str) or not schema_id:
        raise BadRequest("schemaId is required")
    schema = Schema.objects.filter(pk=schema_id).first()
    if schema is None:
        raise NotFound(f"Schema {schema_id} not found", {"schemaId": schema_id})
    if schema.hidden:
        raise BadRequest(f"Schema {schema_id} is hidden and cannot be used for new cards")
    wanted = CARD_SCHEMA_KIND[EntryKind(model.kind)]
    if schema.kind != wanted:
        raise BadRequest(f"Schema {schema_id} is for {schema.kind}, not for a {model.kind}")
    return schema


def card_from_schema(*, actor: Actor, model: Model, schema_id: Any) -> ModelCardRevision:
    """Choose the schema of a new card (version 1, empty answers)."""
    check(actor, Action.MODEL_EDIT_CARD, model)
    schema = _usable_schema(schema_id, model)
    with transaction.atomic():
        locked = Model.objects.select_for_update().get(pk=model.pk)
        if locked.card_id:
            raise Conflict("This entry already has a card; its schema can only change by migration")
        return _write_revision(actor=actor, model=locked, schema=schema, metadata={})


def card_from_template(*, actor: Actor, model: Model, template_id: Any) -> ModelCardRevision:
    """Start a card as a copy of another entry's card (that entry must allow templating)."""
    check(actor, Action.MODEL_EDIT_CARD, model)
    if not isinstance(template_id, str) or not template_id:
        raise BadRequest("templateId is required")
    template = visible_to(actor, rows=Model.objects.filter(pk=template_id)).first()
    if template is None:
        raise NotFound(f"Model {template_id} not found", {"templateId": template_id})
    if not template.allow_templating:
        raise BadRequest(f"{template.name} does not allow templating")
    if not template.card_id:
        raise BadRequest(f"{template.name} has no card to copy")
    source = ModelCardRevision.objects.select_related("schema").get(pk=template.card_id)
    schema = _usable_schema(source.schema_id, model)
    with transaction.atomic():
        locked = Model.objects.select_for_update().get(pk=model.pk)
        if locked.card_id:
            raise Conflict("This entry already has a card")
        return _write_revision(
            actor=actor, model=locked, schema=schema, metadata=copy.deepcopy(source.metadata)
        )


def card_update(*, actor: Actor, model: Model, metadata: Any) -> ModelCardRevision:
    """Save new answers: validated against the schema (and the entry's state), new revision."""
    check(actor, Action.MODEL_EDIT_CARD, model)
    if not isinstance(metadata, dict):
        raise BadRequest("metadata must be a JSON object")
    with transaction.atomic():
        locked = Model.objects.select_for_update().get(pk=model.pk)
        if locked.kind == EntryKind.MIRRORED_MODEL:
            return _mirror_information_update(actor=actor, model=locked, metadata=metadata)
        if not locked.card_id:
            raise BadRequest("Choose a schema for the card before saving it")
        current = ModelCardRevision.objects.select_related("schema").get(pk=locked.card_id)
        validate_metadata(current.schema.json_schema, metadata, state=locked.state)
        return _write_revision(actor=actor, model=locked, schema=current.schema, metadata=metadata)


def _mirror_information_update(
    *, actor: Actor, model: Model, metadata: dict[str, Any]
) -> ModelCardRevision:
    """Save a mirrored entry's additional information: its local card, a new non-mirrored
    revision. The imported (mirrored) revisions are never touched, so the additions survive
    every re-import. The first save starts the local card on the schema of the latest imported
    revision. The answers are checked against that schema like any card's, except that no state
    requires them: the source's answers are what a state asks for. Caller holds the row lock."""
    if model.card_id:
        schema = ModelCardRevision.objects.select_related("schema").get(pk=model.card_id).schema
    else:
        source = latest_mirrored_revision(model)
        if source is None:
            raise BadRequest(
                "This mirrored model has no model card yet: additional information can be added "
                "once its card has been imported from the source"
            )
        schema = source.schema
    validate_metadata(schema.json_schema, metadata, state="")
    return _write_revision(actor=actor, model=model, schema=schema, metadata=metadata)


# --- schemas ----------------------------------------------------------------------------------


def _clean_review_roles(roles: Any) -> list[str]:
    if roles is None:
        return []
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise BadRequest("reviewRoles must be a list of review role short names")
    # As in Bailo, a schema may name a role no administrator has defined yet: its reviews open
    # once the role is created (reviews.roles.services.review_role_create).
    malformed = [r for r in roles if not REVIEW_ROLE_NAME.match(r)]
    if malformed:
        raise BadRequest(
            f"Review role short names use up to 50 letters, digits, '-' or '_': "
            f"'{malformed[0][:60]}' does not",
            {"reviewRoles": malformed[:5]},
        )
    return list(dict.fromkeys(roles))


RESERVED_SCHEMA_IDS = frozenset({"new"})


def schema_create(
    *,
    actor: Actor,
    schema_id: Any,
    name: Any,
    description: Any = "",
    kind: Any,
    json_schema: Any,
    review_roles: Any = None,
) -> Schema:
    require_admin(actor, TokenAction.SCHEMA_WRITE)
    if not isinstance(schema_id, str) or not schema_id.strip():
        raise BadRequest("id is required")
    schema_id = schema_id.strip()
    if len(schema_id) > 140 or not all(c.isalnum() or c in "-_." for c in schema_id):
        raise BadRequest("id may use letters, digits, '-', '_' and '.' (at most 140)")
    if schema_id in RESERVED_SCHEMA_IDS:
        raise BadRequest(f"'{schema_id}' is reserved; choose another id")
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("name is required")
    if description is not None and not isinstance(description, str):
        raise BadRequest("description must be a string")
    if kind not in SchemaKind.values:
        raise BadRequest(f"kind must be one of: {', '.join(SchemaKind.values)}")
    check_json_schema(json_schema)
    roles = _clean_review_roles(review_roles)
    try:
        with transaction.atomic():
            schema = Schema.objects.create(
                id=schema_id,
                name=name.strip(),
                description=description or "",
                kind=kind,
                json_schema=json_schema,
                review_roles=roles,
                created_by=actor.user,
            )
    except IntegrityError as exc:
        raise Conflict(f"A schema with id {schema_id} already exists") from exc
    audit_record(action=AuditAction.SCHEMA_CREATE, actor=actor.user, subject=schema.id)
    return schema


def schema_update(*, actor: Actor, schema: Schema, changes: dict[str, Any]) -> Schema:
    require_admin(actor, TokenAction.SCHEMA_WRITE)
    unknown = sorted(set(changes) - {"name", "description", "active", "hidden", "reviewRoles"})
    if unknown:
        raise BadRequest(f"Unknown or read-only field(s): {', '.join(unknown)}")
    if "name" in changes:
        if not isinstance(changes["name"], str) or not changes["name"].strip():
            raise BadRequest("name must not be empty")
        schema.name = changes["name"].strip()
    if "description" in changes:
        schema.description = str(changes["description"] or "")
    for key in ("active", "hidden"):
        if key in changes:
            if not isinstance(changes[key], bool):
                raise BadRequest(f"{key} must be true or false")
            setattr(schema, key, changes[key])
    roles_before = list(schema.review_roles)
    if "reviewRoles" in changes:
        schema.review_roles = _clean_review_roles(changes["reviewRoles"])
    with transaction.atomic():
        schema.save()
        if schema.review_roles != roles_before:
            for listener in SCHEMA_REVIEW_ROLES_CHANGED:
                listener(schema)
    audit_record(action=AuditAction.SCHEMA_UPDATE, actor=actor.user, subject=schema.id)
    return schema


def schema_delete(*, actor: Actor, schema: Schema) -> None:
    require_admin(actor, TokenAction.SCHEMA_WRITE)
    if ModelCardRevision.all_objects.filter(schema=schema).exists():
        raise Conflict(f"Schema {schema.id} is used by cards; hide it instead of deleting it")
    schema_id = schema.id
    schema.delete()
    audit_record(action=AuditAction.SCHEMA_DELETE, actor=actor.user, subject=schema_id)


# --- schema migrations ------------------------------------------------------------------------


def _clean_question_migrations(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise BadRequest("questionMigrations must be a list")
    result = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise BadRequest(f"questionMigrations[{index}] must be an object")
        kind = item.get("kind")
        source = item.get("sourcePath")
        if kind not in {"move", "delete"}:
            raise BadRequest(f"questionMigrations[{index}].kind must be move or delete")
        if not isinstance(source, str) or not source:
            raise BadRequest(f"questionMigrations[{index}].sourcePath is required")
        target = item.get("targetPath")
        if kind == "move" and (not isinstance(target, str) or not target):
            raise BadRequest(f"questionMigrations[{index}].targetPath is required for a move")
        result.append(
            {
                "id": str(item.get("id") or f"q{index + 1}"),
                "kind": kind,
                "sourcePath": source,
                "targetPath": target if kind == "move" else None,
                "propertyType": str(item.get("propertyType") or ""),
            }
        )
    return result


def schema_migration_save(
    *,
    actor: Actor,
    name: Any,
    source_schema_id: Any,
    target_schema_id: Any,
    question_migrations: Any,
    description: Any = "",
    draft: Any = True,
    migration: SchemaMigration | None = None,
) -> SchemaMigration:
    """Create or replace a migration plan (administrators)."""
    require_admin(actor, TokenAction.SCHEMA_WRITE)
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("name is required")
    if not source_schema_id or not target_schema_id:
        raise BadRequest("sourceSchema and targetSchema are required")
    source = Schema.objects.filter(pk=source_schema_id).first()
    target = Schema.objects.filter(pk=target_schema_id).first()
    if source is None or target is None:
        raise NotFound("sourceSchema and targetSchema must name existing schemas")
    if source.pk == target.pk:
        raise BadRequest("sourceSchema and targetSchema must differ")
    if source.kind != target.kind:
        raise BadRequest("A migration must stay within one kind of schema")
    plan = _clean_question_migrations(question_migrations)
    target_paths = {path for path, _ in iter_questions(target.json_schema)}
    for step in plan:
        if step["kind"] == "move" and step["targetPath"] not in target_paths:
            raise BadRequest(
                f"{step['targetPath']} is not a question of {target.id}",
                {"targetPath": step["targetPath"]},
            )
    if not isinstance(draft, bool):
        raise BadRequest("draft must be true or false")
    if migration is None:
        migration = SchemaMigration(id=new_entry_id(name), created_by=actor.user)
    migration.name = name.strip()
    migration.description = str(description or "")
    migration.source_schema = source
    migration.target_schema = target
    migration.question_migrations = plan
    migration.draft = draft
    migration.save()
    return migration


def _pop_path(metadata: dict[str, Any], path: str) -> tuple[bool, Any]:
    parts = path.split(".")
    node: Any = metadata
    for part in parts[:-1]:
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    if not isinstance(node, dict) or parts[-1] not in node:
        return False, None
    return True, node.pop(parts[-1])


def _set_path(metadata: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = metadata
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def migrate_metadata(metadata: dict[str, Any], plan: list[dict[str, Any]]) -> dict[str, Any]:
    result = copy.deepcopy(metadata)
    for step in plan:
        found, value = _pop_path(result, step["sourcePath"])
        if found and step["kind"] == "move":
            _set_path(result, step["targetPath"], value)
    return result


def schema_migration_apply(
    *, actor: Actor, model: Model, migration: SchemaMigration
) -> ModelCardRevision:
    """Move an entry's card to the migration's target schema as a new revision (owners)."""
    check(actor, Action.MODEL_EDIT_SETTINGS, model)
    if migration.draft:
        raise BadRequest("This migration is still a draft")
    with transaction.atomic():
        locked = Model.objects.select_for_update().get(pk=model.pk)
        if not locked.card_id:
            raise BadRequest("This entry has no card to migrate")
        current = ModelCardRevision.objects.get(pk=locked.card_id)
        if locked.kind == EntryKind.MIRRORED_MODEL and not mirrored_schema_differs(locked):
            raise BadRequest(
                "The additional information of a mirrored model moves to another schema only "
                "when the source's card has: it already follows the schema of the imported card"
            )
        if current.schema_id != migration.source_schema_id:
            raise BadRequest(
                f"This migration applies to cards on {migration.source_schema_id}, "
                f"not {current.schema_id}"
            )
        metadata = migrate_metadata(current.metadata, migration.question_migrations)
        return _write_revision(
            actor=actor, model=locked, schema=migration.target_schema, metadata=metadata
        )
