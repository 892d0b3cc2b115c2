"""Lifecycle reviews of the model card: an entry's owners (or an administrator) set the date by
which the card must be looked at again; the owners answer by approving and setting the next date.

Rules (Bailo's ``POST /api/v3/review/{modelId}`` and ``/review/{reviewId}/response``):

- at most one open lifecycle review per entry (open: not answered yet; the database holds this too,
  ``review_one_open_lifecycle``);
- a due date is on or after 2000-01-01 and at most ``LIFECYCLE_MAX_REVIEW_INTERVAL`` from now; a
  date in the past is allowed when opening a review (the page asks for confirmation);
- those who hold the literal role ``owner`` on the entry answer; the answer is ``approve`` with the
  next due date, in the future and within the same maximum;
- answering closes the review (its reminders stop), fires ``REVIEW_RESPONSE_CREATED`` (the
  ``createReviewResponse`` webhook) and opens the next review. No e-mail goes out for it.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from core.audit import AuditAction, audit_record
from core.entities import user_entity
from core.errors import BadRequest, Conflict
from core.hooks import fire_after_commit
from models_app.models import Model
from models_app.policy import Action, Actor, Subject, check
from reviews.badge import reviews_changed
from reviews.models import LIFECYCLE_ROLE, Decision, Response, Review, ReviewKind
from reviews.services import REVIEW_RESPONSE_CREATED

EARLIEST_DUE_DATE = datetime(2000, 1, 1, tzinfo=UTC)


def max_interval_label() -> str:
    days = settings.LIFECYCLE_MAX_REVIEW_INTERVAL.days
    return f"{days} days" if days != 1 else "1 day"


def due_date_parse(value: Any, *, field: str = "dueDate") -> datetime:
    """A due date from the API or a form: ``YYYY-MM-DD`` (midnight UTC that day) or an ISO 8601
    date-time (``2027-01-31T12:00:00Z``; without an offset, UTC)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise BadRequest(f"{field} is required: a date such as 2027-01-31", {"field": field})
    if not isinstance(value, str):
        raise BadRequest(f"{field} must be a date such as 2027-01-31", {"field": field})
    text = value.strip()
    try:
        moment = parse_datetime(text)
        if moment is None:
            day = parse_date(text)
            moment = datetime.combine(day, time.min) if day is not None else None
    except ValueError:
        moment = None
    if moment is None:
        raise BadRequest(
            f"{field} must be a date such as 2027-01-31, got {text[:40]!r}", {"field": field}
        )
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return moment


def _check_not_too_far(due: datetime, now: datetime, field: str) -> None:
    if due > now + settings.LIFECYCLE_MAX_REVIEW_INTERVAL:
        raise BadRequest(
            f"Due date of next review cannot be further than {max_interval_label()} in the future.",
            {"field": field},
        )


def lifecycle_review_create(
    *, actor: Actor, model: Model, due_date: Any, now: datetime | None = None
) -> Review:
    """Open the entry's lifecycle review, due on ``due_date`` (owners and administrators)."""
    check(actor, Action.MODEL_EDIT_SETTINGS, model)
    now = now or timezone.now()
    due = due_date_parse(due_date)
    if due < EARLIEST_DUE_DATE:
        raise BadRequest(
            "Due date of next review cannot be before year 2000.", {"field": "dueDate"}
        )
    _check_not_too_far(due, now, "dueDate")
    with transaction.atomic():
        # The entry row is the lock: two owners setting a date at once make one review, and the
        # other gets the "already open" refusal (the database's review_one_open_lifecycle
        # constraint stands behind it).
        Model.objects.select_for_update().filter(pk=model.pk).first()
        if _open_review_exists(model):
            raise BadRequest(
                "This model already has an open lifecycle review: answer it to set the next date",
                {"modelId": model.pk},
            )
        review = Review.objects.create(
            kind=ReviewKind.LIFECYCLE, model=model, role=LIFECYCLE_ROLE, due_date=due
        )
        reviews_changed()
        audit_record(
            action=AuditAction.LIFECYCLE_REVIEW_CREATE,
            actor=actor.user,
            subject=model.pk,
            detail={"review": review.pk, "dueDate": due.isoformat()},
        )
    return review


def _open_review_exists(model: Model) -> bool:
    return Review.all_objects.filter(
        model=model, kind=ReviewKind.LIFECYCLE, completed_at__isnull=True
    ).exists()


def lifecycle_review_respond(
    *,
    actor: Actor,
    review: Review,
    decision: Any,
    comment: Any = "",
    due_date: Any = None,
    now: datetime | None = None,
) -> Response:
    """The owners answer a lifecycle review: ``approve`` with the next ``due_date``. Returns the
    response; the next review is open when it returns."""
    check(actor, Action.REVIEW_RESPOND, review.model, Subject(role=review.role))
    now = now or timezone.now()
    if decision == Decision.REQUEST_CHANGES and not (isinstance(comment, str) and comment.strip()):
        raise BadRequest("A comment must be supplied when requesting changes", {"field": "comment"})
    if decision != Decision.APPROVE:
        raise BadRequest(
            "A lifecycle review is answered by approving it with the next due date",
            {"field": "decision"},
        )
    due = due_date_parse(due_date)
    if due <= now:
        raise BadRequest("The next due date must be in the future", {"field": "dueDate"})
    _check_not_too_far(due, now, "dueDate")
    if comment is not None and not isinstance(comment, str):
        raise BadRequest("comment must be a string", {"field": "comment"})
    text = (comment or "").strip()
    if len(text) > 20_000:
        raise BadRequest("comment must be at most 20,000 characters", {"field": "comment"})
    with transaction.atomic():
        locked = Review.objects.select_for_update().get(pk=review.pk)
        if locked.completed_at is not None:
            raise Conflict(
                "This lifecycle review has already been answered: answer the open one",
                {"reviewId": str(review.pk)},
            )
        response = Response.objects.create(
            kind=Response.Kind.REVIEW,
            user=actor.user,
            entity=user_entity(actor.user),
            review=locked,
            role=locked.role,
            decision=Decision.APPROVE,
            comment=text,
        )
        # Closing it is what stops its reminders (the sweep looks at open reviews only).
        locked.completed_at = now
        locked.save(update_fields=["completed_at", "updated_at"])
        Review.objects.create(
            kind=ReviewKind.LIFECYCLE, model_id=locked.model_id, role=LIFECYCLE_ROLE, due_date=due
        )
        reviews_changed()  # one closed, the next open (due later, perhaps not counted yet)
        audit_record(
            action=AuditAction.REVIEW_RESPOND,
            actor=actor.user,
            subject=locked.model_id,
            detail={"review": locked.pk, "role": locked.role, "decision": Decision.APPROVE},
        )
    fire_after_commit(REVIEW_RESPONSE_CREATED, response)
    return response


def due_in_words(due: datetime, now: datetime) -> str:
    """ "in 3 days", "today", "2 days ago": how a page and an e-mail say when a review is due."""
    days = (due.date() - now.date()).days
    if days == 0:
        return "today"
    if days > 0:
        return f"in {days} day{'s' if days != 1 else ''}"
    return f"{-days} day{'s' if days != -1 else ''} ago"
