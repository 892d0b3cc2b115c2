"""Writes for personal access tokens: minting and revoking.

A token is minted by a signed-in user for themself. It can never carry more than its user holds:
the models it names must be visible to the user, and the administrator-only actions need an
administrator. A token cannot mint further tokens, so a leaked token cannot outlive its own
revocation.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from access.models import Token, TokenHashMethod, TokenScope
from access.tokens.credentials import hash_secret, new_access_key, new_secret
from core.audit import AuditAction, audit_record
from core.errors import BadRequest, Forbidden, NotFound
from models_app.models import Model
from models_app.policy import Actor, TokenAction, token_actions_refused, visible_to

DESCRIPTION_MAX = 200
# Access keys are random; a clash is astronomically rare, but the unique index decides.
_KEY_ATTEMPTS = 5


def _bad(message: str, field: str) -> BadRequest:
    """A 400 naming the input field at fault, so forms can show it beside that field."""
    return BadRequest(message, {"property": field})


def _clean_description(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _bad("description is required", "description")
    value = value.strip()
    if len(value) > DESCRIPTION_MAX:
        raise _bad(f"description must be at most {DESCRIPTION_MAX} characters", "description")
    return value


def _clean_scope(value: Any) -> str:
    if value not in TokenScope.values:
        raise _bad(f"scope must be one of: {', '.join(TokenScope.values)}", "scope")
    return str(value)


def _clean_actions(value: Any, *, actor: Actor) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise _bad("actions must be a list of action names", "actions")
    if not value:
        raise _bad("Choose at least one action for the token", "actions")
    unknown = sorted(set(value) - set(TokenAction))
    if unknown:
        raise _bad(f"Unknown action(s): {', '.join(unknown)}", "actions")
    admin_only = token_actions_refused(actor, value)
    if admin_only:
        raise Forbidden(
            f"Only administrators may create tokens with {', '.join(admin_only)}",
            {"property": "actions"},
        )
    return list(dict.fromkeys(value))


def _clean_models(value: Any, *, scope: str, actor: Actor) -> list[Model]:
    if value is None:
        value = []
    if not isinstance(value, list) or not all(isinstance(m, str) and m for m in value):
        raise _bad("modelIds must be a list of model ids", "modelIds")
    ids = list(dict.fromkeys(value))
    if scope == TokenScope.ALL:
        if ids:
            raise _bad("modelIds can only be given when scope is 'models'", "modelIds")
        return []
    if not ids:
        raise _bad("Choose at least one model for a token limited to chosen models", "modelIds")
    found = {m.pk: m for m in visible_to(actor, rows=Model.objects.filter(pk__in=ids))}
    missing = [i for i in ids if i not in found]
    if missing:
        # Unknown and invisible look alike, so the answer does not reveal private entries.
        raise _bad(f"Unknown model(s): {', '.join(missing)}", "modelIds")
    return [found[i] for i in ids]


def _end_of_day(day: date) -> datetime:
    """A token that "expires on" a day works through that whole day in the site's time zone."""
    start_of_next = datetime.combine(day + timedelta(days=1), time.min)
    return timezone.make_aware(start_of_next, timezone.get_current_timezone())


def clean_expiry(value: Any) -> datetime | None:
    """An expiry from a datetime, a date, or an ISO 8601 string of either; None for never.

    A bare date means the end of that day. The result must be in the future.
    """
    if value in (None, ""):
        return None
    expires: datetime | None
    if isinstance(value, datetime):
        expires = value
    elif isinstance(value, date):
        expires = _end_of_day(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            # A bare date first: fromisoformat would read it as that day's midnight.
            day = parse_date(text)
            expires = _end_of_day(day) if day else parse_datetime(text.replace("Z", "+00:00"))
        except ValueError:
            expires = None
        if expires is None:
            raise _bad(
                "expiresAt must be an ISO 8601 date or date-time, e.g. 2030-01-31", "expiresAt"
            )
    else:
        raise _bad("expiresAt must be an ISO 8601 date or date-time", "expiresAt")
    if timezone.is_naive(expires):
        expires = timezone.make_aware(expires, timezone.get_current_timezone())
    if expires <= timezone.now():
        raise _bad("expiresAt must be in the future", "expiresAt")
    return expires


def token_create(
    *,
    actor: Actor,
    description: Any,
    scope: Any,
    model_ids: Any,
    actions: Any,
    expires_at: Any = None,
) -> tuple[Token, str]:
    """Mint a token for the acting user. Returns the token and its secret, which is not kept.

    Raises Forbidden when called with a token (tokens cannot mint tokens) or when a
    non-administrator asks for an administrator-only action; BadRequest for invalid input.
    """
    if actor.token is not None:
        raise Forbidden("Access tokens cannot create access tokens: sign in to create one")
    if not actor.user.is_authenticated:
        raise Forbidden("Sign in to create an access token")
    cleaned_description = _clean_description(description)
    cleaned_scope = _clean_scope(scope)
    cleaned_actions = _clean_actions(actions, actor=actor)
    models = _clean_models(model_ids, scope=cleaned_scope, actor=actor)
    expires = clean_expiry(expires_at)

    secret = new_secret()
    secret_hash = hash_secret(secret)
    token: Token | None = None
    for attempt in range(_KEY_ATTEMPTS):
        try:
            with transaction.atomic():
                token = Token.objects.create(
                    user=actor.user,
                    description=cleaned_description,
                    scope=cleaned_scope,
                    actions=cleaned_actions,
                    access_key=new_access_key(),
                    secret_hash=secret_hash,
                    hash_method=TokenHashMethod.HMAC_SHA256,
                    expires_at=expires,
                )
                token.scoped_models.set(models)
                audit_record(
                    action=AuditAction.TOKEN_CREATE,
                    actor=actor.user,
                    subject=token.access_key,
                    detail={
                        "description": cleaned_description,
                        "scope": cleaned_scope,
                        "modelIds": [m.pk for m in models],
                        "actions": cleaned_actions,
                        "expiresAt": expires.isoformat() if expires else None,
                    },
                )
            break
        except IntegrityError:
            if attempt == _KEY_ATTEMPTS - 1:
                raise
    assert token is not None
    return token, secret


def token_revoke(*, actor: Actor, access_key: Any) -> Token:
    """Revoke one of the acting user's tokens; it authenticates nothing from now on.

    Another user's token, an unknown key and an already revoked token are all 404.
    """
    if not actor.user.is_authenticated:
        raise NotFound("Token not found")
    with transaction.atomic():
        token = (
            Token.objects.select_for_update()
            .filter(user=actor.user, access_key=str(access_key), revoked_at__isnull=True)
            .first()
        )
        if token is None:
            raise NotFound(f"Token {access_key} not found", {"accessKey": str(access_key)})
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at", "updated_at"])
        audit_record(action=AuditAction.TOKEN_REVOKE, actor=actor.user, subject=token.access_key)
    return token
