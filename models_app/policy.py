"""The permission policy: the one place that says who may do what to an entry.

Three questions, one set of rules:

- ``allowed(actor, action, model)`` / ``check(...)``: may this actor do this to this entry?
  ``check`` raises 404 when the entry is not visible (so its existence does not leak) and 403
  when it is visible but the action is not allowed.
- ``visible_to(actor, action, rows)``: the single queryset restriction every list and search
  goes through. It narrows entries, or rows that belong to an entry (releases, files, reviews,
  access requests...), to those whose entry the actor may do ``action`` to, and it agrees with
  ``allowed`` for every action (tests/models_app/test_policy.py checks that).
- ``require_admin(actor)``: the one administrator guard.

Roles come from collaborator rows. A personal access token narrows what its user may do to the
token's actions (``TokenAction``, Bailo's vocabulary) and, with scope ``models``, to its chosen
entries; it can never widen it.

The matrix (ARCHITECTURE.md): owners do everything; contributors edit cards, upload and delete
files, push images and create releases; consumers view; anyone who can view may ask for access
and comment; download and pull need a role of owner or contributor, an approved, unexpired access
request (a grant the access-requests feature registers in ``DOWNLOAD_GRANTS``), or the entry's
ungoverned access. Administrators see every entry and may edit its settings, but hold no other
role by being administrators. Holding a review role lets you view the entry, respond to its
reviews for that role and download the files of the releases that role is asked to review (they
cannot approve what they cannot read: a grant the reviews feature registers in
``REVIEWER_DOWNLOAD_GRANTS``, asked only with a ``Subject`` naming the file or the release); it
grants nothing else. An access request may be changed or withdrawn by
the people it names and by the entry's owners. Only owners export a model to a mirror (a token
needs ``model:export``, and ``release:export`` for releases) and import into a mirrored model
(``model:write``, since Bailo has no token action for it).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, TypeVar, overload

from django.db.models import Model as DjangoModel
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from core.entities import entities_of, entity_filter, is_admin
from core.errors import Forbidden, NotFound
from core.hooks import Hook
from models_app.models import Collaborator, EntryKind, Model, SystemRole, Visibility


class Action(StrEnum):
    MODEL_VIEW = "model:view"
    MODEL_EDIT_CARD = "model:edit_card"
    MODEL_EDIT_SETTINGS = "model:edit_settings"
    MODEL_DELETE = "model:delete"
    MODEL_EXPORT = "model:export"
    # Import into a mirrored model, and retry a failed transfer artefact.
    MODEL_IMPORT = "model:import"
    RELEASE_VIEW = "release:view"
    RELEASE_VIEW_DRAFT = "release:view_draft"
    RELEASE_CREATE = "release:create"
    RELEASE_EDIT = "release:edit"
    RELEASE_DELETE = "release:delete"
    # Export one release to a mirror (each release of an export is checked).
    RELEASE_EXPORT = "release:export"
    FILE_VIEW = "file:view"
    FILE_UPLOAD = "file:upload"
    FILE_DELETE = "file:delete"
    FILE_DOWNLOAD = "file:download"
    FILE_RESCAN = "file:rescan"
    IMAGE_VIEW = "image:view"
    IMAGE_PUSH = "image:push"
    IMAGE_PULL = "image:pull"
    IMAGE_DELETE = "image:delete"
    ACCESS_REQUEST_VIEW = "access_request:view"
    ACCESS_REQUEST_CREATE = "access_request:create"
    # Change or withdraw one access request: needs ``Subject(named=...)``.
    ACCESS_REQUEST_CHANGE = "access_request:change"
    # Comment on a release or an access request of the entry.
    COMMENT_ADD = "comment:add"
    # Answer a review for a role: needs ``Subject(role=...)``.
    REVIEW_RESPOND = "review:respond"
    WEBHOOK_MANAGE = "webhook:manage"
    INFERENCE_VIEW = "inference:view"
    INFERENCE_CREATE = "inference:create"
    INFERENCE_EDIT = "inference:edit"
    INFERENCE_DELETE = "inference:delete"


class TokenAction(StrEnum):
    """What a personal access token may be used for (Bailo's token actions)."""

    MODEL_READ = "model:read"
    MODEL_WRITE = "model:write"
    MODEL_EXPORT = "model:export"
    RELEASE_READ = "release:read"
    RELEASE_WRITE = "release:write"
    RELEASE_EXPORT = "release:export"
    ACCESS_REQUEST_READ = "access_request:read"
    ACCESS_REQUEST_WRITE = "access_request:write"
    FILE_READ = "file:read"
    FILE_WRITE = "file:write"
    IMAGE_READ = "image:read"
    IMAGE_WRITE = "image:write"
    SCHEMA_WRITE = "schema:write"
    REVIEW_ROLE_READ = "reviewRole:read"
    REVIEW_ROLE_WRITE = "reviewRole:write"


TOKEN_ACTION_DESCRIPTIONS: dict[TokenAction, str] = {
    TokenAction.MODEL_READ: "View entries and their cards",
    TokenAction.MODEL_WRITE: "Create and change entries, cards and settings",
    TokenAction.MODEL_EXPORT: "Export entries to a mirror",
    TokenAction.RELEASE_READ: "View releases",
    TokenAction.RELEASE_WRITE: "Create, change and delete releases",
    TokenAction.RELEASE_EXPORT: "Export releases to a mirror",
    TokenAction.ACCESS_REQUEST_READ: "View access requests",
    TokenAction.ACCESS_REQUEST_WRITE: "Create and change access requests",
    TokenAction.FILE_READ: "View and download files",
    TokenAction.FILE_WRITE: "Upload, change and delete files",
    TokenAction.IMAGE_READ: "List and pull images",
    TokenAction.IMAGE_WRITE: "Push and delete images",
    TokenAction.SCHEMA_WRITE: "Create and change schemas (administrators)",
    TokenAction.REVIEW_ROLE_READ: "View review roles",
    TokenAction.REVIEW_ROLE_WRITE: "Create and change review roles (administrators)",
}
# Bailo's ``tokenActionMap``: every token action with what it allows.
TOKEN_ACTION_CATALOGUE: list[dict[str, str]] = [
    {"id": action.value, "description": description}
    for action, description in TOKEN_ACTION_DESCRIPTIONS.items()
]
# Only administrators may give these to a token (what they allow needs an administrator).
ADMIN_TOKEN_ACTIONS = frozenset({TokenAction.SCHEMA_WRITE, TokenAction.REVIEW_ROLE_WRITE})

OWNER = SystemRole.OWNER.value
CONTRIBUTOR = SystemRole.CONTRIBUTOR.value
CONSUMER = SystemRole.CONSUMER.value

# Which entry roles grant an action outright. Download and pull have further ways in (below).
_ROLE_RULES: dict[Action, frozenset[str]] = {
    Action.MODEL_EDIT_CARD: frozenset({OWNER, CONTRIBUTOR}),
    Action.MODEL_EDIT_SETTINGS: frozenset({OWNER}),
    Action.MODEL_DELETE: frozenset({OWNER}),
    Action.MODEL_EXPORT: frozenset({OWNER}),
    Action.MODEL_IMPORT: frozenset({OWNER}),
    Action.RELEASE_EXPORT: frozenset({OWNER}),
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
    # Bailo's docs: owners and contributors create inference services; owners change and delete.
    Action.INFERENCE_CREATE: frozenset({OWNER, CONTRIBUTOR}),
    Action.INFERENCE_EDIT: frozenset({OWNER}),
    Action.INFERENCE_DELETE: frozenset({OWNER}),
    Action.ACCESS_REQUEST_CHANGE: frozenset({OWNER}),
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
        Action.COMMENT_ADD,
        Action.INFERENCE_VIEW,
    }
)
_ADMIN_ACTIONS = frozenset({Action.MODEL_EDIT_SETTINGS})
_DOWNLOAD_ACTIONS = frozenset({Action.FILE_DOWNLOAD, Action.IMAGE_PULL})
# Mirrored entries take their content from the source instance: no local writes of it.
_MIRROR_READ_ONLY = frozenset(
    {Action.RELEASE_CREATE, Action.FILE_UPLOAD, Action.IMAGE_PUSH, Action.RELEASE_EDIT}
)

