"""The permission policy: one place that says who may do what to an entry.

Every view and API handler asks ``check(actor, action, model)`` (or filters with
``Model.objects.visible_to``). Roles come from collaborator rows; a personal access token narrows
what its user may do to the token's actions and models, and can never widen it.

The matrix (ARCHITECTURE.md): owners do everything; contributors edit cards, upload and delete
files, push images and create releases; consumers view; anyone who can view may ask for access;
download and pull need a role of owner or contributor, or an approved, unexpired access request, or
the entry's ungoverned access. Administrators see every entry and may edit its settings, but hold
no other role by being administrators. Holding a review role lets you view the entry and respond to
its reviews; it grants nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.http import HttpRequest

from core.entities import entities_of, is_admin
from core.errors import Forbidden, NotFound
from models_app.models import Collaborator, EntryKind, Model, SystemRole, Visibility


class Action(StrEnum):
    MODEL_VIEW = "model:view"
    MODEL_EDIT_CARD = "model:edit_card"
    MODEL_EDIT_SETTINGS = "model:edit_settings"
    MODEL_DELETE = "model:delete"
    MODEL_EXPORT = "model:export"
    RELEASE_VIEW = "release:view"
    RELEASE_VIEW_DRAFT = "release:view_draft"
    RELEASE_CREATE = "release:create"
    RELEASE_EDIT = "release:edit"
    RELEASE_DELETE = "release:delete"
    FILE_VIEW = "file:view"
    FILE_UPLOAD = "file:upload"
    FILE_DELETE = "file:delete"
    FILE_DOWNLOAD = "file:download"
    IMAGE_VIEW = "image:view"
    IMAGE_PUSH = "image:push"
    IMAGE_PULL = "image:pull"
    IMAGE_DELETE = "image:delete"
    ACCESS_REQUEST_VIEW = "access_request:view"
    ACCESS_REQUEST_CREATE = "access_request:create"
    WEBHOOK_MANAGE = "webhook:manage"
    FILE_RESCAN = "file:rescan"


OWNER = SystemRole.OWNER.value
CONTRIBUTOR = SystemRole.CONTRIBUTOR.value
CONSUMER = SystemRole.CONSUMER.value

# Which entry roles grant an action outright. Download and pull have further ways in (below).
_ROLE_RULES: dict[Action, frozenset[str]] = {
    Action.MODEL_EDIT_CARD: frozenset({OWNER, CONTRIBUTOR}),
    Action.MODEL_EDIT_SETTINGS: frozenset({OWNER}),
    Action.MODEL_DELETE: frozenset({OWNER}),
    Action.MODEL_EXPORT: frozenset({OWNER}),
    Action.RELEASE_VIEW_DRAFT: frozenset({OWNER, CONTRIBUTOR}),
    Action.RELEASE_CREATE: frozenset({OWNER, CONTRIBUTOR}),
    Action.RELEASE_EDIT: frozenset({OWNER}),
    Action.RELEASE_DELETE: frozenset({OWNER}),
    Action.FILE_UPLOAD: frozenset({OWNER, CONTRIBUTOR}),
    Action.FILE_DELETE: frozenset({OWNER, CONTRIBUTOR}),
    Action.FILE_DOWNLOAD: frozenset({OWNER, CONTRIBUTOR}),
    Action.FILE_RESCAN: frozenset({OWNER}),
    Action.IMAGE_PUSH: frozenset({OWNER, CONTRIBUTOR}),
    Action.IMAGE_PULL: frozenset({OWNER, CONTRIBUTOR}),
    Action.IMAGE_DELETE: frozenset({OWNER, CONTRIBUTOR}),
    Action.WEBHOOK_MANAGE: frozenset({OWNER}),
}
# Anyone who can view the entry may do these.
_VIEWER_ACTIONS = frozenset(
    {
        Action.MODEL_VIEW,
        Action.RELEASE_VIEW,
        Action.FILE_VIEW,
        Action.IMAGE_VIEW,
        Action.ACCESS_REQUEST_VIEW,
        Action.ACCESS_REQUEST_CREATE,
    }
)
_ADMIN_ACTIONS = frozenset({Action.MODEL_EDIT_SETTINGS})
_DOWNLOAD_ACTIONS = frozenset({Action.FILE_DOWNLOAD, Action.IMAGE_PULL})
# Mirrored entries take their content from the source instance: no local writes of it.
_MIRROR_READ_ONLY = frozenset(
    {Action.RELEASE_CREATE, Action.FILE_UPLOAD, Action.IMAGE_PUSH, Action.RELEASE_EDIT}
)

# Token actions (Bailo's vocabulary) needed for each policy action.
TOKEN_ACTIONS: dict[Action, str] = {
    Action.MODEL_VIEW: "model:read",
    Action.MODEL_EDIT_CARD: "model:write",
    Action.MODEL_EDIT_SETTINGS: "model:write",
    Action.MODEL_DELETE: "model:write",
    Action.MODEL_EXPORT: "model:export",
    Action.RELEASE_VIEW: "release:read",
    Action.RELEASE_VIEW_DRAFT: "release:read",
    Action.RELEASE_CREATE: "release:write",
    Action.RELEASE_EDIT: "release:write",
    Action.RELEASE_DELETE: "release:write",
    Action.FILE_VIEW: "file:read",
    Action.FILE_UPLOAD: "file:write",
    Action.FILE_DELETE: "file:write",
    Action.FILE_DOWNLOAD: "file:read",
    Action.FILE_RESCAN: "file:write",
    Action.IMAGE_VIEW: "image:read",
    Action.IMAGE_PUSH: "image:write",
    Action.IMAGE_PULL: "image:read",
    Action.IMAGE_DELETE: "image:write",
    Action.ACCESS_REQUEST_VIEW: "access_request:read",
    Action.ACCESS_REQUEST_CREATE: "access_request:write",
    Action.WEBHOOK_MANAGE: "model:write",
}

TOKEN_ACTION_CATALOGUE: list[dict[str, str]] = [
    {"id": "model:read", "description": "View entries and their cards"},
    {"id": "model:write", "description": "Create and change entries, cards and settings"},
    {"id": "model:export", "description": "Export entries to a mirror"},
    {"id": "release:read", "description": "View releases"},
    {"id": "release:write", "description": "Create, change and delete releases"},
    {"id": "release:export", "description": "Export releases to a mirror"},
    {"id": "access_request:read", "description": "View access requests"},
    {"id": "access_request:write", "description": "Create and change access requests"},
    {"id": "file:read", "description": "View and download files"},
    {"id": "file:write", "description": "Upload, change and delete files"},
    {"id": "image:read", "description": "List and pull images"},
    {"id": "image:write", "description": "Push and delete images"},
    {"id": "schema:write", "description": "Create and change schemas (administrators)"},
    {"id": "reviewRole:read", "description": "View review roles"},
    {"id": "reviewRole:write", "description": "Create and change review roles (administrators)"},
]
TOKEN_ACTION_IDS = frozenset(a["id"] for a in TOKEN_ACTION_CATALOGUE)

# Further grants of download and pull, e.g. an approved access request. Each takes
# (user, model) and answers whether it grants access. The reviews feature registers its check.
DownloadGrant = Callable[[Any, Model], bool]
DOWNLOAD_GRANTS: list[DownloadGrant] = []


@dataclass
class Actor:
    """Who is acting: a user, and the token they authenticated with, if any."""

    user: Any
    token: Any = None
    _roles: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)
    _covered: dict[str, bool] = field(default_factory=dict, repr=False)

    @classmethod
    def from_request(cls, request: HttpRequest) -> Actor:
        cached = getattr(request, "_bailo_actor", None)
        if cached is None:
            cached = cls(user=request.user, token=getattr(request, "token", None))
            request._bailo_actor = cached  # type: ignore[attr-defined]
        return cached  # type: ignore[no-any-return]

    @property
    def is_admin(self) -> bool:
        return is_admin(self.user)

    def roles_on(self, model: Model) -> frozenset[str]:
        """The roles this actor's user holds on ``model``, directly or through a group."""
        if model.pk not in self._roles:
            if not self.user.is_authenticated:
                roles: frozenset[str] = frozenset()
            else:
                roles = frozenset(
                    Collaborator.objects.filter(
                        model_id=model.pk, entity__in=entities_of(self.user)
                    ).values_list("role", flat=True)
                )
            self._roles[model.pk] = roles
        return self._roles[model.pk]

    def token_covers(self, model: Model) -> bool:
        """A token limited to chosen models cannot see any other model."""
        if self.token is None or self.token.scope != "models":
            return True
        if model.pk not in self._covered:
            self._covered[model.pk] = self.token.scoped_models.filter(pk=model.pk).exists()
        return self._covered[model.pk]

    def token_allows(self, token_action: str, model: Model | None = None) -> bool:
        if self.token is None:
            return True
        if token_action not in (self.token.actions or []):
            return False
        return model is None or self.token_covers(model)

    def token_is_scoped_to_models(self) -> bool:
        return self.token is not None and self.token.scope == "models"


