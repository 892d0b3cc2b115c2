"""What other features add to the release pages, all registered in reviews/apps.py: the reviews
feature adds its panel under a release, a banner above it (the review waiting for the viewer,
roles nobody holds), the review state of each release in the list, and the warning a new release
gets when it owes a review nobody can answer."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.http import HttpRequest

from core.hooks import Hook
from models_app.frame import Panel
from models_app.models import Model
from releases.models import Release

# Each takes (request, entry, release) and returns a Panel, or None to add nothing.
RELEASE_PAGE_PANELS: Hook[Callable[[HttpRequest, Model, Release], Panel | None]] = Hook(
    "release page panels"
)
# The same, shown at the top of the release page.
RELEASE_PAGE_BANNERS: Hook[Callable[[HttpRequest, Model, Release], Panel | None]] = Hook(
    "release page banners"
)
# Each takes the listed releases and returns {release pk: (state, label)} for those it knows.
RELEASE_LIST_STATES: Hook[Callable[[Iterable[Release]], dict[Any, tuple[str, str]]]] = Hook(
    "release list states"
)
# Each takes (entry, new release) and returns warnings for the person who created it.
RELEASE_CREATED_WARNINGS: Hook[Callable[[Model, Release], list[str]]] = Hook(
    "release created warnings"
)
