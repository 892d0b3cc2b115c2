"""The v2 API for container images: Bailo's paths and JSON shapes.

``GET /model/{id}/images`` answers the official client's ``get_images``: ``{"images": [{repository,
name, tags}]}`` with each tag's digest, size and build time added under ``tagDetails``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from core.api_helpers import documented
from core.openapi import answer, listing
from models_app.policy import Actor
from releases.images.services import image_get, image_list_for

router = Router(tags=["image"])


_REGISTRY_OUTAGE = {503: "The registry could not be reached"}


@router.get(
    "/model/{model_id}/images",
    summary="The images pushed to an entry",
    openapi_extra=documented(listing("images"), _REGISTRY_OUTAGE),
)
def get_images(request: HttpRequest, model_id: str) -> dict[str, Any]:
    return {"images": image_list_for(actor=Actor.from_request(request), model_id=model_id)}


@router.get(
    "/model/{model_id}/image/{name}/{tag}",
    summary="One tagged image of an entry",
    openapi_extra=documented(answer("image"), _REGISTRY_OUTAGE),
)
def get_image(request: HttpRequest, model_id: str, name: str, tag: str) -> dict[str, Any]:
    image = image_get(actor=Actor.from_request(request), model_id=model_id, name=name, tag=tag)
    return {"image": image}