# The token action each policy action needs.
TOKEN_ACTIONS: dict[Action, TokenAction] = {
    Action.MODEL_VIEW: TokenAction.MODEL_READ,
    Action.MODEL_EDIT_CARD: TokenAction.MODEL_WRITE,
    Action.MODEL_EDIT_SETTINGS: TokenAction.MODEL_WRITE,
    Action.MODEL_DELETE: TokenAction.MODEL_WRITE,
    Action.MODEL_EXPORT: TokenAction.MODEL_EXPORT,
    # Bailo maps no token action to its model:import (so tokens can never import there): the
    # import writes the entry's content, which is what model:write allows.
    Action.MODEL_IMPORT: TokenAction.MODEL_WRITE,
    Action.RELEASE_EXPORT: TokenAction.RELEASE_EXPORT,
    Action.RELEASE_VIEW: TokenAction.RELEASE_READ,
    Action.RELEASE_VIEW_DRAFT: TokenAction.RELEASE_READ,
    Action.RELEASE_CREATE: TokenAction.RELEASE_WRITE,
    Action.RELEASE_EDIT: TokenAction.RELEASE_WRITE,
    Action.RELEASE_DELETE: TokenAction.RELEASE_WRITE,
    Action.FILE_VIEW: TokenAction.FILE_READ,
    Action.FILE_UPLOAD: TokenAction.FILE_WRITE,
    Action.FILE_DELETE: TokenAction.FILE_WRITE,
    Action.FILE_DOWNLOAD: TokenAction.FILE_READ,
    Action.FILE_RESCAN: TokenAction.FILE_WRITE,
    Action.IMAGE_VIEW: TokenAction.IMAGE_READ,
    Action.IMAGE_PUSH: TokenAction.IMAGE_WRITE,
    Action.IMAGE_PULL: TokenAction.IMAGE_READ,
    Action.IMAGE_DELETE: TokenAction.IMAGE_WRITE,
    Action.ACCESS_REQUEST_VIEW: TokenAction.ACCESS_REQUEST_READ,
    Action.ACCESS_REQUEST_CREATE: TokenAction.ACCESS_REQUEST_WRITE,
    Action.ACCESS_REQUEST_CHANGE: TokenAction.ACCESS_REQUEST_WRITE,
    Action.COMMENT_ADD: TokenAction.MODEL_WRITE,
    Action.REVIEW_RESPOND: TokenAction.MODEL_WRITE,
    Action.WEBHOOK_MANAGE: TokenAction.MODEL_WRITE,
    Action.INFERENCE_VIEW: TokenAction.MODEL_READ,
    Action.INFERENCE_CREATE: TokenAction.MODEL_WRITE,
    Action.INFERENCE_EDIT: TokenAction.MODEL_WRITE,
    Action.INFERENCE_DELETE: TokenAction.MODEL_WRITE,
}