def _can_view(actor: Actor, model: Model) -> bool:
    if not actor.user.is_authenticated:
        return False
    if model.visibility == Visibility.PUBLIC or actor.is_admin:
        return True
    return bool(actor.roles_on(model))


def allowed(actor: Actor, action: Action, model: Model) -> bool:
    """Whether ``actor`` may do ``action`` to ``model`` (visibility included)."""
    if not _can_view(actor, model):
        return False
    if not actor.token_allows(TOKEN_ACTIONS[action], model):
        return False
    if model.kind == EntryKind.MIRRORED_MODEL and action in _MIRROR_READ_ONLY:
        return False
    if action in _VIEWER_ACTIONS:
        return True
    roles = actor.roles_on(model)
    if roles & _ROLE_RULES.get(action, frozenset()):
        return True
    if action in _ADMIN_ACTIONS and actor.is_admin:
        return True
    if action in _DOWNLOAD_ACTIONS:
        if model.ungoverned_access:
            return True
        return any(grant(actor.user, model) for grant in DOWNLOAD_GRANTS)
    return False


def check(actor: Actor, action: Action, model: Model) -> None:
    """Raise ``NotFound`` when the entry is not visible (so its existence does not leak) and
    ``Forbidden`` when it is visible but the action is not allowed."""
    if not _can_view(actor, model) or not actor.token_covers(model):
        raise NotFound(f"Model {model.pk} not found", {"modelId": model.pk})
    if not allowed(actor, action, model):
        reason = _refusal(actor, action, model)
        raise Forbidden(reason, {"modelId": model.pk, "action": str(action)})


