"""System endpoints: UI configuration, the caller's identity, component status."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Router

from core.authentication import optional_api_auth
from core.entities import is_admin
from core.health import system_status

router = Router(tags=["system"])


@router.get("/config/ui", auth=optional_api_auth)
def config_ui(request: HttpRequest) -> dict[str, Any]:
    return {"ui": settings.BAILO_UI}


@router.get("/entities/me")
def entities_me(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    return {
        "user": {
            "dn": user.get_username(),
            "entity": f"user:{user.get_username()}",
            "email": getattr(user, "email", ""),
            "isAdmin": is_admin(user),
        }
    }


@router.get("/system/status", auth=optional_api_auth)
def status(request: HttpRequest) -> dict[str, Any]:
    components = system_status()
    healthy = all(c.state != "error" for c in components)
    return {
        "ok": healthy,
        "status": "ok" if healthy else "degraded",
        "components": {
            c.name: {"state": c.state, "detail": c.detail, "millis": c.millis} for c in components
        },
    }
