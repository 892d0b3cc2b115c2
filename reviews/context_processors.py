"""The navigation's "Reviews" badge: how many reviews wait for the signed-in user."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from reviews.selectors import open_review_count


def reviews(request: HttpRequest) -> dict[str, Any]:
    """``open_review_count`` for base.html: counted only when a template reads it (one query),
    and 0 for anonymous visitors."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"open_review_count": 0}
    return {"open_review_count": SimpleLazyObject(lambda: open_review_count(user))}
