"""Personal access tokens.

A token stands in for its user on the API and at ``docker login``: HTTP Basic with the access key
and secret. It can never do more than its user, and only the actions (and, with scope ``models``,
the models) it names.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.models import LiveManager, SoftDeleteModel, TimeStampedModel


class TokenScope(models.TextChoices):
    ALL = "all", "All models"
    MODELS = "models", "Chosen models"


class TokenHashMethod(models.TextChoices):
    """How a token's secret is stored (access/tokens/credentials.py says why)."""

    HMAC_SHA256 = "hmac-sha256", "HMAC-SHA256 under the server's token key"
    ARGON2 = "argon2", "argon2id (tokens minted before hmac-sha256; rehashed on use)"


class Token(TimeStampedModel):
    """A personal access token. The secret is never stored, only its keyed hash
    (``hash_method``).

    Invariant: a revoked token (``revoked_at`` set) or one past ``expires_at``
    authenticates nothing.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tokens"
    )
    description = models.CharField(max_length=200)
    scope = models.CharField(max_length=16, choices=TokenScope.choices, default=TokenScope.ALL)
    actions = models.JSONField(default=list)
    # With scope "models", the entries this token may touch; deleting an entry removes it here.
    scoped_models = models.ManyToManyField("models_app.Model", blank=True, related_name="+")
    access_key = models.CharField(max_length=12, unique=True)
    secret_hash = models.CharField(max_length=200)
    hash_method = models.CharField(
        max_length=16, choices=TokenHashMethod.choices, default=TokenHashMethod.HMAC_SHA256
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.access_key} ({self.description})"

    def is_usable(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()


class AccessRequest(TimeStampedModel, SoftDeleteModel):
    """A request for the named users and groups to download from and pull images of an entry.

    ``metadata`` follows the access-request schema; ``metadata.overview`` holds ``name``,
    ``entities`` and the optional ``endDate``. ``end_date`` and the ``entities`` rows copy those
    two answers so that "who has access, until when" is an indexed query; the access-request
    services keep them in step with ``metadata`` in the same transaction. Its state is derived
    from its reviews, never stored.
    """

    id = models.CharField(primary_key=True, max_length=160)
    model = models.ForeignKey(
        "models_app.Model", on_delete=models.CASCADE, related_name="access_requests"
    )
    schema = models.ForeignKey("models_app.Schema", on_delete=models.PROTECT, related_name="+")
    metadata = models.JSONField(default=dict)
    end_date = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    objects = LiveManager()  # type: ignore[assignment,misc]
    all_objects = models.Manager()  # type: ignore[assignment,misc]

    class Meta:
        base_manager_name = "all_objects"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.id} on {self.model_id}"

    @property
    def name(self) -> str:
        overview = self.metadata.get("overview") or {}
        return str(overview.get("name") or self.id)


class AccessRequestEntity(models.Model):
    """One user or group named by an access request (a copy of ``metadata.overview.entities``)."""

    access_request = models.ForeignKey(
        AccessRequest, on_delete=models.CASCADE, related_name="entity_rows"
    )
    entity = models.CharField(max_length=200, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["access_request", "entity"], name="access_request_entity_unique"
            )
        ]

    def __str__(self) -> str:
        return self.entity