class DownloadGrant(Protocol):
    """A further way to download and pull, e.g. an approved access request."""

    def allows(self, user: Any, model: Model) -> bool:
        """Whether it grants ``user`` download and pull on ``model``."""
        ...

    def entry_ids(self, user: Any) -> Iterable[str]:
        """The entries on which it grants ``user`` download and pull."""
        ...


DOWNLOAD_GRANTS: Hook[DownloadGrant] = Hook("download grants")


class ReviewerDownloadGrant(Protocol):
    """Download of one release's files (or one file) for holders of a review role it owes."""

    def __call__(self, roles: frozenset[str], model: Model, subject: Subject) -> bool: ...


# Each says whether holding ``roles`` on ``model`` lets its holder download what ``subject``
# names (``Subject.file`` or ``Subject.release``); the reviews feature registers one.
REVIEWER_DOWNLOAD_GRANTS: Hook[ReviewerDownloadGrant] = Hook("reviewer download grants")


@dataclass(frozen=True)
class Subject:
    """What an action is about below the entry, when the rule depends on it: the review role a
    response answers for (``REVIEW_RESPOND``), the entities an access request names
    (``ACCESS_REQUEST_CHANGE``), the file or the release whose files are downloaded
    (``FILE_DOWNLOAD`` by a reviewer)."""

    role: str = ""
    named: frozenset[str] = frozenset()
    file: str = ""
    release: Any = None


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
        """A site administrator (``core.entities.is_admin``: the admin group or a superuser)."""
        return is_admin(self.user)

    def roles_on(self, model: Model) -> frozenset[str]:
        """The roles this actor's user holds on ``model``, directly or through a group."""
        if model.pk not in self._roles:
            if not self.user.is_authenticated:
                roles: frozenset[str] = frozenset()
            else:
                roles = frozenset(
                    Collaborator.objects.filter(
                        entity_filter(self.user), model_id=model.pk
                    ).values_list("role", flat=True)
                )
            self._roles[model.pk] = roles
        return self._roles[model.pk]

    def token_covers(self, model: Model) -> bool:
        """A token limited to chosen models cannot see any other model."""
        if not self.token_is_scoped_to_models():
            return True
        if model.pk not in self._covered:
            self._covered[model.pk] = self.token.scoped_models.filter(pk=model.pk).exists()
        return self._covered[model.pk]

    def token_allows(self, token_action: TokenAction, model: Model | None = None) -> bool:
        if self.token is None:
            return True
        if token_action not in (self.token.actions or []):
            return False
        return model is None or self.token_covers(model)

    def token_is_scoped_to_models(self) -> bool:
        return self.token is not None and self.token.scope == "models"


