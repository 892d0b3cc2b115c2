"""How people and groups are named across the system: ``user:<username>`` and ``group:<name>``."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

USER_PREFIX = "user:"
GROUP_PREFIX = "group:"


def user_entity(user: AbstractBaseUser) -> str:
    return f"{USER_PREFIX}{user.get_username()}"


def group_entity(name: str) -> str:
    return f"{GROUP_PREFIX}{name}"


def entities_of(user: AbstractBaseUser | AnonymousUser) -> list[str]:
    """Every entity string that stands for this user: themself and each of their groups."""
    if not user.is_authenticated:
        return []
    names = [user_entity(user)]
    names.extend(group_entity(g) for g in user.groups.values_list("name", flat=True))  # type: ignore[union-attr]
    return names


def is_admin(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Site administrators: members of the admin group, or Django superusers."""
    if not user.is_authenticated:
        return False
    cached = getattr(user, "_bailo_is_admin", None)
    if cached is None:
        cached = bool(getattr(user, "is_superuser", False)) or user.groups.filter(  # type: ignore[union-attr]
            name=settings.BAILO_ADMIN_GROUP
        ).exists()
        user._bailo_is_admin = cached  # type: ignore[union-attr]
    return bool(cached)


def parse_entity(value: str) -> tuple[str, str]:
    """Split ``user:alice`` into ``("user", "alice")``; raises ValueError otherwise."""
    kind, sep, name = value.partition(":")
    if not sep or kind not in {"user", "group"} or not name:
        raise ValueError(f"'{value}' is not an entity; expected user:<name> or group:<name>")
    return kind, name
