"""Releases, the files they ship and the scans of those files.

Images live in the registry, not here: a release refers to them as ``{repository, name, tag}``.
A scan's state is the scanner port's vocabulary (``core.ports.scanners.ScanState``).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from core.models import CreatedByModel, LiveManager, SoftDeleteModel, TimeStampedModel
from core.ports.scanners import ScanState


class FileQuerySet(models.QuerySet["File"]):
    def complete(self) -> FileQuerySet:
        return self.filter(complete=True)


class FileManager(LiveManager):
    def get_queryset(self) -> FileQuerySet:  # type: ignore[override]
        return FileQuerySet(self.model, using=self._db).filter(deleted_at__isnull=True)


class File(TimeStampedModel, CreatedByModel, SoftDeleteModel):
    """A file uploaded to an entry. Invisible to users until ``complete``.

    Invariants: ``storage_key`` names the blob in the uploads bucket and never changes; ``sha256``
    and ``size`` describe the stored bytes once complete; ``upload_id`` is set only while a
    multipart upload is open.
    """

    id = models.CharField(primary_key=True, max_length=32)
    model = models.ForeignKey("models_app.Model", on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=255)
    size = models.BigIntegerField(default=0)
    mime = models.CharField(max_length=255, default="application/octet-stream")
    storage_key = models.CharField(max_length=400, unique=True)
    complete = models.BooleanField(default=False, db_index=True)
    sha256 = models.CharField(max_length=64, blank=True)
    tags = models.JSONField(default=list, blank=True)
    upload_id = models.CharField(max_length=300, blank=True)
    part_size = models.BigIntegerField(default=0)

    objects = FileManager()  # type: ignore[assignment,misc]
    all_objects = models.Manager()  # type: ignore[assignment,misc]

    class Meta:
        base_manager_name = "all_objects"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["model", "complete"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class FilePart(models.Model):
    """One stored part of an open multipart upload; removed when the upload finishes or aborts."""

    file = models.ForeignKey(File, on_delete=models.CASCADE, related_name="parts")
    part_number = models.PositiveIntegerField()
    etag = models.CharField(max_length=200)
    size = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["file", "part_number"], name="file_part_unique"),
        ]
        ordering = ["part_number"]

    def __str__(self) -> str:
        return f"{self.file_id} part {self.part_number}"


class Release(TimeStampedModel, CreatedByModel, SoftDeleteModel):
    """A numbered release of an entry.

    Invariants: (model, semver) is unique over all rows, soft-deleted ones included, so a semver is
    never reused until purged; ``major``/``minor_version``/``patch``/``prerelease`` mirror
    ``semver`` for numeric ordering; ``is_minor`` and ``semver`` never change after creation.
    """

    model = models.ForeignKey("models_app.Model", on_delete=models.CASCADE, related_name="releases")
    semver = models.CharField(max_length=100)
    major = models.PositiveIntegerField()
    minor_version = models.PositiveIntegerField()
    patch = models.PositiveIntegerField()
    prerelease = models.CharField(max_length=100, blank=True)
    notes = models.TextField()
    is_minor = models.BooleanField(default=False)
    draft = models.BooleanField(default=False)
    model_card_version = models.PositiveIntegerField()
    files = models.ManyToManyField(File, through="ReleaseFile", related_name="releases")
    images = models.JSONField(default=list, blank=True)

    class Meta:
        base_manager_name = "all_objects"
        ordering = ["-major", "-minor_version", "-patch", "prerelease"]
        constraints = [
            models.UniqueConstraint(fields=["model", "semver"], name="release_unique_semver"),
        ]

    def __str__(self) -> str:
        return f"{self.model_id} {self.semver}"


class ReleaseFile(models.Model):
    """A file shipped by a release. Within one release, file names are unique (checked by the
    release service, since names live on File)."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE)
    file = models.ForeignKey(File, on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["release", "file"], name="release_file_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.release_id} -> {self.file_id}"


class ScanResult(TimeStampedModel, SoftDeleteModel):
    """The latest result of one scanner on one file (or one image layer).

    ``summary`` lists findings: ClamAV ``{virus}``; ModelScan ``{severity,
    vulnerabilityDescription}``; messages for errors and skips.
    """

    artefact_kind = models.CharField(max_length=10, default="file")
    file = models.ForeignKey(
        File, on_delete=models.CASCADE, null=True, blank=True, related_name="scans"
    )
    layer_digest = models.CharField(max_length=100, blank=True)
    tool_name = models.CharField(max_length=50)
    scanner_version = models.CharField(max_length=100, blank=True)
    state = models.CharField(
        max_length=20, choices=ScanState.choices, default=ScanState.NOT_SCANNED
    )
    summary = models.JSONField(default=list, blank=True)
    additional_info = models.JSONField(default=dict, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        base_manager_name = "all_objects"
        constraints = [
            models.UniqueConstraint(
                fields=["file", "tool_name"],
                condition=Q(file__isnull=False),
                name="scan_unique_file_tool",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tool_name} {self.state} {self.file_id or self.layer_digest}"
