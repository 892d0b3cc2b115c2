"""Reads for access requests: an entry's requests, one request, their state, Bailo's JSON shape,
the approved requests that grant a user access, and the "My access" page.

Who sees which requests: as in Bailo, anyone who can view an entry sees all of its access requests
(their names, who they name and their answers); only changing or withdrawing one is limited (see
``access.access_requests.services``). A withdrawn request is soft-deleted and appears nowhere.

A request's state is derived, never stored: ``expired`` once its end date has passed (whatever its
reviews said), otherwise the outcome of its reviews: ``approved``, ``changes_requested`` or
``pending``. A request whose schema owes no review is approved.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from access.models import AccessRequest, AccessRequestEntity
from core.entities import entities_of, entity_filter
from core.errors import NotFound
from models_app.models import Collaborator, EntryKind, Model, Schema, SchemaKind
from models_app.policy import (
    CONTRIBUTOR,
    OWNER,
    Action,
    Actor,
    TokenAction,
    check_token_action,
    visible_to,
)
from models_app.roles import review_role_names, undefined_review_roles
from models_app.selectors import SchemaUse, iso
from reviews.models import Response, Review
from reviews.outcomes import outcome

APPROVED = "approved"
CHANGES_REQUESTED = "changes_requested"
PENDING = "pending"
EXPIRED = "expired"
STATE_LABELS = {
    APPROVED: "Approved",
    CHANGES_REQUESTED: "Changes requested",
    PENDING: "Awaiting review",
    EXPIRED: "Expired",
}
DOWNLOAD_ROLES = frozenset({OWNER, CONTRIBUTOR})


def _today() -> date:
    return timezone.localdate()


def with_reviews(qs: QuerySet[AccessRequest]) -> QuerySet[AccessRequest]:
    """Everything a listing needs (author, schema, named entities, reviews and their responses)
    in a fixed number of queries, whatever the number of requests."""
    return qs.select_related("created_by", "schema").prefetch_related(
        Prefetch("entity_rows", queryset=AccessRequestEntity.objects.order_by("id")),
        Prefetch(
            "reviews",
            queryset=Review.objects.order_by("role").prefetch_related(
                Prefetch("responses", queryset=Response.objects.order_by("created_at", "id"))
            ),
        ),
    )


def usable_schemas() -> QuerySet[Schema]:
    """Access-request schemas new requests may use (active and not hidden), by name."""
    return Schema.objects.filter(
        kind=SchemaKind.ACCESS_REQUEST, hidden=False, active=True
    ).order_by("name", "id")


def access_request_list(*, model: Model) -> list[AccessRequest]:
    """The live requests of an entry, newest first (the caller has checked it may view them)."""
    requests = list(with_reviews(AccessRequest.objects.filter(model=model)))
    for access_request in requests:
        access_request.model = model
    return requests


def access_request_get(*, model: Model, access_request_id: str) -> AccessRequest:
    """One live request of ``model``; 404 when there is none with that id on that entry."""
    found = with_reviews(AccessRequest.objects.filter(model=model, pk=access_request_id)).first()
    if found is None:
        raise NotFound(
            f"Access request {access_request_id} not found",
            {"modelId": model.pk, "accessRequestId": access_request_id},
        )
    found.model = model
    return found


def access_request_state(
    access_request: AccessRequest, *, on: date | None = None, defined: set[str] | None = None
) -> str:
    """``expired``, ``approved``, ``changes_requested`` or ``pending`` (reviews and schema
    loaded; ``defined``: the review roles that exist, when the caller lists many requests).

    A request whose schema names a role nobody has defined yet waits for that role's review."""
    day = on or _today()
    if access_request.end_date is not None and access_request.end_date < day:
        return EXPIRED
    owed = undefined_review_roles(access_request.schema.review_roles, defined)
    return outcome(list(access_request.reviews.all()), owed=owed)


