"""Writes for access requests: asking for access to an entry, changing the request, withdrawing
it, and the download grant an approved request gives.

An access request names the users and groups who need to download an entry's files and pull its
images, and until when (``metadata.overview``: ``name``, ``entities``, optional ``endDate``), plus
the answers its schema asks for; a request that names nobody names its requester. Creating one
opens a review for each review role of its schema; its state is derived from those reviews
(``reviews.outcomes.outcome``) and never stored.

Rules:

- Anyone signed in who can see a model (or mirrored model) may ask; data cards have nothing to
  download, so they take no access requests.
- The people named in a request (directly or through a group) and the entry's owners may change
  or withdraw it. Review roles give no such right.
- Once a reviewer has approved, an edit may narrow the grant (fewer people, an earlier end date)
  but never widen it: a reviewer's approval covers exactly what they saw. Widening needs a new
  request.
- An approved request grants download and pull to the entities it names until the end of its end
  date; after that it lapses by itself, because ``access_granted`` compares with today's date at
  every request. Nothing needs to run when a request expires.

``end_date`` and the ``AccessRequestEntity`` rows copy ``overview.endDate`` and
``overview.entities`` so that "who may download, until when" is an indexed query; every write here
keeps them in step with ``metadata`` in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date

from access.access_requests.selectors import approved_requests_for
from access.models import AccessRequest, AccessRequestEntity
from core.audit import AuditAction, audit_record
from core.entities import parse_entity
from core.errors import BadRequest, Conflict, NotFound
from core.hooks import Hook, fire_after_commit
from models_app.ids import new_entry_id
from models_app.models import EntryKind, Model, Schema, SchemaKind
from models_app.policy import Action, Actor, Subject, allowed, check
from models_app.roles import undefined_review_roles
from models_app.schema_validation import validation_errors
from reviews.badge import reviews_changed
from reviews.models import Decision, Response, Review, ReviewKind
from reviews.outcomes import latest_decisions, outcome, reviews_of
from reviews.services import reviews_open

ACCESS_REQUEST_KINDS = frozenset({EntryKind.MODEL.value, EntryKind.MIRRORED_MODEL.value})
_ID_ATTEMPTS = 5

# Called after commit with each access request created; the webhooks feature listens
# (webhooks/apps.py). Failures are logged, never raised.
ACCESS_REQUEST_CREATED: Hook[Callable[[AccessRequest], None]] = Hook("access request created")


def today() -> date:
    """The date a grant is checked against (the site's time zone)."""
    return timezone.localdate()


# --- input ------------------------------------------------------------------------------------


def _invalid(prop: str, message: str, **context: Any) -> BadRequest:
    """A 400 whose ``validationErrors`` put the message beside the question ``prop``."""
    return BadRequest(
        f"{prop}: {message}",
        {"validationErrors": [{"property": prop, "message": message}], **context},
    )


def usable_schema(schema_id: Any) -> Schema:
    """The access-request schema new requests may use: 404 unknown, 400 otherwise unusable."""
    if not isinstance(schema_id, str) or not schema_id:
        raise BadRequest("schemaId is required")
    schema = Schema.objects.filter(pk=schema_id).first()
    if schema is None:
        raise NotFound(f"Schema {schema_id} not found", {"schemaId": schema_id})
    if schema.kind != SchemaKind.ACCESS_REQUEST:
        raise BadRequest(
            f"Schema {schema_id} is a {schema.kind} schema, not an access-request schema",
            {"schemaId": schema_id},
        )
    if schema.hidden or not schema.active:
        raise BadRequest(
            f"Schema {schema_id} is retired and cannot be used for new access requests",
            {"schemaId": schema_id},
        )
    return schema


def _check_against_schema(schema: Schema, metadata: Any) -> None:
    if not isinstance(metadata, dict):
        raise BadRequest("metadata must be a JSON object")
    # jsonschema reports each missing required property once per missing property, and
    # ``validation_errors`` expands each report to all of them: keep one of each.
    problems = list(
        {
            (p["property"], p["message"]): p
            for p in validation_errors(schema.json_schema, metadata)
        }.values()
    )
    if problems:
        summary = "; ".join(f"{p['property'] or '(request)'} {p['message']}" for p in problems[:5])
        raise BadRequest(
            f"The access request does not match its schema: {summary}",
            {"schemaId": schema.pk, "validationErrors": problems},
        )


def _clean_entities(value: Any, *, requester: str) -> list[str]:
    # Bailo's default schema does not require anyone to be named; a request that names nobody
    # is taken as the requester's own (a grant to nobody would be useless).
    if value is None or value == []:
        return [requester]
    if not isinstance(value, list):
        raise _invalid("overview.entities", "must be a list of users and groups who need access")
    entities: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise _invalid("overview.entities", "each entity must be text such as user:alice")
        try:
            parse_entity(item)
        except ValueError as exc:
            raise _invalid("overview.entities", str(exc), entity=item) from exc
        if item in entities:
            raise _invalid("overview.entities", f"{item} is listed more than once", entity=item)
        entities.append(item)
    users = [e.partition(":")[2] for e in entities if e.startswith("user:")]
    known = set(
        User.objects.filter(username__in=users, is_active=True).values_list("username", flat=True)
    )
    for name in users:
        if name not in known:
            raise _invalid("overview.entities", f"Unknown user '{name}'", entity=f"user:{name}")
    return entities


def _clean_end_date(value: Any, *, keep: date | None = None) -> date | None:
    """``None`` for no end date. A date already past is refused, unless it is the end date the
    request already has (editing an expired request's other answers does not revive it)."""
    if value is None or value == "":
        return None
    parsed = parse_date(value) if isinstance(value, str) else None
    if parsed is None:
        raise _invalid("overview.endDate", "must be a date written as YYYY-MM-DD")
    if parsed < today() and parsed != keep:
        raise _invalid(
            "overview.endDate", f"{parsed.isoformat()} is in the past; choose today or later"
        )
    return parsed


def _overview(
    metadata: dict[str, Any], *, requester: str, keep_end_date: date | None = None
) -> tuple[str, list[str], date | None]:
    overview = metadata.get("overview")
    if not isinstance(overview, dict):
        raise _invalid("overview", "is required (with the request's name and who needs access)")
    name = overview.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _invalid("overview.name", "is required")
    entities = _clean_entities(overview.get("entities"), requester=requester)
    end_date = _clean_end_date(overview.get("endDate"), keep=keep_end_date)
    return name.strip(), entities, end_date


def _new_id(name: str) -> str:
    for _ in range(_ID_ATTEMPTS):
        candidate = new_entry_id(name)
        if not AccessRequest.all_objects.filter(pk=candidate).exists():
            return candidate
    raise Conflict("Could not find a free id for this access request; try again")


# --- who may change a request -----------------------------------------------------------------


def _named(access_request: AccessRequest) -> Subject:
    return Subject(named=frozenset(row.entity for row in access_request.entity_rows.all()))


def access_request_may_change(actor: Actor, access_request: AccessRequest) -> bool:
    """The policy's ``ACCESS_REQUEST_CHANGE``: the entities it names (directly or through a
    group) and the entry's owners, with a token that may write access requests."""
    return allowed(
        actor, Action.ACCESS_REQUEST_CHANGE, access_request.model, _named(access_request)
    )


def _check_may_change(actor: Actor, access_request: AccessRequest) -> None:
    # An invisible entry stays a 404; then the token, then who may change it.
    check(actor, Action.ACCESS_REQUEST_CHANGE, access_request.model, _named(access_request))


def _write_entities(access_request: AccessRequest, entities: list[str]) -> None:
    current = set(access_request.entity_rows.values_list("entity", flat=True))
    wanted = set(entities)
    if current - wanted:
        access_request.entity_rows.filter(entity__in=current - wanted).delete()
    AccessRequestEntity.objects.bulk_create(
        AccessRequestEntity(access_request=access_request, entity=e)
        for e in entities
        if e not in current
    )


# --- services ---------------------------------------------------------------------------------


def access_request_create(
    *, actor: Actor, model: Model, schema_id: Any, metadata: Any
) -> AccessRequest:
    """Ask for access to ``model`` for the entities the request names; opens its reviews."""
    check(actor, Action.ACCESS_REQUEST_CREATE, model)
    if model.kind not in ACCESS_REQUEST_KINDS:
        raise BadRequest(
            f"Access requests are for models; a {EntryKind(model.kind).label.lower()} "
            "has no files or images to give access to",
            {"modelId": model.pk},
        )
    schema = usable_schema(schema_id)
    _check_against_schema(schema, metadata)
    name, entities, end_date = _overview(metadata, requester=f"user:{actor.user.get_username()}")
    with transaction.atomic():
        access_request = AccessRequest.objects.create(
            id=_new_id(name),
            model=model,
            schema=schema,
            metadata=metadata,
            end_date=end_date,
            created_by=actor.user,
        )
        _write_entities(access_request, entities)
        reviews_open_for_access_request(access_request)
        audit_record(
            action=AuditAction.ACCESS_REQUEST_CREATE,
            actor=actor.user,
            subject=f"{model.pk}/{access_request.pk}",
            detail={"schemaId": schema.pk, "entities": entities},
        )
        fire_after_commit(ACCESS_REQUEST_CREATED, access_request)
    return access_request


def _widens(access_request: AccessRequest, entities: list[str], end_date: date | None) -> bool:
    before = set(access_request.entity_rows.values_list("entity", flat=True))
    if set(entities) - before:
        return True
    if access_request.end_date is None:
        return False
    return end_date is None or end_date > access_request.end_date


def access_request_update(
    *, actor: Actor, access_request: AccessRequest, metadata: Any
) -> AccessRequest:
    """Replace the request's answers (same schema). See the module docstring for who may."""
    _check_may_change(actor, access_request)
    _check_against_schema(access_request.schema, metadata)
    creator = access_request.created_by or actor.user
    _, entities, end_date = _overview(
        metadata,
        requester=f"user:{creator.get_username()}",
        keep_end_date=access_request.end_date,
    )
    with transaction.atomic():
        locked = AccessRequest.objects.select_for_update().filter(pk=access_request.pk).first()
        if locked is None:
            raise NotFound(f"Access request {access_request.pk} not found")
        decisions = latest_decisions(reviews_of(access_request=locked))
        if Decision.APPROVE in decisions.values() and _widens(locked, entities, end_date):
            raise Conflict(
                "This access request has been approved: it can no longer give access to more "
                "people or for longer. Make a new access request instead.",
                {"accessRequestId": locked.pk},
            )
        locked.metadata = metadata
        locked.end_date = end_date
        locked.save(update_fields=["metadata", "end_date", "updated_at"])
        _write_entities(locked, entities)
        audit_record(
            action=AuditAction.ACCESS_REQUEST_UPDATE,
            actor=actor.user,
            subject=locked.model_id,
            detail={"accessRequestId": locked.pk},
        )
    return locked


def access_request_delete(*, actor: Actor, access_request: AccessRequest) -> None:
    """Withdraw the request: it, its reviews and their responses are soft-deleted at once (no
    ``Deletion`` record: a withdrawal is final and is not restored with the entry)."""
    _check_may_change(actor, access_request)
    now = timezone.now()
    gone = {"deleted_at": now, "deleted_by": actor.user, "updated_at": now}
    with transaction.atomic():
        AccessRequest.objects.filter(pk=access_request.pk).update(**gone)
        Review.objects.filter(access_request_id=access_request.pk).update(**gone)
        reviews_changed()  # its reviews no longer wait for anyone
        Response.objects.filter(
            Q(review__access_request_id=access_request.pk) | Q(access_request_id=access_request.pk)
        ).update(**gone)
        audit_record(
            action=AuditAction.ACCESS_REQUEST_DELETE,
            actor=actor.user,
            subject=access_request.model_id,
            detail={"accessRequestId": access_request.pk},
        )
    access_request.deleted_at = now


# --- the grant --------------------------------------------------------------------------------


def access_granted(user: Any, model: Model) -> bool:
    """Whether an approved, unexpired access request on ``model`` names ``user`` or one of their
    groups."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(approved_requests_for(user=user, model_ids=[model.pk], on=today()))


class ApprovedAccessRequests:
    """``models_app.policy.DOWNLOAD_GRANTS`` entry (``access/apps.py``): an approved, unexpired
    access request grants download and pull to the users and groups it names."""

    def allows(self, user: Any, model: Model) -> bool:
        return access_granted(user, model)

    def entry_ids(self, user: Any) -> list[str]:
        if not getattr(user, "is_authenticated", False):
            return []
        return sorted({r.model_id for r in approved_requests_for(user=user, on=today())})


APPROVED_ACCESS_REQUESTS = ApprovedAccessRequests()


# --- reviews -------------------------------------------------------------------------------------


def reviews_open_for_access_request(access_request: AccessRequest) -> list[Review]:
    """Open the missing reviews of an access request, one per review role of its schema. Safe to
    call again."""
    if access_request.deleted_at is not None:
        return []
    return reviews_open(
        kind=ReviewKind.ACCESS,
        model_id=access_request.model_id,
        roles=list(access_request.schema.review_roles),
        subject={"access_request": access_request},
    )


def access_requests_backfill(schema: Schema, also_owed: Collection[str] = ()) -> list[Review]:
    """``reviews.roles.services.SCHEMA_BACKFILLS`` listener: after an access-request schema's
    roles change (or one it names is defined: ``also_owed``), open the reviews they owe its
    requests that are still open (live, not past their end date, not yet approved)."""
    created: list[Review] = []
    owed = [*undefined_review_roles(schema.review_roles), *also_owed]
    requests = (
        AccessRequest.objects.filter(schema=schema, model__deleted_at__isnull=True)
        .exclude(end_date__lt=today())
        .select_related("schema")
        .prefetch_related("reviews__responses")
    )
    for access_request in requests:
        if access_request.reviews.exists() and (
            outcome(list(access_request.reviews.all()), owed=owed) == "approved"
        ):
            continue
        created += reviews_open_for_access_request(access_request)
    return created
