"""Site-wide pages: sign-in glue, profile settings and error pages."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve

from core.entities import entities_of
from core.errors import error_body
from core.people import directory


@login_required
def settings_profile(request: HttpRequest) -> HttpResponse:
    entities = entities_of(request.user)
    directory(request).preload(entities)
    return render(
        request,
        "core/settings_profile.html",
        {"entities": entities, "settings_tab": "profile"},
    )


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(error_body(f"No route {request.method} {request.path}"), status=404)
    return render(request, "404.html", status=404)


def unknown_url(request: HttpRequest) -> HttpResponse:
    """The last URL pattern: the site's own 404 page for a URL no other pattern knows, even with
    DEBUG on (Django would show its technical page, listing every route).

    Being a pattern, it also makes every path "valid" to ``CommonMiddleware``, which would then
    stop adding a missing trailing slash; so that redirect is done here instead.
    """
    path = request.path_info
    if settings.APPEND_SLASH and not path.endswith("/"):
        try:
            match = resolve(path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not unknown_url:
            return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
    return not_found(request)


def server_error(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(error_body("Internal server error"), status=500)
    return render(request, "500.html", status=500)


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(error_body(str(exception) or "Forbidden"), status=403)
    context: dict[str, Any] = {"message": str(exception) if exception else ""}
    return render(request, "403.html", context, status=403)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(error_body("Bad request"), status=400)
    return render(request, "400.html", status=400)


def favicon(request: HttpRequest) -> HttpResponse:
    """``/favicon.ico``, which browsers ask for before reading the page: the site's icon."""
    from django.http import HttpResponsePermanentRedirect
    from django.templatetags.static import static

    return HttpResponsePermanentRedirect(static("favicon.svg"))
