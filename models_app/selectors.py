"""Reads for entries, cards and schemas, and their JSON shapes (Bailo's field names)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from django.db.models import Prefetch, QuerySet

from core.hooks import Hook
from models_app.models import (
    Collaborator,
    EntryKind,
    Model,
    ModelCardRevision,
    ModelTag,
    Schema,
    SchemaMigration,
)
from models_app.policy import Actor, visible_to
from models_app.schema_validation import question_title, state_gaps


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _username(user: Any) -> str:
    return user.get_username() if user is not None else ""


def with_details(qs: QuerySet[Model]) -> QuerySet[Model]:
    """Everything the entry JSON needs, in a fixed number of queries whatever the page size."""
    return qs.select_related("card", "created_by", "card__created_by").prefetch_related(
        Prefetch("collaborators", queryset=Collaborator.objects.order_by("id")),
        Prefetch("tag_rows", queryset=ModelTag.objects.order_by("id")),
    )


def collaborators_of(model: Model) -> list[dict[str, Any]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for row in model.collaborators.all():
        roles = grouped[row.entity]
        if row.role:
            roles.append(row.role)
    return [{"entity": entity, "roles": roles} for entity, roles in grouped.items()]


def tags_of(model: Model) -> list[str]:
    return [t.name for t in model.tag_rows.all()]


def card_json(revision: ModelCardRevision, model_id: str | None = None) -> dict[str, Any]:
    return {
        "modelId": model_id or revision.model_id,
        "schemaId": revision.schema_id,
        "version": revision.version,
        "metadata": revision.metadata,
        "mirrored": revision.mirrored,
        "createdBy": _username(revision.created_by),
        "createdAt": iso(revision.created_at),
        "updatedAt": iso(revision.updated_at),
    }


def model_json(model: Model) -> dict[str, Any]:
    mirror: dict[str, str] = {}
    if model.mirror_source_model_id:
        mirror["sourceModelId"] = model.mirror_source_model_id
    if model.mirror_destination_model_id:
        mirror["destinationModelId"] = model.mirror_destination_model_id
    body: dict[str, Any] = {
        "id": model.id,
        "name": model.name,
        "description": model.description,
        "kind": model.kind,
        "visibility": model.visibility,
        "organisation": model.organisation,
        "state": model.state,
        "tags": tags_of(model),
        "collaborators": collaborators_of(model),
        "settings": {
            "ungovernedAccess": model.ungoverned_access,
            "allowTemplating": model.allow_templating,
            "mirror": mirror,
        },
        "createdBy": _username(model.created_by),
        "createdAt": iso(model.created_at),
        "updatedAt": iso(model.updated_at),
        "deleted": False,
    }
    if model.card is not None:
        body["card"] = card_json(model.card, model.id)
    if model.kind == EntryKind.MIRRORED_MODEL:
        # Bailo's ``mirroredCard``: the latest card imported from the source (``card`` is the
        # local additional information). One query, for mirrored entries only.
        mirrored = latest_mirrored_revision(model)
        if mirrored is not None:
            body["mirroredCard"] = card_json(mirrored, model.id)
    return body


def model_get_detailed(model_id: str) -> Model | None:
    return with_details(Model.objects.filter(pk=model_id)).first()


def card_state_gaps(model: Model, states: Iterable[str]) -> dict[str, list[str]]:
    """For each of ``states`` the current card cannot move to, the titles of the questions that
    state requires (``requiredByModelStates``) and the card leaves unanswered."""
    if model.kind == EntryKind.MIRRORED_MODEL:
        # A state asks the source's answers (the imported card), not the local additions.
        mirrored = latest_mirrored_revision(model)
        if mirrored is None:
            return {}
        card = mirrored
    elif model.card_id is None:
        return {}
    else:
        card = ModelCardRevision.objects.select_related("schema").get(pk=model.card_id)
    json_schema = card.schema.json_schema
    gaps = {}
    for state in states:
        paths = state_gaps(json_schema, card.metadata, state)
        if paths:
            gaps[state] = [question_title(json_schema, path) for path in paths]
    return gaps


def card_revisions(model: Model, *, mirrored: bool = False) -> QuerySet[ModelCardRevision]:
    return ModelCardRevision.objects.filter(model=model, mirrored=mirrored).select_related(
        "created_by", "schema"
    )


def card_revision(
    model: Model, version: int | None, *, mirrored: bool = False
) -> ModelCardRevision | None:
    """One revision; ``version=None`` is the latest of that kind (local or mirrored)."""
    revisions = card_revisions(model, mirrored=mirrored)
    if version is None:
        return revisions.order_by("-version").first()
    return revisions.filter(version=version).first()


def has_mirrored_revisions(model: Model) -> bool:
    """Whether anything was ever imported into this mirrored entry: its first import brings at
    least one mirrored card revision (from then on its source model id is fixed)."""
    return ModelCardRevision.all_objects.filter(model=model, mirrored=True).exists()


def latest_mirrored_revision(model: Model) -> ModelCardRevision | None:
    """The newest card revision imported from the source (Bailo's ``mirroredCard``), with its
    schema and author, or None before the first import."""
    return card_revision(model, None, mirrored=True)


def schema_json(schema: Schema) -> dict[str, Any]:
    return {
        "id": schema.id,
        "name": schema.name,
        "description": schema.description,
        "kind": schema.kind,
        "jsonSchema": schema.json_schema,
        "reviewRoles": schema.review_roles,
        "active": schema.active,
        "hidden": schema.hidden,
        "createdAt": iso(schema.created_at),
        "updatedAt": iso(schema.updated_at),
    }


def schema_list(*, kind: str | None = None, hidden: bool | None = False) -> QuerySet[Schema]:
    """Schemas of ``kind``; ``hidden``: False usable ones only, True hidden ones only, None all."""
    qs = Schema.objects.all()
    if kind:
        qs = qs.filter(kind=kind)
    if hidden is not None:
        qs = qs.filter(hidden=hidden)
    return qs


def schema_migration_list(
    *, source_schema: str | None = None, migration_id: str | None = None
) -> QuerySet[SchemaMigration]:
    migrations = SchemaMigration.objects.all()
    if source_schema:
        migrations = migrations.filter(source_schema_id=source_schema)
    if migration_id:
        migrations = migrations.filter(pk=migration_id)
    return migrations


@dataclass(frozen=True)
class SchemaUse:
    """One thing that follows a schema, for the administrators' usage page."""

    name: str
    id: str
    url: str


class SchemaUses(Protocol):
    """Another feature's rows that follow schemas (the access requests, for access-request
    schemas), registered in ``SCHEMA_USES`` from its ``AppConfig.ready()``."""

    def counts(self) -> dict[str, int]:
        """Live rows per schema id."""
        ...

    def uses(self, schema: Schema) -> list[SchemaUse]:
        """The live rows that follow ``schema``."""
        ...


SCHEMA_USES: Hook[SchemaUses] = Hook("schema uses")


def schema_usage(schema: Schema) -> QuerySet[Model]:
    """Entries whose current card follows ``schema``."""
    return Model.objects.filter(card__schema=schema)


def schema_other_uses(schema: Schema) -> list[SchemaUse]:
    """What else follows ``schema`` (access requests), from the features that registered."""
    return [use for source in SCHEMA_USES for use in source.uses(schema)]


def schema_usage_count(schema: Schema) -> int:
    """Entries whose current card follows ``schema``, plus the other features' rows."""
    return schema_usage(schema).count() + sum(
        source.counts().get(schema.pk, 0) for source in SCHEMA_USES
    )


def schema_usage_counts() -> dict[str, int]:
    """Per schema: live entries whose current card follows it, plus the rows other features
    count (access requests). One query for the entries, one per registered feature."""
    from django.db.models import Count

    rows = (
        Model.objects.filter(card__isnull=False)
        .order_by()
        .values_list("card__schema_id")
        .annotate(n=Count("id"))
    )
    counts: dict[str, int] = {schema_id: n for schema_id, n in rows}
    for source in SCHEMA_USES:
        for schema_id, n in source.counts().items():
            counts[schema_id] = counts.get(schema_id, 0) + n
    return counts


def schema_migration_json(migration: SchemaMigration) -> dict[str, Any]:
    return {
        "id": migration.id,
        "name": migration.name,
        "description": migration.description,
        "sourceSchema": migration.source_schema_id,
        "targetSchema": migration.target_schema_id,
        "questionMigrations": migration.question_migrations,
        "draft": migration.draft,
        "createdAt": iso(migration.created_at),
        "updatedAt": iso(migration.updated_at),
    }


def mirrored_schema_differs(model: Model) -> bool:
    """For a mirrored entry: whether its local card (the additional information) follows another
    schema than the latest card imported from its source, e.g. after the source's card moved to
    a new schema. Only then is a schema migration of the local card offered or allowed."""
    if model.card is None:
        return False
    source = ModelCardRevision.objects.filter(model=model, mirrored=True).order_by("-version")
    source_schema = source.values_list("schema_id", flat=True).first()
    return source_schema is not None and source_schema != model.card.schema_id


def migrations_available(model: Model) -> QuerySet[SchemaMigration]:
    """Final (non-draft) migrations from the schema of the entry's current card (for a mirrored
    entry, only while its local card's schema differs from the imported card's)."""
    if model.card is None:
        return SchemaMigration.objects.none()
    if model.kind == EntryKind.MIRRORED_MODEL and not mirrored_schema_differs(model):
        return SchemaMigration.objects.none()
    return SchemaMigration.objects.filter(source_schema_id=model.card.schema_id, draft=False)


def popular_tags(models: QuerySet[Model], limit: int = 10) -> list[str]:
    from django.db.models import Count

    rows = (
        ModelTag.objects.filter(model__in=models)
        .values("name")
        .annotate(n=Count("id"))
        .order_by("-n", "name")[:limit]
    )
    return [r["name"] for r in rows]


def models_json(models: Iterable[Model]) -> list[dict[str, Any]]:
    return [model_json(m) for m in models]


def template_candidates(*, actor: Actor, model: Model) -> QuerySet[Model]:
    """Entries the actor can see that allow templating and have a card of the same kind."""
    return (
        visible_to(actor)
        .filter(allow_templating=True, card__isnull=False, kind=model.kind)
        .exclude(pk=model.pk)
        .select_related("card__schema")
        .order_by("name")
    )
