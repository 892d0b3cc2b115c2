"""Exports of a model to a mirror (source side) and transfers into a mirrored model (import side).

Both keep per-artefact progress as a JSON list, each item ``{key, name, kind, status, error}``
with ``kind`` documents | file | image and ``status`` one of ``ArtefactStatus``: an export or a
transfer has a handful of artefacts, always read and written whole, under the row's lock.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from core.models import CreatedByModel, TimeStampedModel


class ArtefactStatus(models.TextChoices):
    # Bailo's vocabulary; requested and denied are part of it but unused, as upstream.
    REQUESTED = "requested", "Requested"
    DENIED = "denied", "Denied"
    IN_PROGRESS = "in_progress", "In progress"
    FAILED = "failed", "Failed"
    COMPLETED = "completed", "Completed"


class ArtefactKind(models.TextChoices):
    DOCUMENTS = "documents", "Documents"
    FILE = "file", "File"
    IMAGE = "image", "Image"


def overall_status(artefacts: list[dict[str, Any]]) -> str:
    """Failed if any artefact failed; completed if all completed; otherwise in progress."""
    states = {a.get("status") for a in artefacts}
    if ArtefactStatus.FAILED in states:
        return ArtefactStatus.FAILED.value
    if artefacts and states == {ArtefactStatus.COMPLETED}:
        return ArtefactStatus.COMPLETED.value
    return ArtefactStatus.IN_PROGRESS.value


def is_finished(artefacts: list[dict[str, Any]]) -> bool:
    """Bailo's ``completed``: no artefact is still in progress."""
    return bool(artefacts) and all(a.get("status") != ArtefactStatus.IN_PROGRESS for a in artefacts)


class Export(TimeStampedModel, CreatedByModel):
    """One export of a source model to the exports bucket, run by a worker.

    Invariants: ``id`` is the ``exportId`` written into every tarball's metadata; ``artefacts``
    lists every tarball of the export from the start (queued as in progress), and each ends
    completed or failed; ``status`` is ``overall_status(artefacts)`` once the worker has finished.
    """

    id = models.CharField(primary_key=True, max_length=32)
    model = models.ForeignKey(
        "models_app.Model", on_delete=models.CASCADE, related_name="mirror_exports"
    )
    destination_model_id = models.CharField(max_length=200)
    semvers = models.JSONField(default=list, blank=True)
    status = models.CharField(
        max_length=20, choices=ArtefactStatus.choices, default=ArtefactStatus.IN_PROGRESS
    )
    artefacts = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"export {self.id} of {self.model_id}"


class ModelTransfer(TimeStampedModel):
    """The import of one export into a mirrored model, tarball by tarball.

    Invariants: one transfer per ``export_id`` (Bailo's ``exportId``); each artefact keeps the
    ``payloadUrl`` it was imported from, so a failed one can be retried; the owners are told
    once, when no artefact is in progress any more (``completed_notification_sent``).
    """

    export_id = models.CharField(max_length=32, unique=True)
    model = models.ForeignKey(
        "models_app.Model", on_delete=models.CASCADE, related_name="mirror_transfers"
    )
    peer_id = models.CharField(max_length=200, blank=True)
    artefacts = models.JSONField(default=list, blank=True)
    # The exporter as the tarball names them (a user on the source instance).
    exported_by = models.CharField(max_length=200, blank=True)
    completed_notification_sent = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"transfer {self.export_id} into {self.model_id}"

    @property
    def status(self) -> str:
        return overall_status(self.artefacts)

    @property
    def completed(self) -> bool:
        return is_finished(self.artefacts)