def _refusal(actor: Actor, action: Action, model: Model) -> str:
    token_action = TOKEN_ACTIONS[action]
    if not actor.token_allows(token_action, model):
        return f"This access token does not allow '{token_action}' on this model"
    if model.kind == EntryKind.MIRRORED_MODEL and action in _MIRROR_READ_ONLY:
        return "Mirrored models are read-only: their content comes from the source instance"
    if action in _DOWNLOAD_ACTIONS:
        return (
            "You need to be an owner or contributor, or have an approved access request, "
            "to download files or pull images from this model"
        )
    needed = sorted(_ROLE_RULES.get(action, frozenset()))
    return f"You do not have permission to {action}: it needs the role {' or '.join(needed)}"


def get_model_for(actor: Actor, model_id: str, action: Action = Action.MODEL_VIEW) -> Model:
    """Load a live entry by id and check ``action``; unknown and invisible both give 404."""
    model = Model.objects.filter(pk=model_id).first()
    if model is None:
        raise NotFound(f"Model {model_id} not found", {"modelId": model_id})
    check(actor, action, model)
    return model


def check_token_action(actor: Actor, token_action: str) -> None:
    """For endpoints not about one entry (schemas, search): the token must carry the action.
    Reads across entries stay limited to a token's chosen models by the selectors."""
    if actor.token is None:
        return
    if token_action not in (actor.token.actions or []):
        raise Forbidden(f"This access token does not allow '{token_action}'")


def require_admin(actor: Actor, token_action: str | None = None) -> None:
    if not actor.is_admin:
        raise Forbidden("Only administrators may do this")
    if token_action:
        check_token_action(actor, token_action)


def permissions_mine(actor: Actor, model: Model) -> dict[str, dict[str, Any]]:
    """Bailo's ``permissions/mine`` answer: each UI permission with whether it is granted."""

    def entry(action: Action) -> dict[str, Any]:
        ok = allowed(actor, action, model)
        result: dict[str, Any] = {"hasPermission": ok}
        if not ok:
            result["info"] = _refusal(actor, action, model)
        return result

    return {
        "editEntry": entry(Action.MODEL_EDIT_SETTINGS),
        "editEntryCard": entry(Action.MODEL_EDIT_CARD),
        "deleteEntry": entry(Action.MODEL_DELETE),
        "createRelease": entry(Action.RELEASE_CREATE),
        "editRelease": entry(Action.RELEASE_EDIT),
        "deleteRelease": entry(Action.RELEASE_DELETE),
        "uploadFile": entry(Action.FILE_UPLOAD),
        "downloadFile": entry(Action.FILE_DOWNLOAD),
        "pushModelImage": entry(Action.IMAGE_PUSH),
        "pullModelImage": entry(Action.IMAGE_PULL),
        "createAccessRequest": entry(Action.ACCESS_REQUEST_CREATE),
        "exportMirroredModel": entry(Action.MODEL_EXPORT),
    }
