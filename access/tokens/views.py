"""Settings > Authentication: the signed-in user's personal access tokens."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from access.models import TokenScope
from access.tokens import selectors, services
from core.errors import BailoError
from core.ports import registry
from models_app.policy import Actor

# Service errors name the API property at fault; these are the form fields that show them.
_FIELD_OF_PROPERTY = {
    "description": "description",
    "scope": "scope",
    "modelIds": "models",
    "actions": "actions",
    "expiresAt": "expires_at",
}


def public_url(request: HttpRequest) -> str:
    """This site's address for snippets: ``BAILO_PUBLIC_URL`` when an administrator set it, else
    the address the browser used."""
    if settings.BAILO_PUBLIC_URL_SET:
        return str(settings.BAILO_PUBLIC_URL)
    return request.build_absolute_uri("/").rstrip("/")


def registry_host(request: HttpRequest | None = None) -> str:
    """Where ``docker login`` should point (empty when there is no registry): the registry's
    host, else this site's host."""
    if not registry.is_configured():
        return ""
    if settings.REGISTRY_HOST:
        return str(settings.REGISTRY_HOST)
    if request is not None and not settings.BAILO_PUBLIC_URL_SET:
        return request.get_host()
    return urlsplit(settings.BAILO_PUBLIC_URL).netloc


def _created_key(access_key: str) -> str:
    return f"token-created:{access_key}"


def _list_page(request: HttpRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    tokens = list(selectors.token_list(user=request.user))
    rows = [{"token": t, "expired": selectors.token_is_expired(t)} for t in tokens]
    return render(
        request,
        "access/token_list.html",
        {"rows": rows, "error": error, "settings_tab": "authentication"},
        status=status,
    )


@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request)


def _form_context(request: HttpRequest, values: dict[str, Any]) -> dict[str, Any]:
    actor = Actor.from_request(request)
    return {
        "values": values,
        "action_choices": selectors.token_action_choices(actor=actor),
        "model_choices": selectors.token_model_choices(actor=Actor.from_request(request)),
        "settings_tab": "authentication",
    }


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def token_create(request: HttpRequest) -> HttpResponse:
    """The form, and on success the one page that ever shows the secret (never cached)."""
    if request.method == "GET":
        values: dict[str, Any] = {"scope": TokenScope.ALL, "models": [], "actions": []}
        return render(request, "access/token_new.html", _form_context(request, values))

    scope = request.POST.get("scope", "")
    values = {
        "description": request.POST.get("description", ""),
        "scope": scope,
        "models": request.POST.getlist("models"),
        "actions": request.POST.getlist("actions"),
        "expires_at": request.POST.get("expires_at", ""),
    }
    try:
        token, secret = services.token_create(
            actor=Actor.from_request(request),
            description=values["description"],
            scope=scope,
            # Choices left selected in the (hidden) list do not count when "all models" is picked.
            model_ids=values["models"] if scope == TokenScope.MODELS else [],
            actions=values["actions"],
            expires_at=values["expires_at"] or None,
        )
    except BailoError as exc:
        field = _FIELD_OF_PROPERTY.get(str(exc.context.get("property", "")), "")
        context = _form_context(request, values)
        context["errors"] = {field: exc.message} if field else {}
        context["form_error"] = exc.message
        return render(request, "access/token_new.html", context, status=exc.status)

    # Post/redirect/get: the secret travels to the page that shows it through the session, once,
    # so reloading that page never creates a second token.
    request.session[_created_key(token.access_key)] = secret
    return redirect("token-created", access_key=token.access_key)


@never_cache
@login_required
@require_http_methods(["GET", "HEAD"])
def token_created(request: HttpRequest, access_key: str) -> HttpResponse:
    """The one page that shows a new token's secret; shown again, it says the secret is gone."""
    token = selectors.token_list(user=request.user).filter(access_key=access_key).first()
    if token is None:
        return _list_page(request, error="No such token", status=404)
    secret = request.session.pop(_created_key(access_key), None)
    return render(
        request,
        "access/token_created.html",
        {
            "token": token,
            "secret": secret,
            "registry_host": registry_host(request),
            "public_url": public_url(request),
            "settings_tab": "authentication",
        },
    )


@login_required
@require_http_methods(["GET", "HEAD"])
def token_revoke_confirm(request: HttpRequest, access_key: str) -> HttpResponse:
    token = selectors.token_list(user=request.user).filter(access_key=access_key).first()
    if token is None or token.revoked_at is not None:
        return _list_page(request, error="No such token", status=404)
    return render(
        request,
        "access/token_revoke.html",
        {"token": token, "settings_tab": "authentication"},
    )


@login_required
@require_POST
def token_revoke(request: HttpRequest, access_key: str) -> HttpResponse:
    try:
        token = services.token_revoke(actor=Actor.from_request(request), access_key=access_key)
    except BailoError as exc:
        return _list_page(request, error=exc.message, status=exc.status)
    messages.success(request, f"Token “{token.description}” ({token.access_key}) was revoked.")
    return redirect("token-list")


urlpatterns = [
    path("settings/personal-access-tokens", token_list, name="token-list"),
    path("settings/personal-access-tokens/new", token_create, name="token-create"),
    path(
        "settings/personal-access-tokens/<str:access_key>/created",
        token_created,
        name="token-created",
    ),
    path(
        "settings/personal-access-tokens/<str:access_key>/revoke",
        token_revoke,
        name="token-revoke",
    ),
    path(
        "settings/personal-access-tokens/<str:access_key>/revoke/confirm",
        token_revoke_confirm,
        name="token-revoke-confirm",
    ),
]
