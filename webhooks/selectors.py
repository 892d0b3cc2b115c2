"""Reads for webhooks: an entry's webhooks, one of them (always within its entry), their
deliveries, and Bailo's JSON shape.

Callers load the entry through the policy first (``get_model_for`` / ``load_entry``); what a
caller may see of a webhook (its token) is decided by ``webhook_json``'s ``reveal``, which the
callers set from ``WEBHOOK_MANAGE``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from core.errors import NotFound
from models_app.models import Model
from models_app.selectors import iso
from webhooks.models import Webhook, WebhookDelivery

RECENT_DELIVERIES = 25


def webhook_list(*, model: Model) -> QuerySet[Webhook]:
    """The entry's webhooks, oldest first, each with its latest delivery's state and time
    (``last_state``, ``last_at``; None when it has none) in the same query."""
    latest = WebhookDelivery.objects.filter(webhook=OuterRef("pk")).order_by("-created_at")
    return Webhook.objects.filter(model=model).annotate(
        last_state=Subquery(latest.values("state")[:1]),
        last_at=Subquery(latest.values("created_at")[:1]),
    )


def webhook_get(*, model: Model, webhook_id: str) -> Webhook:
    """One live webhook of ``model``; 404 when ``model`` has none with that id. A webhook of
    another entry is not found either, whoever asks (Bailo looked it up by id alone)."""
    webhook = Webhook.objects.filter(model=model, pk=webhook_id).first()
    if webhook is None:
        raise NotFound(
            "The requested webhook was not found.", {"modelId": model.pk, "webhookId": webhook_id}
        )
    webhook.model = model
    return webhook


def webhook_json(webhook: Webhook, *, reveal: bool, secret: str | None = None) -> dict[str, Any]:
    """Bailo's shape. ``token`` only with ``reveal`` (those who may manage the webhook) and only
    when one is set, as Bailo leaves it out; ``secret`` only when given (once, on creation)."""
    body: dict[str, Any] = {
        "id": webhook.pk,
        "modelId": webhook.model_id,
        "name": webhook.name,
        "uri": webhook.uri,
        "insecureSSL": webhook.insecure_ssl,
        "events": list(webhook.events),
        "active": webhook.active,
        "createdAt": iso(webhook.created_at),
        "updatedAt": iso(webhook.updated_at),
    }
    if reveal and webhook.token:
        body["token"] = webhook.token
    if secret is not None:
        body["secret"] = secret
    return body


def delivery_list(*, webhook: Webhook, limit: int = RECENT_DELIVERIES) -> list[WebhookDelivery]:
    """The webhook's latest deliveries, newest first."""
    return list(WebhookDelivery.objects.filter(webhook=webhook).order_by("-created_at")[:limit])


def delivery_get(*, webhook: Webhook, delivery_id: str) -> WebhookDelivery:
    """One delivery of ``webhook``; 404 otherwise (an id that is not a UUID included)."""
    try:
        key = uuid.UUID(str(delivery_id))
    except ValueError:
        key = None
    found = WebhookDelivery.objects.filter(webhook=webhook, pk=key).first() if key else None
    if found is None:
        raise NotFound(
            "The requested delivery was not found.",
            {"webhookId": webhook.pk, "deliveryId": delivery_id},
        )
    found.webhook = webhook
    return found


def pretty_body(delivery: WebhookDelivery) -> str:
    """The delivery's body, indented for reading."""
    try:
        return json.dumps(json.loads(delivery.body), indent=2, ensure_ascii=False)
    except ValueError:
        return delivery.body
