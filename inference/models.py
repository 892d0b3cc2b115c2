"""Inference services: one of an entry's registry images, run by the external deploy service.

A service is addressed, as in Bailo, by its entry and its image and tag (unique together among the
entry's live services). The row records what the deploy service was last asked to run and whether
the running deployment is still there: an entry deletion hides the row and asks the service to stop
it, in the background, until it has (``status``).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from core.models import CreatedByModel, LiveManager, SoftDeleteModel, TimeStampedModel

CPU = "cpu"


class DeploymentStatus(models.TextChoices):
    # The deploy service accepted the last deploy or update.
    RUNNING = "running", "Running"
    # The entry was deleted; the deploy service has not yet confirmed the removal (retried).
    REMOVING = "removing", "Removal pending"
    # The deploy service removed it after the entry was deleted; a restore leaves it stopped
    # until an owner deploys it again.
    REMOVED = "removed", "Not running"


class InferenceService(TimeStampedModel, CreatedByModel, SoftDeleteModel):
    """``image:tag`` of the entry's registry repository, served on ``port``.

    Invariants: ``memory`` (GB) is set exactly when ``processor_type`` is ``cpu``; ``port`` is
    1-65535; a row is ``RUNNING`` while live unless a restore brought it back ``REMOVED``;
    ``removal_*`` describe the attempts to stop the deployment after a deletion.
    """

    model = models.ForeignKey(
        "models_app.Model", on_delete=models.CASCADE, related_name="inference_services"
    )
    image = models.CharField(max_length=200)
    tag = models.CharField(max_length=128)
    description = models.TextField(blank=True, default="")
    processor_type = models.CharField(max_length=100)
    memory = models.PositiveSmallIntegerField(null=True, blank=True)
    port = models.PositiveIntegerField()
    status = models.CharField(
        max_length=16, choices=DeploymentStatus.choices, default=DeploymentStatus.RUNNING
    )
    removal_attempts = models.PositiveSmallIntegerField(default=0)
    removal_error = models.CharField(max_length=500, blank=True, default="")
    removal_due_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = LiveManager()  # type: ignore[assignment,misc]
    all_objects = models.Manager()  # type: ignore[assignment,misc]

    class Meta:
        ordering = ["created_at", "pk"]
        base_manager_name = "all_objects"
        constraints = [
            models.UniqueConstraint(
                fields=["model", "image", "tag"],
                condition=Q(deleted_at__isnull=True),
                name="inference_unique_live_image_tag",
            ),
            models.CheckConstraint(
                condition=Q(port__gte=1, port__lte=65535), name="inference_port_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model_id}/{self.image}:{self.tag}"
