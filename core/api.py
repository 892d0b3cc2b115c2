"""System endpoints: UI configuration, the caller's identity, system status and component health."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Status

from core.api_helpers import documented
from core.authentication import optional_api_auth
from core.entities import entity_lookup, is_admin
from core.errors import NotFound
from core.federation.config import FederationState, PeerKind
from core.federation.service import federation_state, peer_status_start
from core.health import system_status
from core.openapi import answer, array, obj, string

router = Router(tags=["system"])
# Bailo's v3 API (``/api/v3``): the few routes it has that v2 does not.
router_v3 = Router(tags=["system"])


@router.get("/config/ui", auth=optional_api_auth, openapi_extra=documented(answer("uiConfig")))
def config_ui(request: HttpRequest) -> dict[str, Any]:
    return {"uiConfig": settings.BAILO_UI}


@router.get("/entities/me", openapi_extra=documented(answer("user")))
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


@router.get(
    "/system/status",
    auth=optional_api_auth,
    openapi_extra=documented(
        obj(
            {
                "ping": string(),
                "federation": obj(
                    {"state": string(enum=[s.value for s in FederationState]), "id": string()}
                ),
            },
            required=["ping", "federation"],
        )
    ),
)
def status(request: HttpRequest) -> dict[str, Any]:
    """Bailo's answer, which a federated peer reads to decide whether we are reachable."""
    return {
        "ping": "pong",
        "federation": {"state": federation_state().value, "id": settings.BAILO_FEDERATION_ID},
    }


_PEER_STATUS = obj(
    {
        "config": obj(
            {
                "state": string(),
                "baseUrl": string(),
                "label": string(),
                "kind": string(enum=[k.value for k in PeerKind]),
                "cache": obj({"query": {"type": "integer"}}),
                "timeout": {"type": "number"},
                "extra": {"type": "object"},
            },
            required=["state", "baseUrl", "label", "kind"],
        ),
        "status": obj(
            {
                "ping": string(description="pong when the peer answered"),
                "federation": obj({"state": string(), "id": string()}),
                "error": obj({"message": string(), "code": {"type": "integer"}}),
            },
            required=["ping"],
        ),
    },
    required=["config", "status"],
)


@router.get(
    "/system/peers",
    openapi_extra=documented(
        answer("peers", {"type": "object", "additionalProperties": _PEER_STATUS})
    ),
)
def peers(request: HttpRequest) -> dict[str, Any]:
    """The configured peers by id, each with its configuration and whether it answers now.

    Unlike Bailo, the configuration shown leaves out the peer's credentials, the system users it
    may escalate from, its proxy and its TLS files. Empty while federation is disabled.
    """
    return {"peers": peer_status_start().collect()}


@router.get(
    "/entity/{dn}/lookup",
    openapi_extra=documented(
        answer("entity", obj({"name": string(), "email": string()}, required=["name"])),
        {404: "No such user, or the user is deactivated"},
    ),
)
def lookup_entity(request: HttpRequest, dn: str) -> dict[str, Any]:
    """Who ``user:<dn>`` is (display name, e-mail), for showing people by name."""
    found = entity_lookup(dn)
    if found is None:
        raise NotFound(f"No user {dn[:100]} was found", {"dn": dn[:100]})
    return {"entity": found}


@router.get("/system/health", auth=optional_api_auth, response={200: dict, 503: dict})
def health(request: HttpRequest) -> Status[dict[str, Any]]:
    """Whether each component answers; 503 when one that is configured does not.

    Versions, engines, bucket names and error texts help an operator and an attacker alike, so
    only signed-in callers see them; anyone else sees each component's state alone.
    """
    components = system_status()
    healthy = all(c.state != "error" for c in components)
    detailed = request.user.is_authenticated
    body = {
        "ok": healthy,
        "status": "ok" if healthy else "degraded",
        "components": {
            c.name: (
                {"state": c.state, "detail": c.detail, "millis": c.millis}
                if detailed
                else {"state": c.state}
            )
            for c in components
        },
    }
    return Status(200 if healthy else 503, body)


@router_v3.get(
    "/entities/me",
    openapi_extra=documented(
        answer("user", obj({"dn": string(), "systemRoles": array(string())}, required=["dn"]))
    ),
)
def entities_me_v3(request: HttpRequest) -> dict[str, Any]:
    """Bailo's v3 identity: the caller's ``dn`` and system roles (here only ``admin`` exists)."""
    user = request.user
    return {
        "user": {
            "dn": user.get_username(),
            "systemRoles": ["admin"] if is_admin(user) else [],
        }
    }
