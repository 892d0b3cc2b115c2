"""Small abstract bases shared by every app, and the audit log.

Bases are composed, not stacked: a model takes ``TimeStampedModel`` for timestamps,
``CreatedByModel`` for authorship and ``SoftDeleteModel`` when deleting it must be reversible
until a purge.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession, BaseSessionManager
from django.db import models
from django.utils import timezone


class TimeStampedModel(models.Model):
    """Adds ``created_at`` and ``updated_at``, both maintained by the database layer."""

    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class CreatedByModel(models.Model):
    """Records who created a row. The user may be deleted later; the row stays."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        abstract = True


class LiveQuerySet(models.QuerySet[Any]):
    """Queryset verbs for soft-deletable rows."""

    def live(self) -> LiveQuerySet:
        return self.filter(deleted_at__isnull=True)

    def deleted(self) -> LiveQuerySet:
        return self.filter(deleted_at__isnull=False)


class LiveManager(models.Manager[Any]):
    """The default manager: soft-deleted rows do not exist for ordinary code."""

    def get_queryset(self) -> LiveQuerySet:
        return LiveQuerySet(self.model, using=self._db).filter(deleted_at__isnull=True)


class SoftDeleteModel(models.Model):
    """A row that deletion hides first and a purge removes later.

    Invariant: ``deleted_at`` is set exactly when ``deletion`` is set; a restore clears both.
    ``objects`` hides deleted rows; ``all_objects`` is for deletion, restore, purge and the
    Django admin only.
    """

    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True, editable=False)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    deletion = models.ForeignKey(
        "deletion.Deletion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    objects: ClassVar[LiveManager] = LiveManager()
    all_objects: ClassVar[models.Manager[Any]] = models.Manager()

    class Meta:
        abstract = True
        base_manager_name = "all_objects"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class AuditEvent(models.Model):
    """One thing that happened, named from the ``AuditAction`` vocabulary.

    Rows are append-only; ``actor`` is the entity string (``user:<name>``) so the record survives
    the user's removal. ``subject`` names what was acted on (a model id, ``model/release``).
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    subject = models.CharField(max_length=300, blank=True, db_index=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["action", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.subject}"


class UserSessionManager(BaseSessionManager):
    """Sessions read with the user they signed in (a join, not a second query)."""

    def get_queryset(self) -> models.QuerySet[Any]:
        return super().get_queryset().select_related("user")


class UserSession(AbstractBaseSession):
    """A browser session (``core.sessions``): Django's session row plus the user it signed in.

    ``user`` is null until sign-in and mirrors the session data's user id on every save, so one
    query reads a request's session and its user together. Deleting a user deletes their sessions;
    signing out deletes the row, so the session is revoked on the server.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )

    objects: ClassVar[UserSessionManager] = UserSessionManager()  # type: ignore[assignment]

    class Meta(AbstractBaseSession.Meta):
        verbose_name = "session"
        verbose_name_plural = "sessions"
