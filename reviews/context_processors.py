"""The navigation's "Reviews" badge: how many reviews wait for the signed-in user."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from reviews.badge import open_review_badge


def reviews(request: HttpRequest) -> dict[str, Any]:
    """``open_review_count`` for base.html: read only when a template shows it (from the cache,
    or one query: ``reviews.badge``), and 0 for anonymous visitors."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"open_review_count": 0}
    return {"open_review_count": SimpleLazyObject(lambda: open_review_badge(user))}
