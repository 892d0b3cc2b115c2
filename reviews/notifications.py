"""E-mails about reviews. Sent after commit; a mail failure is logged and never undoes a review.

Four messages, each a plain-text template under ``templates/reviews/email/``:

- a review was requested: to the holders of the review's role on the entry;
- a review was asked for again (``POST /api/v3/review/{id}/notify``): to the same people;
- a response was recorded: to the entry's owners (and, for an access request, whoever made it);
- a release was approved (every role's latest decision approves): to the entry's owners.

Holders are the users named by a collaborator row (``user:<name>``) and the members of the groups
named by one (``group:<name>``). Users without an e-mail address are skipped, and nobody is told
about their own response.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse

from core.entities import GROUP_PREFIX, USER_PREFIX, display_name_of
from models_app.models import Collaborator, SystemRole
from reviews.links import review_subject_url
from reviews.models import Decision, Response, Review, ReviewKind, ReviewRole
from reviews.outcomes import outcome, reviews_of

log = logging.getLogger(__name__)


def _users_for_entities(entities: Iterable[str]) -> list[Any]:
    """Users named directly or through a group, with an e-mail address, each once."""
    usernames, groups = set(), set()
    for entity in entities:
        if entity.startswith(USER_PREFIX):
            usernames.add(entity[len(USER_PREFIX) :])
        elif entity.startswith(GROUP_PREFIX):
            groups.add(entity[len(GROUP_PREFIX) :])
    if not usernames and not groups:
        return []
    users = get_user_model().objects.filter(
        Q(username__in=usernames) | Q(groups__name__in=groups), is_active=True
    )
    return list(users.exclude(email="").distinct().order_by("username"))


def role_holders(model_id: str, role: str) -> list[Any]:
    """Who holds ``role`` on an entry and can be e-mailed."""
    entities = Collaborator.objects.filter(model_id=model_id, role=role).values_list(
        "entity", flat=True
    )
    return _users_for_entities(entities)


def _absolute(path: str) -> str:
    return f"{settings.BAILO_PUBLIC_URL}{path}"


def _subject_context(review: Review) -> dict[str, Any]:
    model = review.model
    if review.kind == ReviewKind.RELEASE and review.release is not None:
        what = f"release {review.release.semver} of {model.name}"
        url = reverse(
            "release-detail", kwargs={"model_id": model.pk, "semver": review.release.semver}
        )
    else:
        assert review.access_request is not None
        what = f"access request “{review.access_request.name}” on {model.name}"
        url = review_subject_url(review)
    role = ReviewRole.objects.filter(short_name=review.role).first()
    return {
        "model": model,
        "review": review,
        "what": what,
        "url": _absolute(url),
        "reviews_url": _absolute(reverse("reviews")),
        "role_name": role.name if role else review.role,
    }


def _send(recipients: Iterable[Any], subject: str, template: str, context: dict[str, Any]) -> int:
    """One message per recipient (so addresses are not shared); returns how many were sent."""
    messages = []
    for user in recipients:
        body = render_to_string(template, {**context, "recipient": user})
        messages.append(
            EmailMessage(
                subject=subject,
                body=body,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[user.email],
            )
        )
    if not messages:
        return 0
    try:
        return get_connection(fail_silently=False).send_messages(messages) or 0
    except Exception:
        # The review is committed; a mail server being down must not turn that into an error.
        log.exception("Could not send %d review e-mail(s): %s", len(messages), subject)
        return 0


def _load_review(review_id: int) -> Review | None:
    return (
        Review.objects.filter(pk=review_id, model__deleted_at__isnull=True)
        .select_related("model", "release", "access_request")
        .first()
    )


def notify_review_requested(review_id: int) -> None:
    """Tell the holders of a review's role that a review is waiting."""
    review = _load_review(review_id)
    if review is None:
        return
    context = _subject_context(review)
    _send(
        role_holders(review.model_id, review.role),
        f"[Bailo] Review requested: {context['what']}",
        "reviews/email/review_requested.txt",
        context,
    )


def notify_review_again(review_id: int, *, requested_by: Any) -> int:
    """Tell the holders of a review's role that someone asks again for their review (not the
    person asking). Returns how many e-mails were sent."""
    review = _load_review(review_id)
    if review is None:
        return 0
    context = _subject_context(review)
    context["who"] = requested_by.get_username()
    recipients = [u for u in role_holders(review.model_id, review.role) if u.pk != requested_by.pk]
    return _send(
        recipients,
        f"[Bailo] Review requested again: {context['what']}",
        "reviews/email/review_requested_again.txt",
        context,
    )


def _owners(model_id: str) -> list[Any]:
    entities = Collaborator.objects.filter(model_id=model_id, role=SystemRole.OWNER).values_list(
        "entity", flat=True
    )
    return _users_for_entities(entities)


def notify_response(response_id: int) -> None:
    """Tell the owners (and an access request's author) about a decision; when it completes the
    approval of a release, tell the owners that too."""
    response = Response.objects.filter(pk=response_id).select_related("user").first()
    if response is None or response.review_id is None:
        return
    review = _load_review(response.review_id)
    if review is None:
        return
    context = _subject_context(review)
    context["response"] = response
    # The reviewer by name, as the pages show them (their user name when they have no name).
    context["who"] = (
        display_name_of(response.user)
        if response.user is not None
        else response.entity.partition(":")[2] or response.entity
    )
    context["decision_label"] = {
        Decision.APPROVE: "approved",
        Decision.REQUEST_CHANGES: "requested changes to",
        Decision.UNDO: "undid their decision on",
    }.get(Decision(response.decision), response.decision)
    recipients = {u.pk: u for u in _owners(review.model_id)}
    if review.access_request is not None and review.access_request.created_by is not None:
        author = review.access_request.created_by
        if author.email and author.is_active:
            recipients[author.pk] = author
    recipients.pop(response.user_id, None)
    _send(
        recipients.values(),
        f"[Bailo] {context['who']} {context['decision_label']} {context['what']}",
        "reviews/email/response_recorded.txt",
        context,
    )
    if (
        review.kind == ReviewKind.RELEASE
        and review.release is not None
        and response.decision == Decision.APPROVE
        and outcome(list(reviews_of(release=review.release))) == "approved"
    ):
        _send(
            _owners(review.model_id),
            f"[Bailo] Approved: {context['what']}",
            "reviews/email/release_approved.txt",
            context,
        )
