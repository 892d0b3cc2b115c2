"""The Registry tab of an entry, and the registry's token endpoint.

``/model/<id>/registry`` lists the entry's images and tags and shows the exact ``docker`` commands
for this instance. ``/api/v1/registry_auth`` is where the registry sends clients for tokens
(``releases.images.registry_auth``); it sits outside ``/api/v2`` because that is the address Bailo's
registry configuration uses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_http_methods

from core.errors import NotFound
from core.ports import registry
from models_app.frame import (
    MODEL_KINDS,
    entry_context,
    entry_page,
    load_entry,
)
from models_app.policy import Action, allowed
from releases.images.registry_auth import registry_auth
from releases.images.services import RegistryDown, image_list

# What the commands show until the user picks their own names.
EXAMPLE_LOCAL_IMAGE = "my-image:latest"
EXAMPLE_NAME = "my-image"
EXAMPLE_TAG = "v1"


def _when(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None


@entry_page
@require_http_methods(["GET", "HEAD"])
def registry_tab(request: HttpRequest, model_id: str) -> HttpResponse:
    model = load_entry(request, model_id, Action.IMAGE_VIEW)
    if model.kind not in MODEL_KINDS:
        raise NotFound(f"Data cards have no registry: {model_id}", {"modelId": model_id})
    context = entry_context(request, model, tab="registry")
    actor = context["actor"]
    configured = registry.is_configured() and bool(settings.REGISTRY_HOST)
    images: list[dict[str, Any]] = []
    error = ""
    status = 200
    if configured:
        try:
            images = image_list(actor=actor, model=model)
        except RegistryDown as exc:
            error = exc.message
            status = exc.status
        for image in images:
            for tag in image["tagDetails"]:
                tag["created"] = _when(tag.get("createdAt"))
    host = settings.REGISTRY_HOST
    context.update(
        {
            "configured": configured,
            "images": images,
            "error": error,
            "registry_host": host,
            "repository_prefix": f"{host}/{model.pk}",
            "example_reference": f"{host}/{model.pk}/{EXAMPLE_NAME}:{EXAMPLE_TAG}",
            "example_local": EXAMPLE_LOCAL_IMAGE,
            "can_push": allowed(actor, Action.IMAGE_PUSH, model),
            "can_pull": allowed(actor, Action.IMAGE_PULL, model),
            "can_delete_image": allowed(actor, Action.IMAGE_DELETE, model),
        }
    )
    return render(request, "releases/registry.html", context, status=status)


urlpatterns = [
    path("api/v1/registry_auth", registry_auth, name="registry-auth"),
    path("model/<str:model_id>/registry", registry_tab, name="entry-registry"),
]
