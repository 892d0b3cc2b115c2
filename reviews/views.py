"""Review pages: the reviews page, the review panel's forms, and a release's review page.

The panel (``templates/reviews/_review_panel.html``) is included by the release page and the access
request page. Its forms post here: a decision to ``review-respond`` and a release comment to
``release-comment``; each carries a ``next`` field naming the page to return to. A refused post
(no role, request changes without a comment, an unknown decision) re-renders the panel on the
review page with the message beside the form and the refusal's status; nothing is stored.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from core.errors import BailoError, NotFound
from models_app.frame import entry_page, load_entry
from models_app.models import Model
from models_app.policy import Action, Actor
from releases.selectors import release_get_visible
from reviews import selectors, services
from reviews.links import release_page_url, review_subject_url
from reviews.models import Review, ReviewKind
from reviews.panels import (
    access_request_review_panel,
    release_review_panel,
    render_review_page,
)


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


# --- posts from the panel -----------------------------------------------------------------------


def _load_review(request: HttpRequest, model: Model, review_pk: int) -> Review:
    review = (
        Review.objects.filter(pk=review_pk, model=model)
        .select_related("model", "release", "access_request")
        .first()
    )
    if review is None:
        raise NotFound("Review not found", {"reviewId": review_pk})
    if review.kind == ReviewKind.RELEASE:
        assert review.release is not None
        # A release the user may not see (or one since deleted) hides its reviews too.
        release_get_visible(
            actor=Actor.from_request(request), model=model, semver=review.release.semver
        )
    elif review.kind == ReviewKind.LIFECYCLE:
        # Answered on their own page (reviews.lifecycle.views), not through the panel.
        raise NotFound("Review not found", {"reviewId": review_pk})
    elif review.access_request is None or review.access_request.deleted_at is not None:
        raise NotFound("Review not found", {"reviewId": review_pk})
    return review


@entry_page
@require_http_methods(["POST"])
def review_respond(request: HttpRequest, model_id: str, review_pk: int) -> HttpResponse:
    """A holder of the review's role approves, requests changes or undoes."""
    model = load_entry(request, model_id, Action.MODEL_VIEW)
    review = _load_review(request, model, review_pk)
    comment = request.POST.get("comment", "")
    return_url = _safe_next(request, review_subject_url(review))
    try:
        response = services.review_respond(
            actor=Actor.from_request(request),
            review=review,
            decision=request.POST.get("decision", ""),
            comment=comment,
        )
    except BailoError as exc:
        if review.release is not None:
            panel = release_review_panel(request, model, review.release, return_url=return_url)
        else:
            assert review.access_request is not None
            panel = access_request_review_panel(
                request, model, review.access_request, return_url=return_url
            )
        panel.show_error(review_pk=review.pk, message=exc.message, comment=comment)
        return render_review_page(
            request,
            model,
            panel,
            release=review.release,
            access_request=review.access_request,
            status=exc.status,
        )
    done = {
        "approve": "Your approval was recorded.",
        "request_changes": "Your request for changes was recorded.",
        "undo": "Your decision was undone.",
    }[response.decision]
    messages.success(request, done)
    return redirect(return_url)


@entry_page
@require_http_methods(["POST"])
def review_notify(request: HttpRequest, model_id: str, review_pk: int) -> HttpResponse:
    """An owner or contributor asks the holders of a review's role again to review."""
    model = load_entry(request, model_id, Action.MODEL_VIEW)
    review = _load_review(request, model, review_pk)
    return_url = _safe_next(request, review_subject_url(review))
    try:
        sent = services.review_notify(actor=Actor.from_request(request), review=review)
    except BailoError as exc:
        if exc.status == 403:
            raise
        messages.error(request, exc.message)
    else:
        people = f"{sent} reviewer{'s' if sent != 1 else ''}"
        messages.success(request, f"Asked again for the {review.role} review: e-mailed {people}.")
    return redirect(return_url)


@entry_page
@require_http_methods(["POST"])
def release_comment(request: HttpRequest, model_id: str, semver: str) -> HttpResponse:
    """Anyone who can view a release comments on it."""
    model = load_entry(request, model_id, Action.RELEASE_VIEW)
    actor = Actor.from_request(request)
    release = release_get_visible(actor=actor, model=model, semver=semver)
    text = request.POST.get("comment", "")
    return_url = _safe_next(request, release_page_url(model, release))
    try:
        services.comment_add(actor=actor, text=text, release=release)
    except BailoError as exc:
        panel = release_review_panel(request, model, release, return_url=return_url)
        panel.show_error(review_pk=None, message=exc.message, comment=text)
        return render_review_page(request, model, panel, release=release, status=exc.status)
    messages.success(request, "Your comment was added.")
    return redirect(return_url)


@entry_page
@require_http_methods(["POST"])
def response_react(request: HttpRequest, model_id: str, response_pk: int) -> HttpResponse:
    """Toggle the viewer's reaction on a comment or decision shown in the panel."""
    model = load_entry(request, model_id, Action.MODEL_VIEW)
    actor = Actor.from_request(request)
    response = selectors.response_get_visible(actor, str(response_pk))
    services.response_react(actor=actor, response=response, kind=request.POST.get("kind", ""))
    return redirect(_safe_next(request, f"/model/{model.pk}"))


@entry_page
@require_http_methods(["GET", "HEAD"])
def release_review_page(request: HttpRequest, model_id: str, semver: str) -> HttpResponse:
    """A release's reviews on their own page (Bailo's ``/release/{semver}/review``)."""
    model = load_entry(request, model_id, Action.RELEASE_VIEW)
    release = release_get_visible(actor=Actor.from_request(request), model=model, semver=semver)
    panel = release_review_panel(request, model, release)
    return render_review_page(request, model, panel, release=release)


# --- the reviews page ---------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD"])
def reviews_page(request: HttpRequest) -> HttpResponse:
    """Your open reviews and your archived ones, each grouped as releases and access requests."""
    archived = request.GET.get("tab") == "archived"
    groups = selectors.reviews_page_groups(user=request.user, open=not archived)
    names = selectors.role_display_names()
    for review in [*groups.releases, *groups.access_requests, *groups.model_cards]:
        review.role_name = names.get(review.role, review.role)  # type: ignore[attr-defined]
        review.subject_url = review_subject_url(review)  # type: ignore[attr-defined]
    context = {"groups": groups, "archived": archived}
    return render(request, "reviews/reviews.html", context)


urlpatterns = [
    path("reviews", reviews_page, name="reviews"),
    path(
        "model/<str:model_id>/review/<int:review_pk>/respond",
        review_respond,
        name="review-respond",
    ),
    path(
        "model/<str:model_id>/review/<int:review_pk>/notify",
        review_notify,
        name="review-notify",
    ),
    path(
        "model/<str:model_id>/release/<str:semver>/comment",
        release_comment,
        name="release-comment",
    ),
    path(
        "model/<str:model_id>/release/<str:semver>/review",
        release_review_page,
        name="release-review",
    ),
    path(
        "model/<str:model_id>/response/<int:response_pk>/react",
        response_react,
        name="response-react",
    ),
]
