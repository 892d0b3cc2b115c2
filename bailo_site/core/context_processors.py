from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from bailo_site.core.entities import is_admin


def ui(request: HttpRequest) -> dict[str, Any]:
    """Banner, announcement and the caller's admin flag for the base layout."""
    return {
        "bailo_ui": settings.BAILO_UI,
        "is_site_admin": is_admin(request.user),
        "oidc_enabled": settings.OIDC_ENABLED,
    }
