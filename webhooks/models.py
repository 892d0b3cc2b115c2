"""Webhooks and their deliveries.

A ``Webhook`` belongs to an entry and names a URL to POST to when one of its ``events`` happens on
that entry. Each event sent to a webhook is one ``WebhookDelivery``: the exact body, signed again at
each attempt with the webhook's secret, and a record of every attempt. Both go with the entry when
it is deleted (``deletion/cascade.py``); deleting a webhook itself removes it and its deliveries.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models

from core.models import CreatedByModel, LiveManager, SoftDeleteModel, TimeStampedModel


class WebhookEvent(models.TextChoices):
    """Bailo's webhook events (``backend/src/models/Webhook.ts``)."""

    CREATE_RELEASE = "createRelease", "A release is created"
    UPDATE_RELEASE = "updateRelease", "A release is changed"
    CREATE_REVIEW_RESPONSE = "createReviewResponse", "A reviewer responds to a review"
    CREATE_ACCESS_REQUEST = "createAccessRequest", "Someone asks for access"
    # Fires when a mirrored model's import completes (mirroring.notifications).
    IMPORT_MODEL = "importModel", "A mirrored model is imported"


# The event of a delivery made with "Send test event"; not one a webhook subscribes to.
TEST_EVENT = "test"


class Webhook(TimeStampedModel, CreatedByModel, SoftDeleteModel):
    """A URL an entry's owners want called when ``events`` happen to the entry.

    Invariants: ``events`` is a non-empty list of distinct ``WebhookEvent`` values (an omitted list
    is stored as every event); ``uri`` passed ``core.ports.webhooks.check_target`` when saved and
    is checked again at every delivery; ``secret`` signs every body (HMAC-SHA256) and is shown to
    its owners once. A webhook that is not ``active`` sends nothing. Only an entry deletion hides a
    webhook (soft delete); deleting the webhook itself removes the row.
    """

    id = models.CharField(primary_key=True, max_length=160)
    model = models.ForeignKey("models_app.Model", on_delete=models.CASCADE, related_name="webhooks")
    name = models.CharField(max_length=200)
    uri = models.CharField(max_length=2048)
    # Sent as "Authorization: Bearer <token>" when not empty.
    token = models.CharField(max_length=1000, blank=True)
    secret = models.CharField(max_length=100)
    insecure_ssl = models.BooleanField(default=False)
    events = models.JSONField(default=list)
    active = models.BooleanField(default=True)

    objects = LiveManager()  # type: ignore[assignment,misc]
    all_objects = models.Manager()  # type: ignore[assignment,misc]

    class Meta:
        ordering = ["created_at", "id"]
        base_manager_name = "all_objects"

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"

    def listens_to(self, event: str) -> bool:
        return event in (self.events or [])


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Delivered"
    FAILED = "failed", "Failed"
    # Not sent: the webhook was paused or its entry deleted before the attempt was due.
    DROPPED = "dropped", "Not sent"


class WebhookDelivery(TimeStampedModel):
    """One event sent to one webhook: the body, its state and every attempt made.

    ``id`` is the delivery id sent in ``X-Bailo-Delivery``; a redelivery is a new delivery (new id,
    same ``event`` and ``body``) that names the one it repeats in ``redelivery_of``. ``attempts``
    holds one record per attempt, oldest first, at most ``delivery.MAX_ATTEMPTS``:
    ``{number, at, statusCode, durationMs, error, response}``. While ``PENDING``,
    ``next_attempt_at`` is when the next attempt is due (during an attempt: until when it may
    take before a sweep starts another).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=32)
    body = models.TextField()
    state = models.CharField(
        max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempt_count = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    attempts = models.JSONField(default=list)
    # Why a delivery ended without (more) attempts: paused, entry deleted, target refused.
    note = models.CharField(max_length=300, blank=True)
    redelivery_of = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["webhook", "-created_at"], name="webhook_delivery_recent"),
            models.Index(fields=["state", "next_attempt_at"], name="webhook_delivery_due"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(state="pending") | models.Q(next_attempt_at__isnull=False),
                name="webhook_delivery_pending_has_due_time",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.webhook_id} ({self.state})"

    @property
    def last_attempt(self) -> dict[str, Any] | None:
        return self.attempts[-1] if self.attempts else None