def entities_named(access_request: AccessRequest) -> list[str]:
    """The users and groups the request names, in the order the request gives them."""
    overview = access_request.metadata.get("overview") or {}
    named = overview.get("entities") or []
    if isinstance(named, list) and all(isinstance(e, str) for e in named):
        return named
    return [row.entity for row in access_request.entity_rows.all()]


def access_request_json(access_request: AccessRequest) -> dict[str, Any]:
    """Bailo's shape, as the official client reads it."""
    creator = access_request.created_by
    return {
        "id": access_request.pk,
        "modelId": access_request.model_id,
        "schemaId": access_request.schema_id,
        "metadata": access_request.metadata,
        "createdBy": creator.get_username() if creator is not None else "",
        "createdAt": iso(access_request.created_at),
        "updatedAt": iso(access_request.updated_at),
        "deleted": access_request.deleted_at is not None,
    }


# --- grants -----------------------------------------------------------------------------------


def _named_for(user: Any) -> QuerySet[Any, Any]:
    return AccessRequestEntity.objects.filter(entity_filter(user)).values("access_request_id")


def approved_requests_for(
    *, user: Any, model_ids: Iterable[str] | None = None, on: date | None = None
) -> list[AccessRequest]:
    """Live, approved requests naming ``user`` (or a group of theirs) whose end date is not past
    on ``on`` (default today), on live entries (all of them, or those in ``model_ids``).

    One query for the candidates and two to prefetch their reviews and responses, however many
    there are.
    """
    if not user.is_authenticated:
        return []
    day = on or _today()
    candidates = AccessRequest.objects.filter(
        pk__in=_named_for(user), model__deleted_at__isnull=True
    ).filter(Q(end_date__isnull=True) | Q(end_date__gte=day))
    if model_ids is not None:
        candidates = candidates.filter(model_id__in=list(model_ids))
    candidates = candidates.select_related("schema").prefetch_related(
        Prefetch(
            "reviews",
            queryset=Review.objects.prefetch_related(
                Prefetch("responses", queryset=Response.objects.order_by("created_at", "id"))
            ),
        )
    )
    defined = review_role_names()
    return [
        ar
        for ar in candidates
        if outcome(
            list(ar.reviews.all()), owed=undefined_review_roles(ar.schema.review_roles, defined)
        )
        == APPROVED
    ]


# --- search (GET /access-requests/search) -----------------------------------------------------


def access_request_search(
    *,
    actor: Actor,
    model_ids: list[str] | None = None,
    schema_id: str = "",
    mine: bool = False,
) -> list[AccessRequest]:
    """Requests on entries the actor can see (and a token's chosen models), optionally only on
    ``model_ids``, of ``schema_id``, or (``mine``) made by or naming the actor."""
    check_token_action(actor, TokenAction.ACCESS_REQUEST_READ)
    user = actor.user
    qs = visible_to(actor, Action.ACCESS_REQUEST_VIEW, AccessRequest.objects.all())
    if model_ids:
        qs = qs.filter(model_id__in=model_ids)
    if schema_id:
        qs = qs.filter(schema_id=schema_id)
    if mine:
        qs = qs.filter(Q(created_by=user) | Q(pk__in=_named_for(user)))
    return list(qs.select_related("created_by"))


# --- "My access" ------------------------------------------------------------------------------


@dataclass
class RoleHeld:
    role: str
    via: str  # the entity holding it: the user themself or one of their groups


@dataclass
class EntryAccess:
    """One entry the user can use, and why."""

    model: Model
    roles: list[RoleHeld] = field(default_factory=list)
    grants: list[AccessRequest] = field(default_factory=list)

    @property
    def role_names(self) -> set[str]:
        return {r.role for r in self.roles}

    @property
    def downloads(self) -> bool:
        """Whether files and images are open to the user here (models only)."""
        if self.model.kind == EntryKind.DATA_CARD:
            return False
        return bool(self.role_names & DOWNLOAD_ROLES) or bool(self.grants)

    @property
    def download_reason(self) -> str:
        if self.model.kind == EntryKind.DATA_CARD:
            return "Data cards have nothing to download"
        held = sorted(self.role_names & DOWNLOAD_ROLES)
        if held:
            return f"As {' and '.join(held)}"
        if self.grants:
            return "Through an approved access request"
        return "Needs an approved access request"


