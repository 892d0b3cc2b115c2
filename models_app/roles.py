"""Roles people hold on entries: the system roles, and the review roles administrators define.

Collaborator rows and schemas name review roles by short name. The roles themselves, with their
names and descriptions, are kept by the reviews feature, which registers itself as their source
in ``REVIEW_ROLE_SOURCES`` (``reviews/apps.py``); this layer only asks which exist.
"""

from __future__ import annotations

import re
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

# A review role's short name; schemas may name one before an administrator defines it.
REVIEW_ROLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,49}$")


def review_roles() -> list[ReviewRoleInfo]:
    """Every review role, by short name."""
    found = {r.short_name: r for source in REVIEW_ROLE_SOURCES for r in source()}
    return [found[name] for name in sorted(found)]


def review_role_names() -> set[str]:
    return {r.short_name for r in review_roles()}


def undefined_review_roles(names: Iterable[str], defined: set[str] | None = None) -> list[str]:
    """Those of ``names`` that no administrator has defined yet (``defined``: the known names,
    when the caller already has them)."""
    known = review_role_names() if defined is None else defined
    return [name for name in names if name not in known]


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
