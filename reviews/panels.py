"""The review panel that release and access-request pages include, and the page that shows a
panel on its own (where refused posts land with their message beside the form)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from models_app.frame import Panel, entry_context
from models_app.models import Model
from models_app.policy import Actor
from releases.models import Release
from reviews import selectors
from reviews.links import (
    access_request_comment_url,
    access_request_page_url,
    release_comment_url,
    release_page_url,
)
from reviews.models import AccessRequestSubject


def release_review_panel(
    request: HttpRequest, model: Model, release: Release, *, return_url: str | None = None
) -> selectors.ReviewPanel:
    """The panel for a release page (``{% include "reviews/_review_panel.html" %}`` with it as
    ``panel``)."""
    return selectors.review_panel(
        actor=Actor.from_request(request),
        model=model,
        release=release,
        comment_url=release_comment_url(model, release),
        return_url=return_url or release_page_url(model, release),
    )


def _page_panel(request: HttpRequest, model: Model, release: Release) -> selectors.ReviewPanel:
    """The release page's panel, built once per request: its banner and its panel share it."""
    built: dict[object, selectors.ReviewPanel] = request.__dict__.setdefault(
        "_release_review_panels", {}
    )
    if release.pk not in built:
        built[release.pk] = release_review_panel(request, model, release)
    return built[release.pk]


def release_page_panel(request: HttpRequest, model: Model, release: Release) -> Panel:
    """``releases.pages.RELEASE_PAGE_PANELS`` entry: the reviews under a release's page."""
    return Panel("reviews/_review_panel.html", _page_panel(request, model, release))


def release_page_banner(request: HttpRequest, model: Model, release: Release) -> Panel | None:
    """``releases.pages.RELEASE_PAGE_BANNERS`` entry: "this needs your review" for a holder of
    a role whose review is undecided, and the unheld-roles warning for owners."""
    panel = _page_panel(request, model, release)
    if not panel.needs_you and not (panel.unheld and panel.can_manage_roles):
        return None
    return Panel("reviews/_review_banner.html", panel)


def access_request_review_panel(
    request: HttpRequest,
    model: Model,
    access_request: AccessRequestSubject,
    *,
    comment_url: str | None = None,
    return_url: str | None = None,
) -> selectors.ReviewPanel:
    """The panel for an access request page."""
    return selectors.review_panel(
        actor=Actor.from_request(request),
        model=model,
        access_request=access_request,
        comment_url=comment_url or access_request_comment_url(model, access_request),
        return_url=return_url or access_request_page_url(model, access_request),
    )


def render_review_page(
    request: HttpRequest,
    model: Model,
    panel: selectors.ReviewPanel,
    *,
    release: Release | None = None,
    access_request: AccessRequestSubject | None = None,
    status: int = 200,
) -> HttpResponse:
    """The review page of a release or an access request: its title, a link back and the panel.
    Refused posts land here with their message beside the form."""
    tab = "releases" if release is not None else "access-requests"
    context = entry_context(request, model, tab=tab)
    if release is not None:
        title = f"Reviews of release {release.semver}"
        back, back_label = release_page_url(model, release), f"Release {release.semver}"
    else:
        assert access_request is not None
        title = f"Reviews of access request {access_request.name}"
        back = access_request_page_url(model, access_request)
        back_label = f"Access request {access_request.name}"
    context.update({"panel": panel, "title": title, "back": back, "back_label": back_label})
    return render(request, "reviews/review_page.html", context, status=status)
