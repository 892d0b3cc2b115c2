"""What other features add to the release pages: the reviews feature adds its panel under a
release (registered in reviews/apps.py)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest

from core.hooks import Hook
from models_app.frame import Panel
from models_app.models import Model
from releases.models import Release

# Each takes (request, entry, release) and returns a Panel, or None to add nothing.
RELEASE_PAGE_PANELS: Hook[Callable[[HttpRequest, Model, Release], Panel | None]] = Hook(
    "release page panels"
)
