"""Deletion records: one row per user-visible deletion (a file, a release, an image or a model).

Every soft-deleted row points back at the ``Deletion`` that hid it, so a restore or a purge acts on
exactly the rows of one deletion and nothing else.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Deletion(models.Model):
    """Who deleted what and when, what went with it, and how far the purge has got.

    Invariant: ``state`` moves pending -> purging -> purged, or pending -> restored; a purged
    deletion can never be restored.
    """

    class Kind(models.TextChoices):
        MODEL = "model", "Model"
        RELEASE = "release", "Release"
        FILE = "file", "File"
        IMAGE = "image", "Image"

    class State(models.TextChoices):
        PENDING = "pending", "Pending purge"
        PURGING = "purging", "Purging"
        PURGED = "purged", "Purged"
        RESTORED = "restored", "Restored"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    subject = models.CharField(max_length=300, help_text="What was deleted, e.g. a model id")
    subject_name = models.CharField(max_length=300, blank=True)
    model_id = models.CharField(max_length=200, blank=True, db_index=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    deleted_at = models.DateTimeField(default=timezone.now, db_index=True)
    purge_due = models.DateTimeField(db_index=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    counts = models.JSONField(default=dict, blank=True)
    total_bytes = models.BigIntegerField(default=0)
    progress = models.JSONField(default=dict, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)
    restored_at = models.DateTimeField(null=True, blank=True)
    restored_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-deleted_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.subject_name or self.subject} ({self.state})"
