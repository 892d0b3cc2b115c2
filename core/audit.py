"""The audit vocabulary and the one function that records an event.

Event names are ``subject:action``; services emit them, and webhooks reuse the same names.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from core.entities import user_entity
from core.models import AuditEvent


class AuditAction(StrEnum):
    USER_SIGN_IN = "user:sign_in"
    USER_SIGN_OUT = "user:sign_out"
    USER_PASSWORD_CHANGE = "user:password_change"
    MODEL_CREATE = "model:create"
    MODEL_UPDATE = "model:update"
    MODEL_DELETE = "model:delete"
    MODEL_CARD_UPDATE = "model_card:update"
    SCHEMA_CREATE = "schema:create"
    SCHEMA_UPDATE = "schema:update"
    SCHEMA_DELETE = "schema:delete"
    RELEASE_CREATE = "release:create"
    RELEASE_UPDATE = "release:update"
    RELEASE_DELETE = "release:delete"
    FILE_UPLOAD = "file:upload"
    FILE_UPDATE = "file:update"
    FILE_DOWNLOAD = "file:download"
    FILE_DELETE = "file:delete"
    IMAGE_DELETE = "image:delete"
    TOKEN_CREATE = "token:create"
    TOKEN_REVOKE = "token:revoke"
    ACCESS_REQUEST_CREATE = "access_request:create"
    ACCESS_REQUEST_UPDATE = "access_request:update"
    ACCESS_REQUEST_DELETE = "access_request:delete"
    REVIEW_ROLE_CREATE = "review_role:create"
    REVIEW_ROLE_UPDATE = "review_role:update"
    REVIEW_ROLE_DELETE = "review_role:delete"
    COMMENT_ADD = "comment:add"
    FILE_RESCAN = "file:rescan"
    REVIEW_RESPOND = "review:respond"
    LIFECYCLE_REVIEW_CREATE = "review:create_lifecycle"
    WEBHOOK_CREATE = "webhook:create"
    WEBHOOK_UPDATE = "webhook:update"
    WEBHOOK_DELETE = "webhook:delete"
    WEBHOOK_SECRET_RESET = "webhook:secret_reset"
    WEBHOOK_TEST = "webhook:test"
    WEBHOOK_REDELIVER = "webhook:redeliver"
    INFERENCE_CREATE = "inference:create"
    INFERENCE_UPDATE = "inference:update"
    INFERENCE_DELETE = "inference:delete"
    DELETION_RESTORE = "deletion:restore"
    DELETION_PURGE = "deletion:purge"


def audit_event(
    *,
    action: AuditAction,
    actor: AbstractBaseUser | AnonymousUser | str | None,
    subject: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """One audit event, not yet saved (for a write that saves it with its other rows)."""
    if isinstance(actor, str):
        actor_name = actor
    elif actor is None or not actor.is_authenticated:
        actor_name = ""
    else:
        actor_name = user_entity(actor)
    return AuditEvent(actor=actor_name, action=str(action), subject=subject, detail=detail or {})


def audit_record(
    *,
    action: AuditAction,
    actor: AbstractBaseUser | AnonymousUser | str | None,
    subject: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event. ``actor`` may be a user or an entity string."""
    event = audit_event(action=action, actor=actor, subject=subject, detail=detail)
    event.save(force_insert=True)
    return event