# --- one entry -------------------------------------------------------------------------------


def _can_view(actor: Actor, model: Model) -> bool:
    if not actor.user.is_authenticated:
        return False
    if model.visibility == Visibility.PUBLIC or actor.is_admin:
        return True
    return bool(actor.roles_on(model))


def allowed(actor: Actor, action: Action, model: Model, subject: Subject | None = None) -> bool:
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
    if action == Action.REVIEW_RESPOND:
        return bool(subject and subject.role and subject.role in roles)
    if action == Action.ACCESS_REQUEST_CHANGE:
        return bool(subject and subject.named & set(entities_of(actor.user)))
    if action in _DOWNLOAD_ACTIONS:
        if model.ungoverned_access:
            return True
        if any(grant.allows(actor.user, model) for grant in DOWNLOAD_GRANTS):
            return True
        return bool(
            action == Action.FILE_DOWNLOAD
            and subject is not None
            and (subject.file or subject.release is not None)
            and roles
            and any(grant(roles, model, subject) for grant in REVIEWER_DOWNLOAD_GRANTS)
        )
    return False


def check(actor: Actor, action: Action, model: Model, subject: Subject | None = None) -> None:
    """Raise ``NotFound`` when the entry is not visible (so its existence does not leak) and
    ``Forbidden`` when it is visible but the action is not allowed."""
    if not _can_view(actor, model) or not actor.token_covers(model):
        raise NotFound(f"Model {model.pk} not found", {"modelId": model.pk})
    if not allowed(actor, action, model, subject):
        reason = _refusal(actor, action, model, subject)
        raise Forbidden(reason, {"modelId": model.pk, "action": str(action)})


