"""The v2 API for webhooks: Bailo's paths and JSON shapes, as the official client's
``post_webhook``, ``get_webhooks``, ``put_webhook`` and ``delete_webhook`` use them.

Creating, changing and deleting need ``webhook:manage`` (the entry's owners; token action
``model:write``); listing needs to see the entry, and shows each webhook's ``token`` only to those
who may manage it. ``PUT`` and ``DELETE`` find the webhook within the entry in the path, never by
its id alone.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from core.api_helpers import documented, read_json
from core.openapi import MESSAGE, TIMESTAMP, answer, array, component, listing, obj, string
from models_app.policy import Action, Actor, allowed, get_model_for
from webhooks import selectors, services
from webhooks.models import WebhookEvent

router = Router(tags=["webhook"])


_OWNERS_ONLY = {403: "Only the entry's owners manage its webhooks"}
_WEBHOOK_FIELDS: dict[str, Any] = {
    "name": string(minLength=1, maxLength=services.MAX_NAME),
    "uri": string(format="uri", maxLength=services.MAX_URI),
    "token": string(maxLength=services.MAX_TOKEN, description="Sent as a bearer token"),
    "insecureSSL": {"type": "boolean"},
    "events": array(string(enum=list(WebhookEvent.values))),
    "active": {"type": "boolean"},
}
WEBHOOK = component(
    "Webhook",
    obj(
        {
            **_WEBHOOK_FIELDS,
            "id": string(),
            "modelId": string(),
            "secret": string(description="Signs every delivery; only in the answer to creation"),
            "createdAt": TIMESTAMP,
            "updatedAt": TIMESTAMP,
        },
        required=["id", "modelId", "name", "uri", "events", "active"],
    ),
)
_WEBHOOK = answer("webhook", WEBHOOK)
_WEBHOOK_BODY = documented(
    _WEBHOOK,
    {**_OWNERS_ONLY, 400: "name or uri missing, or a field invalid"},
    body=obj(_WEBHOOK_FIELDS, required=["name", "uri"]),
)


def _fields(request: HttpRequest) -> dict[str, Any]:
    """Bailo's body fields that are present (others are ignored, as Bailo's parser drops them)."""
    body = read_json(request)
    return {name: body[name] for name in services.FIELDS if name in body}


@router.post("/model/{model_id}/webhooks", openapi_extra=_WEBHOOK_BODY)
def post_webhook(request: HttpRequest, model_id: str) -> dict[str, Any]:
    """Create a webhook: ``{name, uri, token?, insecureSSL?, events?, active?}``. The answer holds
    the webhook's ``secret``, which signs every delivery; it is not shown again."""
    actor = Actor.from_request(request)
    model = get_model_for(actor, model_id, Action.WEBHOOK_MANAGE)
    webhook = services.webhook_create(actor=actor, model=model, fields=_fields(request))
    return {"webhook": selectors.webhook_json(webhook, reveal=True, secret=webhook.secret)}


@router.get("/model/{model_id}/webhooks", openapi_extra=documented(listing("webhooks", WEBHOOK)))
def get_webhooks(request: HttpRequest, model_id: str) -> dict[str, Any]:
    actor = Actor.from_request(request)
    model = get_model_for(actor, model_id, Action.MODEL_VIEW)
    reveal = allowed(actor, Action.WEBHOOK_MANAGE, model)
    webhooks = selectors.webhook_list(model=model)
    return {"webhooks": [selectors.webhook_json(w, reveal=reveal) for w in webhooks]}


@router.put("/model/{model_id}/webhook/{webhook_id}", openapi_extra=_WEBHOOK_BODY)
def put_webhook(request: HttpRequest, model_id: str, webhook_id: str) -> dict[str, Any]:
    """Change a webhook: ``name`` and ``uri`` are required, as in Bailo; an omitted optional
    field keeps its value, and ``token: ""`` removes the token."""
    actor = Actor.from_request(request)
    model = get_model_for(actor, model_id, Action.WEBHOOK_MANAGE)
    webhook = selectors.webhook_get(model=model, webhook_id=webhook_id)
    fields = _fields(request)
    for required in ("name", "uri"):
        if required not in fields:
            raise services.invalid(required, "is required")
    webhook = services.webhook_update(actor=actor, webhook=webhook, changes=fields)
    return {"webhook": selectors.webhook_json(webhook, reveal=True)}


@router.delete(
    "/model/{model_id}/webhook/{webhook_id}", openapi_extra=documented(MESSAGE, _OWNERS_ONLY)
)
def delete_webhook(request: HttpRequest, model_id: str, webhook_id: str) -> dict[str, Any]:
    actor = Actor.from_request(request)
    model = get_model_for(actor, model_id, Action.WEBHOOK_MANAGE)
    webhook = selectors.webhook_get(model=model, webhook_id=webhook_id)
    services.webhook_delete(actor=actor, webhook=webhook)
    return {"message": "Successfully removed webhook."}
