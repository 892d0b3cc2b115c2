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
from models_app.policy import Actor

# Service errors name the API property at fault; these are the form fields that show them.
_FIELD_OF_PROPERTY = {
    "description": "description",
    "scope": "scope",
    "modelIds": "models",
    "actions": "actions",
    "expiresAt": "expires_at",
}


def registry_host() -> str:
    """Where ``docker login`` should point: the registry's host, else this site's host."""
    return settings.REGISTRY_HOST or urlsplit(settings.BAILO_PUBLIC_URL).netloc


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

    host = registry_host()
    return render(
        request,
        "access/token_created.html",
        {
            "token": token,
            "secret": secret,
            "registry_host": host,
            "public_url": settings.BAILO_PUBLIC_URL,
            "settings_tab": "authentication",
        },
        status=201,
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
        "settings/personal-access-tokens/<str:access_key>/revoke",
        token_revoke,
        name="token-revoke",
    ),
]
