"""The registry's token endpoint: ``GET /api/v1/registry_auth`` (the Docker token auth spec).

The registry answers an unauthenticated client with a challenge naming this endpoint; the client
(``docker login``, ``docker push``, skopeo...) asks here with HTTP Basic (a personal access token's
access key and secret) or a signed-in session, names the ``service`` and the ``scope``s it wants,
and gets back a short-lived JWT for the scopes it may have.

Each scope ``repository:<modelId>/<image>:<actions>`` is checked with the permission policy and
the token's actions, as for every other request:

- ``pull`` needs download rights (``image:pull``; token action ``image:read``);
- ``push`` needs ``image:push`` (owner or contributor; token action ``image:write``), and never on
  a mirrored model; ``delete`` needs ``image:delete``;
- ``*`` is refused here: only our internal token (``core.ports.registry``) carries it;
- ``registry:catalog:*`` is for administrators only.

As in Bailo, scopes the caller may not have are dropped when they only read (containerd asks for
extra pull scopes when it cross-mounts layers); a refused push, delete or wildcard is a 403, and
so is a request in which no scope at all could be granted. No scope at all is ``docker login``:
the answer is a token granting nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from core.authentication import ApiAuthenticationFailed, authenticate_request
from core.entities import user_entity
from core.errors import Forbidden, NotFound
from core.ports import registry
from core.throttle import TooManyFailures
from models_app.models import EntryKind, Model
from models_app.policy import Action, Actor, TokenAction, check

log = logging.getLogger(__name__)

READ_ACTIONS = frozenset({"pull"})
ACTION_POLICY: dict[str, Action] = {
    "pull": Action.IMAGE_PULL,
    "push": Action.IMAGE_PUSH,
    "delete": Action.IMAGE_DELETE,
}
REGISTRY_KINDS = frozenset({EntryKind.MODEL.value, EntryKind.MIRRORED_MODEL.value})


class TokenRefused(Exception):
    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


@dataclass
class Scope:
    type: str
    name: str
    actions: list[str] = field(default_factory=list)

    def as_access(self, actions: list[str]) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "actions": actions}


def parse_scopes(values: list[str]) -> list[Scope]:
    """Each ``scope`` parameter may hold several space-separated scopes, and may repeat.

    A type can carry a class (``repository(plugin)``), which is ignored; a name contains ``/`` and
    never the last ``:``, so the actions are split off from the right.
    """
    scopes: list[Scope] = []
    for value in values:
        for item in value.split():
            kind, sep, rest = item.partition(":")
            name, sep2, actions = rest.rpartition(":")
            if not sep or not sep2 or not name:
                raise TokenRefused(400, f"Malformed scope '{item}': expected type:name:actions")
            kind = kind.split("(", 1)[0]
            wanted = list(dict.fromkeys(a for a in actions.split(",") if a))
            scopes.append(Scope(type=kind, name=name, actions=wanted))
    return scopes


def _grant_repository(actor: Actor, scope: Scope) -> tuple[list[str], str]:
    """The actions of ``scope`` the actor may have, and why the others were refused."""
    if scope.name.startswith(f"{registry.SOFT_DELETED_PREFIX}/"):
        return [], "Deleted images cannot be pulled or pushed"
    model_id, sep, image = scope.name.partition("/")
    if not sep or not image:
        return [], f"Image names must start with a model id: <modelId>/<name>, not '{scope.name}'"
    not_found = f"Model {model_id} not found"
    model = Model.objects.filter(pk=model_id).first()
    if model is None:
        return [], not_found
    granted: list[str] = []
    refusals: list[str] = []
    for action in scope.actions:
        policy_action = ACTION_POLICY.get(action)
        if policy_action is None:
            refusals.append(f"The action '{action}' cannot be granted on {scope.name}")
            continue
        try:
            check(actor, policy_action, model)
        except NotFound:
            # Unknown, deleted and invisible entries answer alike, so existence does not leak.
            return [], not_found
        except Forbidden as exc:
            refusals.append(exc.message)
            continue
        granted.append(action)
    if granted and model.kind not in REGISTRY_KINDS:
        return [], f"Images cannot be stored on a {EntryKind(model.kind).label.lower()}"
    return granted, "; ".join(dict.fromkeys(refusals))


def _may_read_catalogue(actor: Actor) -> bool:
    return (
        actor.is_admin
        and actor.token_allows(TokenAction.IMAGE_READ)
        and not actor.token_is_scoped_to_models()
    )


def grant(actor: Actor, scopes: list[Scope]) -> list[dict[str, Any]]:
    """The access list for a token, or ``TokenRefused`` (403) when a write is refused or when
    nothing that was asked for can be granted."""
    access: list[dict[str, Any]] = []
    reasons: list[str] = []
    for scope in scopes:
        if scope.type == "registry":
            if scope.name == "catalog" and _may_read_catalogue(actor):
                access.append(scope.as_access(scope.actions))
            else:
                reasons.append("Only administrators may read the registry catalogue")
            continue
        if scope.type != "repository":
            reasons.append(f"Unknown scope type '{scope.type}'")
            continue
        granted, reason = _grant_repository(actor, scope)
        if any(a not in granted and a not in READ_ACTIONS for a in scope.actions):
            raise TokenRefused(403, reason or f"Not allowed on {scope.name}")
        if granted:
            access.append(scope.as_access(granted))
        elif reason:
            log.debug("registry scope %s dropped: %s", scope.name, reason)
            reasons.append(reason)
    if scopes and not access:
        raise TokenRefused(
            403,
            "Requested image is not accessible: "
            + ("; ".join(dict.fromkeys(reasons)) or "no requested scope was granted"),
        )
    return access


def _docker_error(status: int, message: str, retry_after: int | None = None) -> JsonResponse:
    code = {
        401: "UNAUTHORIZED",
        403: "DENIED",
        400: "UNSUPPORTED",
        429: "TOOMANYREQUESTS",
        503: "UNAVAILABLE",
    }
    response = JsonResponse(
        {"errors": [{"code": code.get(status, "UNKNOWN"), "message": message}]}, status=status
    )
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="Bailo registry token service"'
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def _actor(request: HttpRequest) -> Actor:
    try:
        user = authenticate_request(request)
    except ApiAuthenticationFailed as exc:
        raise TokenRefused(401, exc.message) from exc
    except TooManyFailures as exc:
        raise TokenRefused(429, exc.message, retry_after=exc.retry_after) from exc
    if user is None:
        raise TokenRefused(
            401, "Authentication required: log in with a personal access token's access key"
        )
    return Actor.from_request(request)


@require_GET
def registry_auth(request: HttpRequest) -> JsonResponse:
    """Issue a registry token (see the module docstring)."""
    try:
        if not registry.is_configured():
            raise TokenRefused(503, "The Docker registry is not configured on this instance")
        actor = _actor(request)
        service = request.GET.get("service", "")
        if service != settings.REGISTRY_SERVICE:
            raise TokenRefused(
                401,
                f"Token requested for the service '{service}'; this server issues tokens "
                f"for '{settings.REGISTRY_SERVICE}'",
            )
        # docker login sends offline_token=true. Bailo answers it with a refresh token for the
        # OAuth flow, which is not implemented here: the answer is a token granting nothing, and
        # each later operation asks again with its own scopes and the same Basic credentials.
        access = grant(actor, parse_scopes(request.GET.getlist("scope")))
        issued = registry.issue(subject=user_entity(actor.user), access=access)
    except TokenRefused as exc:
        log.info("registry token refused (%s): %s", exc.status, exc.message)
        return _docker_error(exc.status, exc.message, exc.retry_after)
    return JsonResponse(
        {
            "token": issued.token,
            "access_token": issued.token,
            "expires_in": issued.expires_in,
            "issued_at": issued.issued_at.isoformat().replace("+00:00", "Z"),
        }
    )
