"""The v2 API for inference services: Bailo's paths and JSON shapes.

Listing and reading need to see the entry; creating needs ``inference:create`` (owners and
contributors), changing and removing ``inference:edit`` / ``inference:delete`` (owners); tokens
need ``model:read`` or ``model:write``. While ``INFERENCE_ENABLED`` is off every route answers 404.
A deploy service that refuses answers 502, one that cannot be reached 503; nothing is recorded
then.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from core.api_helpers import documented, read_json
from core.openapi import TIMESTAMP, answer, component, listing, obj, string
from inference import services
from models_app.policy import Actor

router = Router(tags=["inference"])

FIELDS = ("image", "tag", "description", "settings")

_DEPLOYER_ERRORS = {
    502: "The deploy service refused",
    503: "The deploy service could not be reached",
}
_SETTINGS = obj(
    {
        "processorType": string(minLength=1),
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "memory": {"type": "integer", "minimum": 1},
    },
    required=["processorType", "port"],
)
INFERENCE = component(
    "Inference",
    obj(
        {
            "modelId": string(),
            "image": string(),
            "tag": string(),
            "description": string(),
            "settings": obj({"processorType": string(), "port": {"type": "integer"}}),
            "createdBy": string(),
            "status": string(),
            "createdAt": TIMESTAMP,
            "updatedAt": TIMESTAMP,
        },
        required=["modelId", "image", "tag", "settings"],
    ),
)
_INFERENCE = answer("inference", INFERENCE)


def _fields(request: HttpRequest) -> dict[str, Any]:
    body = read_json(request)
    return {name: body[name] for name in FIELDS if name in body}


@router.get(
    "/model/{model_id}/inferences", openapi_extra=documented(listing("inferences", INFERENCE))
)
def get_inferences(request: HttpRequest, model_id: str) -> dict[str, Any]:
    found = services.inference_list(actor=Actor.from_request(request), model_id=model_id)
    return {"inferences": [services.inference_json(s) for s in found]}


@router.post(
    "/model/{model_id}/inference",
    openapi_extra=documented(
        _INFERENCE,
        {
            **_DEPLOYER_ERRORS,
            400: "A field missing or invalid, or no such image",
            409: "The image is deployed already",
        },
        body=obj(
            {
                "image": string(minLength=1),
                "tag": string(minLength=1),
                "description": string(),
                "settings": _SETTINGS,
            },
            required=["image", "tag", "settings"],
        ),
    ),
)
def post_inference(request: HttpRequest, model_id: str) -> dict[str, Any]:
    """Deploy one of the entry's images: ``{image, tag, description, settings{processorType,
    port, memory?}}``."""
    actor = Actor.from_request(request)
    services.require_enabled()
    service = services.inference_create(actor=actor, model_id=model_id, fields=_fields(request))
    return {"inference": services.inference_json(service)}


@router.get("/model/{model_id}/inference/{image}/{tag}", openapi_extra=documented(_INFERENCE))
def get_inference(request: HttpRequest, model_id: str, image: str, tag: str) -> dict[str, Any]:
    service = services.inference_get(
        actor=Actor.from_request(request), model_id=model_id, image=image, tag=tag
    )
    return {"inference": services.inference_json(service)}


@router.put(
    "/model/{model_id}/inference/{image}/{tag}",
    openapi_extra=documented(
        _INFERENCE,
        {**_DEPLOYER_ERRORS, 400: "A field is invalid"},
        body=obj({"description": string(), "settings": _SETTINGS}),
    ),
)
def put_inference(request: HttpRequest, model_id: str, image: str, tag: str) -> dict[str, Any]:
    """Change ``description`` and ``settings``."""
    actor = Actor.from_request(request)
    services.require_enabled()
    service = services.inference_update(
        actor=actor, model_id=model_id, image=image, tag=tag, fields=_fields(request)
    )
    return {"inference": services.inference_json(service)}


@router.delete(
    "/model/{model_id}/inference/{image}/{tag}",
    openapi_extra=documented(_INFERENCE, _DEPLOYER_ERRORS),
)
def delete_inference(request: HttpRequest, model_id: str, image: str, tag: str) -> dict[str, Any]:
    service = services.inference_delete(
        actor=Actor.from_request(request), model_id=model_id, image=image, tag=tag
    )
    return {"inference": services.inference_json(service)}
