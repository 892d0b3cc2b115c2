"""Entries (models, data cards, mirrored models), their cards, collaborators and schemas."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q

from core.entities import entity_filter
from core.fields import OrderedJSONField
from core.models import (
    CreatedByModel,
    LiveManager,
    LiveQuerySet,
    SoftDeleteModel,
    TimeStampedModel,
)


class EntryKind(models.TextChoices):
    MODEL = "model", "Model"
    DATA_CARD = "data-card", "Data card"
    MIRRORED_MODEL = "mirrored-model", "Mirrored model"


class Visibility(models.TextChoices):
    PUBLIC = "public", "Public"
    PRIVATE = "private", "Private"


class SchemaKind(models.TextChoices):
    MODEL = "model", "Model"
    ACCESS_REQUEST = "accessRequest", "Access request"
    DATA_CARD = "dataCard", "Data card"


class SystemRole(models.TextChoices):
    OWNER = "owner", "Owner"
    CONTRIBUTOR = "contributor", "Contributor"
    CONSUMER = "consumer", "Consumer"


class ModelQuerySet(LiveQuerySet):
    """Queryset verbs for entries. Who may see which entries is the policy's business
    (``models_app.policy.visible_to``), not a queryset's."""

    def with_role(self, user: Any, roles: list[str] | None = None) -> ModelQuerySet:
        """Entries where the user or a group of theirs holds a role (one of ``roles`` if given)."""
        rows = Collaborator.objects.filter(entity_filter(user))
        if roles:
            rows = rows.filter(role__in=roles)
        return self.filter(id__in=rows.values("model_id"))


class ModelManager(LiveManager):
    def get_queryset(self) -> ModelQuerySet:
        return ModelQuerySet(self.model, using=self._db).filter(deleted_at__isnull=True)


class Model(TimeStampedModel, CreatedByModel, SoftDeleteModel):
    """An entry: a model, a data card or a mirrored model.

    Invariants: ``id`` is the slug of the name plus ``-`` and six ``[0-9a-z]``; at least one
    collaborator holds ``owner``; ``card`` is the latest non-mirrored revision (or None before a
    schema is chosen); a mirror source and a mirror destination are never both set.
    """

    id = models.CharField(primary_key=True, max_length=140)
    name = models.CharField(max_length=200)
    description = models.TextField()
    kind = models.CharField(max_length=20, choices=EntryKind.choices, default=EntryKind.MODEL)
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    organisation = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=100, blank=True)
    ungoverned_access = models.BooleanField(default=False)
    allow_templating = models.BooleanField(default=False)
    mirror_source_model_id = models.CharField(max_length=200, blank=True)
    mirror_destination_model_id = models.CharField(max_length=200, blank=True)
    card = models.ForeignKey(
        "ModelCardRevision", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ModelManager()  # type: ignore[assignment,misc]
    all_objects = models.Manager()  # type: ignore[assignment,misc]

    class Meta:
        base_manager_name = "all_objects"
        ordering = ["-updated_at"]
        indexes = [
            # The marketplace's default order: newest first. The included columns are those every
            # list filters on (live, kind, visibility), so a page's keys are read from the index
            # alone, without visiting the rows skipped on the way to a later page (PostgreSQL).
            models.Index(
                fields=["-updated_at", "id"],
                include=["kind", "visibility", "deleted_at"],
                name="model_recent_first",
            ),
            models.Index(fields=["kind", "visibility"]),
            models.Index(fields=["organisation"]),
            models.Index(fields=["state"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(mirror_source_model_id="") | Q(mirror_destination_model_id=""),
                name="model_single_mirror_direction",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class ModelTag(models.Model):
    """One tag of an entry, kept as rows so filtering and "popular tags" use an index."""

    model = models.ForeignKey(Model, on_delete=models.CASCADE, related_name="tag_rows")
    name = models.CharField(max_length=100, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["model", "name"], name="model_tag_unique")]

    def __str__(self) -> str:
        return self.name


class Collaborator(models.Model):
    """One role held by a user or group on an entry: a system role or a review-role short name.

    One row per (entity, role), so "entries where I am owner" is an indexed filter. The API groups
    rows into Bailo's ``{entity, roles[]}``.
    """

    model = models.ForeignKey(Model, on_delete=models.CASCADE, related_name="collaborators")
    entity = models.CharField(max_length=200)
    role = models.CharField(max_length=100)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model", "entity", "role"], name="collaborator_unique_role"
            )
        ]
        indexes = [
            # "The entries I hold a role on" (every list's visibility rule) from the index alone.
            models.Index(
                fields=["entity", "role"], include=["model"], name="collaborator_entity_role"
            )
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.entity} {self.role}"


class Schema(TimeStampedModel, CreatedByModel):
    """A JSON Schema (draft 7, with Bailo's extensions) that cards or access requests follow.

    Schemas are hard-deleted, and only while nothing uses them.
    """

    id = models.CharField(primary_key=True, max_length=140)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=20, choices=SchemaKind.choices)
    json_schema = OrderedJSONField()
    review_roles = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)
    hidden = models.BooleanField(default=False)

    class Meta:
        ordering = ["-active", "-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class ModelCardRevision(TimeStampedModel, CreatedByModel, SoftDeleteModel):
    """One saved version of an entry's card. Versions count 1, 2, 3... per entry.

    Invariant: (model, version, mirrored) is unique, which doubles as an optimistic lock when two
    people save at once.
    """

    model = models.ForeignKey(Model, on_delete=models.CASCADE, related_name="card_revisions")
    schema = models.ForeignKey(Schema, on_delete=models.PROTECT, related_name="card_revisions")
    version = models.PositiveIntegerField()
    metadata = models.JSONField(default=dict, blank=True)
    mirrored = models.BooleanField(default=False)

    class Meta:
        base_manager_name = "all_objects"
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "version", "mirrored"], name="card_revision_unique_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.model_id} card v{self.version}"


class SchemaMigration(TimeStampedModel, CreatedByModel):
    """A plan that moves cards from one schema to another, question by question.

    ``question_migrations`` holds ``{id, kind: move|delete, sourcePath, targetPath?, propertyType}``
    with dot paths into card metadata.
    """

    id = models.CharField(primary_key=True, max_length=140)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    source_schema = models.ForeignKey(Schema, on_delete=models.CASCADE, related_name="+")
    target_schema = models.ForeignKey(Schema, on_delete=models.CASCADE, related_name="+")
    question_migrations = models.JSONField(default=list)
    draft = models.BooleanField(default=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name
