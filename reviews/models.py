"""Review roles. Reviews and responses arrive with the reviews feature."""

from __future__ import annotations

from django.db import models

from bailo_site.core.models import TimeStampedModel


class ReviewRole(TimeStampedModel):
    """A role whose holders review releases and access requests (e.g. ``msro``, ``mtr``).

    Roles attach to schemas by short name; entries assign people to them as collaborators.
    ``default_entities`` are added as holders on entries that use a schema with the role.
    """

    short_name = models.CharField(max_length=50, unique=True)
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    default_entities = models.JSONField(default=list, blank=True)
    lock_entities = models.BooleanField(default=False)

    class Meta:
        ordering = ["short_name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.short_name})"
