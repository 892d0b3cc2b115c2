"""Opening reviews, responding to them, and what their responses add up to.

Each non-minor, non-draft release and each access request gets one review per review role of the
schema that governs it: the entry's card schema for releases, the request's own schema for access
requests. A review's outcome is its latest decision; a subject is approved when every one of its
reviews' latest decisions is ``approve``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from core.audit import AuditAction, audit_record
from core.entities import user_entity
from core.errors import BadRequest, Conflict, Forbidden, NotFound
from core.hooks import Hook, fire_after_commit
from core.throttle import TooManyFailures
from models_app.models import Model
from models_app.policy import Action, Actor, Subject, check
from releases.models import Release
from reviews.badge import reviews_changed
from reviews.models import (
    AccessRequestSubject,
    Decision,
    Response,
    Review,
    ReviewKind,
    ReviewRole,
)
from reviews.notifications import notify_review_again
from reviews.outcomes import latest_decisions
from reviews.selectors import release_review_roles

# Called after commit with each decision recorded on a review (not with comments); the webhooks
# feature listens (webhooks/apps.py). Failures are logged, never raised.
REVIEW_RESPONSE_CREATED: Hook[Callable[[Response], None]] = Hook("review response created")


def reviews_open_for_release(release: Release) -> list[Review]:
    """Open the missing reviews of a published release. Safe to call again."""
    if release.is_minor or release.draft or release.deleted_at is not None:
        return []
    return reviews_open(
        kind=ReviewKind.RELEASE,
        model_id=release.model_id,
        roles=release_review_roles(release),
        subject={"release": release},
    )


def reviews_open(
    *, kind: str, model_id: str, roles: Iterable[str], subject: dict[str, Any]
) -> list[Review]:
    """Open the reviews ``roles`` owe ``subject`` (``{"release": ...}`` or
    ``{"access_request": ...}``) that do not exist yet. Safe to call again."""
    wanted = list(dict.fromkeys(roles))
    # A role a schema names before an administrator defines it owes its review from the moment
    # the role is created (reviews.roles.services.review_role_create back-fills then).
    defined = set(
        ReviewRole.objects.filter(short_name__in=wanted).values_list("short_name", flat=True)
    )
    existing = set(Review.all_objects.filter(**subject).values_list("role", flat=True))
    created = [
        Review.objects.create(kind=kind, model_id=model_id, role=role, **subject)
        for role in wanted
        if role in defined and role not in existing
    ]
    for review in created:
        _notify_role_holders(review)
    if created:
        reviews_changed()
    return created


def release_published(release: Release) -> None:
    """``releases.services.RELEASE_PUBLISHED`` listener: open one review per role of the
    release's card schema (after the release is committed; all of its reviews are written
    together, and e-mails leave after that)."""
    with transaction.atomic():
        reviews_open_for_release(release)


def _notify_role_holders(review: Review) -> None:
    # Imported here: e-mail composition depends on templates and is optional for callers.
    from reviews.notifications import notify_review_requested

    transaction.on_commit(lambda: notify_review_requested(review.pk))


def review_respond(*, actor: Actor, review: Review, decision: Any, comment: Any = "") -> Response:
    """Record a decision by a holder of the review's role (the policy's ``REVIEW_RESPOND``).
    ``request_changes`` needs a comment."""
    check(actor, Action.REVIEW_RESPOND, review.model, Subject(role=review.role))
    if decision not in Decision.values:
        raise BadRequest(f"decision must be one of: {', '.join(Decision.values)}")
    comment = comment if isinstance(comment, str) else ""
    if decision == Decision.REQUEST_CHANGES and not comment.strip():
        raise BadRequest("A comment is required when requesting changes")
    response = Response.objects.create(
        kind=Response.Kind.REVIEW,
        user=actor.user,
        entity=user_entity(actor.user),
        review=review,
        role=review.role,
        decision=decision,
        comment=comment.strip(),
    )
    reviews_changed()  # answered: no longer open for its author
    audit_record(
        action=AuditAction.REVIEW_RESPOND,
        actor=actor.user,
        subject=review.model_id,
        detail={"review": review.pk, "role": review.role, "decision": decision},
    )
    from reviews.notifications import notify_response

    transaction.on_commit(lambda: notify_response(response.pk))
    fire_after_commit(REVIEW_RESPONSE_CREATED, response)
    return response


def comment_add(
    *,
    actor: Actor,
    text: Any,
    release: Release | None = None,
    access_request: AccessRequestSubject | None = None,
) -> Response:
    """A comment on a release or an access request by anyone who can view it (the caller checks
    that it may see the subject itself when it loads it, e.g. a draft release)."""
    subject_of = release if release is not None else access_request
    if subject_of is None:
        raise NotFound("Nothing to comment on")
    check(actor, Action.COMMENT_ADD, Model.objects.get(pk=subject_of.model_id))
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("comment must not be empty")
    if len(text) > 20_000:
        raise BadRequest("comment must be at most 20,000 characters")
    audit_record(action=AuditAction.COMMENT_ADD, actor=actor.user, subject=subject_of.model_id)
    return Response.objects.create(
        kind=Response.Kind.COMMENT,
        user=actor.user,
        entity=user_entity(actor.user),
        comment=text.strip(),
        release=release,
        access_request=access_request,
    )


REACTION_KINDS = ("like", "dislike", "celebrate", "heart")


def response_react(*, actor: Actor, response: Response, kind: str) -> Response:
    """Toggle the caller's ``kind`` reaction on a comment or decision (anyone who may comment on
    the entry). Reacting twice takes the reaction back."""
    if kind not in REACTION_KINDS:
        raise BadRequest(
            f"Unknown reaction '{kind[:20]}': use one of {', '.join(REACTION_KINDS)}",
            {"kind": kind[:20]},
        )
    model_id = _model_id_of(response)
    check(actor, Action.COMMENT_ADD, Model.objects.get(pk=model_id))
    dn = actor.user.get_username()
    with transaction.atomic():
        # Locked: two people reacting at once must not overwrite each other's toggle.
        locked = Response.objects.select_for_update().get(pk=response.pk)
        reactions = [dict(r) for r in locked.reactions or []]
        entry = next((r for r in reactions if r.get("kind") == kind), None)
        if entry is None:
            reactions.append({"kind": kind, "users": [dn]})
        elif dn in entry["users"]:
            entry["users"] = [u for u in entry["users"] if u != dn]
        else:
            entry["users"] = [*entry["users"], dn]
        locked.reactions = [r for r in reactions if r["users"]]
        # Not updated_at: a reaction is not an edit of the response.
        Response.objects.filter(pk=locked.pk).update(reactions=locked.reactions)
    return locked


def _model_id_of(response: Response) -> str:
    if response.review is not None:
        return response.review.model_id
    if response.release is not None:
        return response.release.model_id
    if response.access_request is not None:
        return response.access_request.model_id
    raise NotFound(f"Response {response.pk} not found")


def comment_edit(*, actor: Actor, response: Response, text: Any) -> Response:
    """Authors edit their own comments (and the comment of their own decisions)."""
    if response.user_id != getattr(actor.user, "pk", None):
        raise Forbidden("Only the author may edit this")
    if not isinstance(text, str) or (response.kind == Response.Kind.COMMENT and not text.strip()):
        raise BadRequest("comment must not be empty")
    if response.decision == Decision.REQUEST_CHANGES and not text.strip():
        raise BadRequest("A request for changes keeps a comment")
    response.comment = text.strip()
    response.comment_edited_at = timezone.now()
    response.save(update_fields=["comment", "comment_edited_at", "updated_at"])
    return response


# Bailo lets each person ask again about one review once every 30 seconds.
RENOTIFY_INTERVAL_SECONDS = 30


def review_notify(*, actor: Actor, review: Review) -> int:
    """Ask the holders of a review's role, again, to review (Bailo's "Request re-review").

    Those who may edit the entry (owners and contributors) ask; a review whose latest decision
    approves needs no asking (409). Each person may ask about one review once every
    ``RENOTIFY_INTERVAL_SECONDS`` (429 with ``Retry-After`` sooner). Nothing is written; returns
    how many e-mails were sent.
    """
    check(actor, Action.MODEL_EDIT_CARD, review.model)
    if latest_decisions([review])[review.pk] == Decision.APPROVE:
        raise Conflict(
            f"The {review.role} review is already approved: there is nothing to ask for",
            {"reviewId": str(review.pk), "role": review.role},
        )
    # The cache (Redis with the stack) is shared by every web process. The namespace is the
    # failure counters' one, so each test starts with no earlier request remembered.
    key = f"review-notify:{settings.FAILURE_LIMIT_NAMESPACE}:{actor.user.pk}:{review.pk}"
    if not cache.add(key, 1, timeout=RENOTIFY_INTERVAL_SECONDS):
        raise TooManyFailures(
            "You asked about this review a moment ago: try again in "
            f"{RENOTIFY_INTERVAL_SECONDS} seconds",
            retry_after=RENOTIFY_INTERVAL_SECONDS,
        )
    return notify_review_again(review.pk, requested_by=actor.user)
