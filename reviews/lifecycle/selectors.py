"""Reads about lifecycle reviews: an entry's open review, its answered ones, and what the
Overview's "Model card review" panel and the review page show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from core.errors import BadRequest, NotFound
from core.people import Person, people_named
from models_app.models import Model
from models_app.policy import Action, Actor, Subject, allowed
from reviews.lifecycle.services import due_in_words
from reviews.models import LIFECYCLE_ROLE, Response, Review, ReviewKind


def lifecycle_reviews_of(model: Model) -> QuerySet[Review]:
    """The entry's lifecycle reviews with their decisions, newest first."""
    decisions = Response.objects.filter(kind=Response.Kind.REVIEW).order_by("created_at", "id")
    return (
        Review.objects.filter(model=model, kind=ReviewKind.LIFECYCLE)
        .prefetch_related(Prefetch("responses", queryset=decisions))
        .order_by("-created_at", "-id")
    )


@dataclass
class Answered:
    """One answered lifecycle review: when it was due, and who approved it, when and why."""

    review: Review
    response: Response | None
    who: Person | None


@dataclass
class LifecyclePanel:
    """What ``templates/reviews/lifecycle/_panel.html`` renders on the Overview."""

    model: Model
    open: Review | None
    open_due_words: str
    overdue: bool
    history: list[Answered]
    can_set_date: bool
    can_respond: bool
    # A refused date form comes back with its message, the value typed and, for a date in the
    # past, the confirmation box to tick.
    error: str = ""
    value: str = ""
    ask_confirm: bool = False

    @property
    def last(self) -> Answered | None:
        return self.history[0] if self.history else None


def lifecycle_panel(*, actor: Actor, model: Model, now: datetime | None = None) -> LifecyclePanel:
    """The panel of ``model`` for ``actor`` (three queries)."""
    return _panel(
        model,
        allowed(actor, Action.MODEL_EDIT_SETTINGS, model),
        allowed(actor, Action.REVIEW_RESPOND, model, Subject(role=LIFECYCLE_ROLE)),
        now,
    )


def lifecycle_panel_if_useful(*, actor: Actor, model: Model) -> LifecyclePanel | None:
    """The panel, or None without reading the history when ``actor`` may neither set a date nor
    respond (most people who open an Overview)."""
    can_set_date = allowed(actor, Action.MODEL_EDIT_SETTINGS, model)
    can_respond = allowed(actor, Action.REVIEW_RESPOND, model, Subject(role=LIFECYCLE_ROLE))
    if not (can_set_date or can_respond):
        return None
    return _panel(model, can_set_date, can_respond, None)


def _panel(
    model: Model, can_set_date: bool, can_respond: bool, now: datetime | None
) -> LifecyclePanel:
    now = now or timezone.now()
    reviews = list(lifecycle_reviews_of(model))
    open_review = next((r for r in reviews if r.completed_at is None), None)
    answered: list[tuple[Review, Response | None]] = []
    for review in reviews:
        if review.completed_at is not None:
            responses = list(review.responses.all())
            answered.append((review, responses[-1] if responses else None))
    # Everyone who approved, named in one query whatever the length of the history.
    people = people_named([response.entity for _, response in answered if response is not None])
    history = [
        Answered(
            review,
            response,
            (people.get(response.entity) or Person(response.entity, "", response.entity, False))
            if response is not None
            else None,
        )
        for review, response in answered
    ]
    due = open_review.due_date if open_review is not None else None
    return LifecyclePanel(
        model=model,
        open=open_review,
        open_due_words=due_in_words(due, now) if due is not None else "",
        overdue=due is not None and due <= now,
        history=history,
        can_set_date=can_set_date,
        can_respond=can_respond,
    )


def lifecycle_review_get(*, model: Model, review_id: Any) -> Review:
    """One lifecycle review of a live entry the caller has already loaded (404 otherwise)."""
    if not str(review_id).isdigit():
        raise BadRequest(f"Invalid review id: {str(review_id)[:50]}")
    review = (
        Review.objects.filter(pk=int(review_id), model=model, kind=ReviewKind.LIFECYCLE)
        .select_related("model")
        .first()
    )
    if review is None:
        raise NotFound(f"Review {review_id} not found", {"reviewId": str(review_id)})
    return review
