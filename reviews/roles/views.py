"""Administration pages for review roles: the list, create, edit and delete.

Administrators only (``admin_required``); the services check again, so the pages and the API share
one rule. The pages share the administration frame (``models_app/admin_base.html``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods

from core.errors import BailoError
from core.people import directory
from models_app.frame import admin_required
from models_app.models import Collaborator, Schema
from models_app.policy import Actor
from reviews.models import Review, ReviewRole
from reviews.roles import services


def _role_usage() -> dict[str, dict[str, Any]]:
    """For each role: the schemas that name it and how many entries assign it."""
    usage: dict[str, dict[str, Any]] = {}
    for schema in Schema.objects.only("id", "name", "review_roles"):
        for short_name in schema.review_roles or []:
            usage.setdefault(short_name, {"schemas": [], "holders": 0})["schemas"].append(schema)
    for row in Collaborator.objects.values("role").annotate(n=Count("id")):
        usage.setdefault(row["role"], {"schemas": [], "holders": 0})["holders"] = row["n"]
    return usage


@admin_required
def review_roles(request: HttpRequest) -> HttpResponse:
    usage = _role_usage()
    rows = [
        {"role": role, **usage.get(role.short_name, {"schemas": [], "holders": 0})}
        for role in ReviewRole.objects.order_by("short_name")
    ]
    directory(request).preload(e for row in rows for e in row["role"].default_entities or [])
    return render(
        request,
        "reviews/roles/admin_review_roles.html",
        {"rows": rows, "admin_tab": "review-roles"},
    )


def _role_values(request: HttpRequest) -> dict[str, Any]:
    return {
        "shortName": request.POST.get("short_name", "").strip(),
        "name": request.POST.get("name", ""),
        "description": request.POST.get("description", ""),
        "defaultEntities": [
            line.strip()
            for line in request.POST.get("default_entities", "").replace(",", "\n").splitlines()
            if line.strip()
        ],
        "lockEntities": request.POST.get("lock_entities") == "on",
    }


def _role_field(exc: BailoError) -> str:
    """Which form field a review-role service error is about."""
    message = exc.message
    if "shortName" in exc.context or message.startswith(("shortName", "A review role ")):
        return "name" if "named" in message else "short_name"
    if message.startswith("name") or "name" in exc.context:
        return "name"
    if message.startswith("description"):
        return "description"
    if message.startswith("defaultEntities"):
        return "default_entities"
    return ""


def _role_form(
    request: HttpRequest,
    *,
    role: ReviewRole | None,
    values: dict[str, Any],
    error: BailoError | None = None,
) -> HttpResponse:
    errors: dict[str, str] = {}
    if error is not None:
        errors[_role_field(error) or "form"] = error.message
    context = {
        "role": role,
        "values": {**values, "defaultEntitiesText": "\n".join(values.get("defaultEntities", []))},
        "errors": errors,
        "admin_tab": "review-roles",
    }
    return render(
        request,
        "reviews/roles/admin_review_role_form.html",
        context,
        status=error.status if error is not None else 200,
    )


@admin_required
@require_http_methods(["GET", "POST"])
def review_role_new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        values: dict[str, Any] = {"defaultEntities": [], "lockEntities": False}
        return _role_form(request, role=None, values=values)
    values = _role_values(request)
    try:
        role = services.review_role_create(actor=Actor.from_request(request), body=values)
    except BailoError as exc:
        return _role_form(request, role=None, values=values, error=exc)
    messages.success(request, f"Review role {role.short_name} was created.")
    return redirect("administration-review-roles")


def _role_or_404(short_name: str) -> ReviewRole:
    role = ReviewRole.objects.filter(short_name=short_name).first()
    if role is None:
        raise Http404(f"Review role {short_name} not found")
    return role


@admin_required
@require_http_methods(["GET", "POST"])
def review_role_edit(request: HttpRequest, short_name: str) -> HttpResponse:
    role = _role_or_404(short_name)
    if request.method == "GET":
        values = {
            "shortName": role.short_name,
            "name": role.name,
            "description": role.description,
            "defaultEntities": list(role.default_entities),
            "lockEntities": role.lock_entities,
        }
        return _role_form(request, role=role, values=values)
    values = _role_values(request)
    values["shortName"] = role.short_name
    try:
        services.review_role_update(
            actor=Actor.from_request(request),
            role=role,
            body={k: v for k, v in values.items() if k != "shortName"},
        )
    except BailoError as exc:
        return _role_form(request, role=_role_or_404(short_name), values=values, error=exc)
    messages.success(request, f"Review role {role.short_name} was saved.")
    return redirect("administration-review-roles")


@admin_required
@require_http_methods(["GET", "POST"])
def review_role_delete(request: HttpRequest, short_name: str) -> HttpResponse:
    """GET explains what deleting takes with it; POST deletes."""
    role = _role_or_404(short_name)
    if request.method == "POST":
        try:
            counts = services.review_role_delete(actor=Actor.from_request(request), role=role)
        except BailoError as exc:
            messages.error(request, exc.message)
            return redirect("administration-review-roles")
        messages.success(
            request,
            f"Review role {short_name} was deleted: it left {counts['schemas']} schema(s) and "
            f"{counts['collaborators']} role assignment(s), and {counts['reviews']} review(s) "
            "were removed.",
        )
        return redirect("administration-review-roles")
    usage = _role_usage().get(short_name, {"schemas": [], "holders": 0})
    context = {
        "role": role,
        "schemas": usage["schemas"],
        "holders": usage["holders"],
        "reviews": Review.objects.filter(role=short_name, model__deleted_at__isnull=True).count(),
        "admin_tab": "review-roles",
    }
    return render(request, "reviews/roles/admin_review_role_delete.html", context)


urlpatterns = [
    path("administration/review-roles", review_roles, name="administration-review-roles"),
    path(
        "administration/review-roles/new",
        review_role_new,
        name="administration-review-role-new",
    ),
    path(
        "administration/review-roles/<str:short_name>",
        review_role_edit,
        name="administration-review-role",
    ),
    path(
        "administration/review-roles/<str:short_name>/delete",
        review_role_delete,
        name="administration-review-role-delete",
    ),
]
