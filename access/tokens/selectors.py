"""Reads for personal access tokens, and their JSON shape (Bailo's field names).

Nothing here ever returns a secret or its hash: the secret exists only in the response that
created the token.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from access.models import Token
from models_app.models import Model
from models_app.policy import (
    TOKEN_ACTION_CATALOGUE,
    Actor,
    token_actions_refused,
    visible_to,
)
from models_app.selectors import iso

# The fields a token listing needs; the hash stays in the database.
_LISTED_FIELDS = (
    "id",
    "user_id",
    "description",
    "scope",
    "actions",
    "access_key",
    "created_at",
    "updated_at",
    "expires_at",
    "revoked_at",
    "last_used_at",
)


def token_list(*, user: Any, include_revoked: bool = False) -> QuerySet[Token]:
    """The user's tokens, newest first, with their models in one extra query."""
    if not user.is_authenticated:
        return Token.objects.none()
    qs = (
        Token.objects.filter(user=user)
        .only(*_LISTED_FIELDS)
        .prefetch_related(
            Prefetch("scoped_models", queryset=Model.objects.only("id", "name").order_by("name"))
        )
    )
    if not include_revoked:
        qs = qs.filter(revoked_at__isnull=True)
    return qs


def token_json(token: Token, *, secret: str | None = None) -> dict[str, Any]:
    """Bailo's token shape. ``secret`` is only passed by the response that minted the token."""
    body: dict[str, Any] = {
        "accessKey": token.access_key,
        "description": token.description,
        "scope": token.scope,
        "modelIds": [m.pk for m in token.scoped_models.all()],
        "actions": list(token.actions or []),
        "createdAt": iso(token.created_at),
        "expiresAt": iso(token.expires_at),
        "lastUsedAt": iso(token.last_used_at),
        "revoked": token.revoked_at is not None,
    }
    if secret is not None:
        body["secretKey"] = secret
    return body


def token_is_expired(token: Token) -> bool:
    return token.expires_at is not None and token.expires_at <= timezone.now()


def token_action_choices(*, actor: Actor) -> list[dict[str, str]]:
    """The catalogue of token actions this user may grant (administrator actions for admins)."""
    refused = set(token_actions_refused(actor, [a["id"] for a in TOKEN_ACTION_CATALOGUE]))
    return [a for a in TOKEN_ACTION_CATALOGUE if a["id"] not in refused]


def token_model_choices(*, actor: Actor) -> QuerySet[Model]:
    """Entries the user can see, to limit a token to: only id and name are loaded."""
    return visible_to(actor).only("id", "name").order_by("name", "id")
