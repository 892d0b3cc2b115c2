"""Review roles, the reviews they owe (releases, access requests and the model card's lifecycle
reviews) and the responses to them."""

from __future__ import annotations

from typing import Any, Protocol

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.models import LiveManager, SoftDeleteModel, TimeStampedModel


class AccessRequestSubject(Protocol):
    """What reviews use of an access request (``access.AccessRequest``). The access-requests
    feature stands above reviews and opens its reviews itself; reviews know it only through
    ``Review.access_request``."""

    pk: Any
    model_id: str
    deleted_at: Any

    @property
    def name(self) -> str: ...


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


class ReviewKind(models.TextChoices):
    RELEASE = "release", "Release"
    ACCESS = "access", "Access request"
    LIFECYCLE = "lifecycle", "Model card"


# The role that answers lifecycle reviews: the entry's owners, by the literal role name.
LIFECYCLE_ROLE = "owner"


class Decision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REQUEST_CHANGES = "request_changes", "Request changes"
    UNDO = "undo", "Undo"


class Review(TimeStampedModel, SoftDeleteModel):
    """The review one role owes one release or one access request, or the periodic review of an
    entry's model card that its owners owe by ``due_date`` (``kind=lifecycle``, role ``owner``).

    Invariants: a release review has only ``release``, an access review only ``access_request``,
    a lifecycle review neither but a ``due_date``; at most one review per (subject, role); at most
    one open lifecycle review per entry (``completed_at`` is set when its owners answer it, which
    also opens the next one). ``reminders_sent`` names the reminder e-mails already sent for a
    lifecycle review (``reviews.lifecycle``), so a sweep that runs twice sends each once.
    """

    kind = models.CharField(max_length=16, choices=ReviewKind.choices)
    model = models.ForeignKey("models_app.Model", on_delete=models.CASCADE, related_name="reviews")
    role = models.CharField(max_length=50)
    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, null=True, blank=True, related_name="reviews"
    )
    access_request = models.ForeignKey(
        "access.AccessRequest",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reviews",
    )
    due_date = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.JSONField(default=list, blank=True)

    objects = LiveManager()  # type: ignore[assignment,misc]
    all_objects = models.Manager()  # type: ignore[assignment,misc]

    class Meta:
        base_manager_name = "all_objects"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="release", release__isnull=False, access_request__isnull=True)
                    | Q(kind="access", release__isnull=True, access_request__isnull=False)
                    | Q(
                        kind="lifecycle",
                        release__isnull=True,
                        access_request__isnull=True,
                        due_date__isnull=False,
                    )
                ),
                name="review_one_subject",
            ),
            models.UniqueConstraint(
                fields=["model"],
                condition=Q(kind="lifecycle", completed_at__isnull=True),
                name="review_one_open_lifecycle",
            ),
            models.UniqueConstraint(
                fields=["release", "role"],
                condition=Q(release__isnull=False),
                name="review_unique_release_role",
            ),
            models.UniqueConstraint(
                fields=["access_request", "role"],
                condition=Q(access_request__isnull=False),
                name="review_unique_access_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} review by {self.role} on {self.model_id}"


class Response(TimeStampedModel, SoftDeleteModel):
    """A reviewer's decision on a review, or a comment on a release or access request.

    Decisions (``kind=review``) belong to a ``review`` and carry ``decision``; the latest decision
    per review counts. Comments (``kind=comment``) belong to a release or an access request.
    """

    class Kind(models.TextChoices):
        REVIEW = "review", "Review"
        COMMENT = "comment", "Comment"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    entity = models.CharField(max_length=200)
    review = models.ForeignKey(
        Review, on_delete=models.CASCADE, null=True, blank=True, related_name="responses"
    )
    role = models.CharField(max_length=50, blank=True)
    decision = models.CharField(max_length=20, choices=Decision.choices, blank=True)
    comment = models.TextField(blank=True)
    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    access_request = models.ForeignKey(
        "access.AccessRequest", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    comment_edited_at = models.DateTimeField(null=True, blank=True)
    # Bailo's reactions: ``[{"kind": "like", "users": [dn, ...]}]``, one entry per kind that
    # someone chose; each person appears at most once per kind.
    reactions = models.JSONField(default=list, blank=True)

    objects = LiveManager()  # type: ignore[assignment,misc]
    all_objects = models.Manager()  # type: ignore[assignment,misc]

    class Meta:
        base_manager_name = "all_objects"
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="review", review__isnull=False) | Q(kind="comment", review__isnull=True)
                ),
                name="response_kind_matches_parent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} by {self.entity}"
