"""What the responses to reviews add up to: each review's latest decision, and a subject's
outcome (approved, changes requested or pending)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from core.errors import NotFound
from releases.models import Release
from reviews.models import AccessRequestSubject, Decision, Response, Review


def latest_decisions(reviews: Iterable[Review]) -> dict[int, str | None]:
    """For each review, its latest decision (``undo`` counts as none). Expects
    ``responses`` prefetched in creation order."""
    result: dict[int, str | None] = {}
    for review in reviews:
        latest: str | None = None
        for response in review.responses.all():
            if response.kind == Response.Kind.REVIEW and response.deleted_at is None:
                latest = None if response.decision == Decision.UNDO else response.decision
        result[review.pk] = latest
    return result


def outcome(reviews: list[Review], *, owed: Iterable[str] = ()) -> str:
    """``approved`` when every review's latest decision approves, ``changes_requested`` when any
    asks for changes, otherwise ``pending`` (also when no review is owed: ``approved``).

    ``owed`` names roles whose review is due but not open yet (a role a schema names before an
    administrator defines it): while one of them has no review, the subject is not approved.
    """
    decisions = latest_decisions(reviews).values()
    if any(d == Decision.REQUEST_CHANGES for d in decisions):
        return "changes_requested"
    waiting = set(owed) - {review.role for review in reviews}
    if not waiting and all(d == Decision.APPROVE for d in decisions):
        return "approved"
    return "pending"


def reviews_of(
    *, release: Release | None = None, access_request: AccessRequestSubject | None = None
) -> QuerySet[Review]:
    if release is None and access_request is None:
        raise NotFound("Nothing to review")
    qs = (
        Review.objects.filter(release=release)
        if release
        else Review.objects.filter(access_request=access_request)
    )
    return qs.prefetch_related("responses").order_by("role")
