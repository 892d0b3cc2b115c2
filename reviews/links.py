"""Where the subject of a review lives: the pages and comment forms of releases and access
requests, by URL name (the access-requests feature names its pages; reviews do not import it)."""

from __future__ import annotations

from typing import Any

from django.urls import NoReverseMatch, reverse

from models_app.models import Model
from releases.models import Release
from reviews.models import AccessRequestSubject, Review, ReviewKind


def _reverse_first(names: list[str], **kwargs: Any) -> str | None:
    for name in names:
        try:
            return reverse(name, kwargs=kwargs)
        except NoReverseMatch:
            continue
    return None


def release_page_url(model: Model, release: Release) -> str:
    return reverse("release-detail", kwargs={"model_id": model.pk, "semver": release.semver})


def access_request_page_url(model: Model, access_request: AccessRequestSubject) -> str:
    """The access request's page (the access-requests feature names it), else the entry."""
    found = _reverse_first(
        ["access-request-detail", "access-request"],
        model_id=model.pk,
        access_request_id=access_request.pk,
    )
    return found or reverse("entry-overview", kwargs={"model_id": model.pk})


def release_comment_url(model: Model, release: Release) -> str:
    return reverse("release-comment", kwargs={"model_id": model.pk, "semver": release.semver})


def access_request_comment_url(model: Model, access_request: AccessRequestSubject) -> str:
    found = _reverse_first(
        ["access-request-comment"], model_id=model.pk, access_request_id=access_request.pk
    )
    return found or ""


def review_subject_url(review: Review) -> str:
    """The page of the release or access request a review is about (a lifecycle review: its own
    page)."""
    if review.kind == ReviewKind.RELEASE and review.release is not None:
        return release_page_url(review.model, review.release)
    if review.kind == ReviewKind.LIFECYCLE:
        return reverse(
            "lifecycle-review", kwargs={"model_id": review.model_id, "review_pk": review.pk}
        )
    if review.access_request is not None:
        return access_request_page_url(review.model, review.access_request)
    return reverse("entry-overview", kwargs={"model_id": review.model_id})