@dataclass
class RequestRow:
    """One access request the user made or is named in."""

    access_request: AccessRequest
    state: str
    made_by_me: bool
    names_me: bool

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


@dataclass
class MyAccess:
    entries: list[EntryAccess]
    requests: list[RequestRow]


def my_access(*, actor: Actor, on: date | None = None) -> MyAccess:
    """Every entry the user holds a role on or has an approved, unexpired access request for,
    and every request they made or are named in, with its state.

    Entries open to everyone (ungoverned access) are not listed for that alone: they are open to
    all, so listing them would list half the marketplace. The number of queries does not depend
    on how many entries or requests there are.
    """
    user = actor.user
    if not user.is_authenticated:
        return MyAccess(entries=[], requests=[])
    day = on or _today()
    mine = entities_of(user)
    visible = visible_to(actor)

    role_rows = list(
        Collaborator.objects.filter(entity__in=mine, model__in=visible)
        .exclude(role="")
        .order_by("role", "entity")
        .values_list("model_id", "role", "entity")
    )
    named_ids = set(
        AccessRequestEntity.objects.filter(entity__in=mine).values_list(
            "access_request_id", flat=True
        )
    )
    requests = list(
        with_reviews(
            AccessRequest.objects.filter(Q(created_by=user) | Q(pk__in=named_ids)).filter(
                model__in=visible
            )
        ).order_by("-created_at")
    )
    model_ids = {m for m, _, _ in role_rows} | {r.model_id for r in requests}
    models = {m.pk: m for m in Model.objects.filter(pk__in=model_ids)}

    by_model: dict[str, EntryAccess] = {}
    for model_id, role, via in role_rows:
        entry = by_model.setdefault(model_id, EntryAccess(model=models[model_id]))
        entry.roles.append(RoleHeld(role=role, via=via))
    rows: list[RequestRow] = []
    defined = review_role_names()
    for access_request in requests:
        access_request.model = models[access_request.model_id]
        state = access_request_state(access_request, on=day, defined=defined)
        names_me = access_request.pk in named_ids
        rows.append(
            RequestRow(
                access_request=access_request,
                state=state,
                made_by_me=access_request.created_by_id == user.pk,
                names_me=names_me,
            )
        )
        if names_me and state == APPROVED:
            entry = by_model.setdefault(
                access_request.model_id, EntryAccess(model=access_request.model)
            )
            entry.grants.append(access_request)
    entries = sorted(by_model.values(), key=lambda e: (e.model.name.lower(), e.model.pk))
    return MyAccess(entries=entries, requests=rows)


def group_roles(roles: list[RoleHeld]) -> dict[str, list[str]]:
    """Roles grouped by the entity holding them (for display)."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for held in roles:
        grouped[held.via].append(held.role)
    return dict(grouped)


class AccessRequestSchemaUses:
    """``models_app.selectors.SCHEMA_USES`` entry (``access/apps.py``): the live access requests
    of live entries follow their access-request schema."""

    def _live(self) -> QuerySet[AccessRequest]:
        return AccessRequest.objects.filter(model__deleted_at__isnull=True)

    def counts(self) -> dict[str, int]:
        from django.db.models import Count

        rows = self._live().order_by().values_list("schema_id").annotate(n=Count("id"))
        return {schema_id: n for schema_id, n in rows}

    def uses(self, schema: Schema) -> list[SchemaUse]:
        requests = self._live().filter(schema=schema).order_by("created_at", "id")
        return [
            SchemaUse(
                name=f"{r.name} (on {r.model_id})",
                id=str(r.pk),
                url=reverse(
                    "access-request-detail",
                    kwargs={"model_id": r.model_id, "access_request_id": r.pk},
                ),
            )
            for r in requests
        ]


ACCESS_REQUEST_SCHEMA_USES = AccessRequestSchemaUses()
