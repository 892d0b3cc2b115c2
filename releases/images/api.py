"""The v2 API for container images: Bailo's paths and JSON shapes.

``GET /model/{id}/images`` answers the official client's ``get_images``: ``{"images": [{repository,
name, tags}]}`` with each tag's digest, size and build time added under ``tagDetails``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from models_app.policy import Actor
from releases.images.services import image_get, image_list_for

router = Router(tags=["image"])


@router.get("/model/{model_id}/images", summary="The images pushed to an entry")
def get_images(request: HttpRequest, model_id: str) -> dict[str, Any]:
    return {"images": image_list_for(actor=Actor.from_request(request), model_id=model_id)}


@router.get("/model/{model_id}/image/{name}/{tag}", summary="One tagged image of an entry")
def get_image(request: HttpRequest, model_id: str, name: str, tag: str) -> dict[str, Any]:
    image = image_get(actor=Actor.from_request(request), model_id=model_id, name=name, tag=tag)
    return {"image": image}
