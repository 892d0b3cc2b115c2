"""Where reviews plug into the rest of the system: opening reviews when a release is published."""

from __future__ import annotations

from django.db import transaction

from releases.models import Release
from releases.services import RELEASE_PUBLISHED_HOOKS
from reviews.services import reviews_open_for_release


def open_release_reviews(release: Release) -> None:
    """Open one review per role of the release's card schema (called after the release is
    committed; all of its reviews are written together, and e-mails leave after that)."""
    with transaction.atomic():
        reviews_open_for_release(release)


def register() -> None:
    """Add the hook once, however many times the app is readied."""
    if open_release_reviews not in RELEASE_PUBLISHED_HOOKS:
        RELEASE_PUBLISHED_HOOKS.append(open_release_reviews)