def _refusal(actor: Actor, action: Action, model: Model, subject: Subject | None) -> str:
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
    if action == Action.REVIEW_RESPOND:
        role = subject.role if subject else ""
        return f"Only holders of the {role} role on this entry may respond"
    if action == Action.ACCESS_REQUEST_CHANGE:
        return (
            "Only the people named in this access request and the entry's owners may change or "
            "withdraw it"
        )
    needed = sorted(_ROLE_RULES.get(action, frozenset()))
    return f"You do not have permission to {action}: it needs the role {' or '.join(needed)}"


def get_model_for(
    actor: Actor,
    model_id: str,
    action: Action = Action.MODEL_VIEW,
    *,
    kinds: Collection[str] = (),
) -> Model:
    """Load a live entry by id and check ``action``; unknown and invisible both give 404.

    With ``kinds``, an entry of another kind is unknown too (Bailo's ``GET /model/{id}?kind=``).
    """
    entries = Model.objects.filter(pk=model_id)
    if kinds:
        entries = entries.filter(kind__in=kinds)
    model = entries.first()
    if model is None:
        raise NotFound(f"Model {model_id} not found", {"modelId": model_id})
    check(actor, action, model)
    return model


# --- many entries: the one restriction ---------------------------------------------------------

Row = TypeVar("Row", bound=DjangoModel)


def _entry_filter(actor: Actor, action: Action) -> Q | None:
    """The condition on entries under which ``allowed`` says yes (``None``: on none), for every
    action that needs no ``Subject``."""
    user = actor.user
    if not user.is_authenticated:
        return None
    if actor.token is not None and TOKEN_ACTIONS[action] not in (actor.token.actions or []):
        return None
    mine = Collaborator.objects.filter(entity_filter(user))
    admin = actor.is_admin
    condition = (
        Q() if admin else Q(visibility=Visibility.PUBLIC) | Q(id__in=mine.values("model_id"))
    )
    if actor.token_is_scoped_to_models():
        condition &= Q(id__in=actor.token.scoped_models.values("id"))
    if action in _MIRROR_READ_ONLY:
        condition &= ~Q(kind=EntryKind.MIRRORED_MODEL)
    if action in _VIEWER_ACTIONS:
        return condition
    if action in (Action.REVIEW_RESPOND, Action.ACCESS_REQUEST_CHANGE):
        raise ValueError(f"{action} depends on its subject: check each row with allowed()")
    roles = _ROLE_RULES.get(action, frozenset())
    granted = Q(id__in=mine.filter(role__in=roles).values("model_id")) if roles else Q(pk__in=[])
    if action in _ADMIN_ACTIONS and admin:
        granted = Q()
    if action in _DOWNLOAD_ACTIONS:
        granted |= Q(ungoverned_access=True)
        for grant in DOWNLOAD_GRANTS:
            granted |= Q(id__in=list(grant.entry_ids(user)))
    return condition & granted


@overload
def visible_to(
    actor: Actor, action: Action = ..., rows: None = None, *, entry: str = ...
) -> QuerySet[Model]: ...


@overload
def visible_to(
    actor: Actor, action: Action = ..., *, rows: QuerySet[Row], entry: str = ...
) -> QuerySet[Row]: ...


@overload
def visible_to(
    actor: Actor, action: Action, rows: QuerySet[Row], *, entry: str = ...
) -> QuerySet[Row]: ...


def visible_to(
    actor: Actor,
    action: Action = Action.MODEL_VIEW,
    rows: QuerySet[Any] | None = None,
    *,
    entry: str = "model",
) -> QuerySet[Any]:
    """The one restriction for lists and searches: ``rows`` narrowed to those whose entry
    ``actor`` may do ``action`` to (token actions and chosen models included).

    ``rows`` defaults to every live entry. For rows that belong to an entry, ``entry`` is the
    lookup from a row to its entry (``"model"`` for releases, files, reviews, access requests;
    ``"file__model"`` for scans). Deleted entries never pass.
    """
    if rows is None:
        rows = Model.objects.all()
    condition = _entry_filter(actor, action)
    if condition is None:
        return rows.none()
    if rows.model is Model:
        return rows.filter(condition)
    prefix = f"{entry}__"
    prefixed = _prefix(condition, prefix)
    return rows.filter(prefixed, **{f"{prefix}deleted_at__isnull": True})


