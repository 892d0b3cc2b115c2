from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from core.entities import is_admin


def ui(request: HttpRequest) -> dict[str, Any]:
    """Banner, announcement and the caller's admin flag for the base layout."""
    return {
        "bailo_ui": settings.BAILO_UI,
        # A request refused before authentication (a bad Host header) has no user.
        "is_site_admin": is_admin(user) if (user := getattr(request, "user", None)) else False,
        "oidc_enabled": settings.OIDC_ENABLED,
    }
