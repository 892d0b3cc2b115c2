"""Personal access tokens.

A token stands in for its user on the API and at ``docker login``: HTTP Basic with the access key
and secret. It can never do more than its user, and only the actions (and, with scope ``models``,
the models) it names.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from bailo_site.core.models import TimeStampedModel


class TokenScope(models.TextChoices):
    ALL = "all", "All models"
    MODELS = "models", "Chosen models"


class Token(TimeStampedModel):
    """A personal access token. The secret is stored only as an argon2 hash.

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
    hash_method = models.CharField(max_length=16, default="argon2")
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