@dataclass(frozen=True)
class VisibleSplit:
    """What ``visible_to(actor)`` lets through, in parts that can be counted one by one: every live
    entry (``everything``), or the live public entries plus the live non-public ones whose id is
    in ``own`` (the entries where the actor or a group of theirs holds a role)."""

    everything: bool
    own: QuerySet[Any] | None = None


def visible_split(actor: Actor) -> VisibleSplit | None:
    """``visible_to(actor)`` (viewing entries) as a ``VisibleSplit``, or None for the actors whose
    rule has more to it (anonymous people, tokens: each narrows it further). Lists count the
    public part once for everyone (it is the bulk of a large catalogue) and the rest per person.
    ``tests/models_app/test_policy.py`` checks the parts add up to ``visible_to``."""
    if not actor.user.is_authenticated or actor.token is not None:
        return None
    if actor.is_admin:
        return VisibleSplit(everything=True)
    own = (
        Collaborator.objects.filter(entity_filter(actor.user))
        .order_by()
        .values_list("model_id", flat=True)
        .distinct()
    )
    return VisibleSplit(everything=False, own=own)


def _prefix(condition: Q, prefix: str) -> Q:
    """``condition`` on entries, rewritten for rows that reach their entry through ``prefix``."""
    rewritten = Q()
    rewritten.connector = condition.connector
    rewritten.negated = condition.negated
    for child in condition.children:
        if isinstance(child, Q):
            rewritten.children.append(_prefix(child, prefix))
        else:
            lookup, value = child  # type: ignore[misc]
            rewritten.children.append((prefix + lookup, value))
    return rewritten


# --- across entries -------------------------------------------------------------------------


def check_token_action(actor: Actor, token_action: TokenAction) -> None:
    """For endpoints about no one entry (schemas, search, lists): the token must carry the
    action, or the call is refused (403) rather than answered with nothing."""
    if actor.token is None:
        return
    if token_action not in (actor.token.actions or []):
        raise Forbidden(f"This access token does not allow '{token_action}'")


def require_admin(
    actor: Actor, token_action: TokenAction | None = None, *, what: str = "do this"
) -> None:
    """The administrator guard: 403 for anyone else ("Only administrators may <what>"), and for
    a token without ``token_action``. Features ask for administrators here, or read
    ``Actor.is_admin`` where they only need to know; ``core.entities.is_admin`` is the one
    definition both rest on (the core's admin site and templates use it directly)."""
    if not actor.is_admin:
        raise Forbidden(f"Only administrators may {what}")
    if token_action:
        check_token_action(actor, token_action)


def token_actions_refused(actor: Actor, actions: Collection[str]) -> list[str]:
    """The actions among ``actions`` this actor may NOT put on a token: the administrators'
    ones, unless the actor is an administrator."""
    if actor.is_admin:
        return []
    return sorted(a for a in actions if a in ADMIN_TOKEN_ACTIONS)


def permissions_mine(actor: Actor, model: Model) -> dict[str, dict[str, Any]]:
    """Bailo's ``permissions/mine`` answer: each UI permission with whether it is granted."""

    def entry(action: Action) -> dict[str, Any]:
        ok = allowed(actor, action, model)
        result: dict[str, Any] = {"hasPermission": ok}
        if not ok:
            result["info"] = _refusal(actor, action, model, None)
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
        "createInferenceService": entry(Action.INFERENCE_CREATE),
        "editInferenceService": entry(Action.INFERENCE_EDIT),
        "deleteInferenceService": entry(Action.INFERENCE_DELETE),
    }
