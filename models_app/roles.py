"""Roles people hold on entries: the system roles, and the review roles administrators define.

Collaborator rows and schemas name review roles by short name. The roles themselves, with their
names and descriptions, are kept by the reviews feature, which registers itself as their source
in ``REVIEW_ROLE_SOURCES`` (``reviews/apps.py``); this layer only asks which exist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings

from core.hooks import Hook
from models_app.models import SystemRole


@dataclass(frozen=True)
class ReviewRoleInfo:
    """What the entries layer knows of a review role."""

    short_name: str
    name: str
    description: str = ""


REVIEW_ROLE_SOURCES: Hook[Callable[[], Iterable[ReviewRoleInfo]]] = Hook("review roles")


def review_roles() -> list[ReviewRoleInfo]:
    """Every review role, by short name."""
    found = {r.short_name: r for source in REVIEW_ROLE_SOURCES for r in source()}
    return [found[name] for name in sorted(found)]


def review_role_names() -> set[str]:
    return {r.short_name for r in review_roles()}


def system_role_names() -> dict[str, str]:
    """System role id to the name shown (Bailo's ``ui.roleDisplayNames``)."""
    names = settings.BAILO_UI.get("roleDisplayNames", {})
    return {r.value: names.get(r.value, r.label) for r in SystemRole}


def role_choices() -> list[tuple[str, str]]:
    """System roles, then review roles, with the names people know them by."""
    review = [(r.short_name, f"{r.name} ({r.short_name})") for r in review_roles()]
    return [*system_role_names().items(), *review]


def known_roles() -> set[str]:
    """Every role a collaborator may hold."""
    return set(SystemRole.values) | review_role_names()
