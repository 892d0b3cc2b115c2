"""Writes for webhooks: create, change, delete, a new secret, a test event, a redelivery, and
turning an event into deliveries (``event_dispatch``).

Every service asks the policy for ``WEBHOOK_MANAGE`` (the entry's owners, with a token carrying
``model:write``) on the webhook's own entry, validates everything before writing and writes in one
transaction, so a refused or invalid request stores nothing. Deliveries are queued only once the
transaction commits (``tasks.queue_delivery``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from core.audit import AuditAction, audit_record
from core.errors import BadRequest, Conflict, invalid
from core.ports.webhooks import TargetRefused, check_target
from models_app.ids import new_entry_id
from models_app.models import Model
from models_app.policy import Action, Actor, check
from webhooks.delivery import encode_body
from webhooks.models import TEST_EVENT, DeliveryState, Webhook, WebhookDelivery, WebhookEvent
from webhooks.tasks import queue_delivery

MAX_NAME = 200
MAX_URI = 2048
MAX_TOKEN = 1000
MAX_WEBHOOKS_PER_MODEL = 50
# The body fields of Bailo's POST and PUT.
FIELDS = ("name", "uri", "token", "insecureSSL", "events", "active")
_ID_ATTEMPTS = 5


# --- input ----------------------------------------------------------------------------------------


def _clean_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid("name", "is required: give the webhook a name")
    if len(value.strip()) > MAX_NAME:
        raise invalid("name", f"must be at most {MAX_NAME} characters")
    return value.strip()


def _clean_uri(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid("uri", "is required: the URL Bailo should POST to")
    uri = value.strip()
    if len(uri) > MAX_URI:
        raise invalid("uri", f"must be at most {MAX_URI} characters")
    if any(ch.isspace() or ord(ch) < 32 for ch in uri):
        raise invalid("uri", "must not contain spaces or control characters")
    try:
        check_target(uri)
    except TargetRefused as exc:
        raise invalid("uri", str(exc)) from exc
    return uri


def _clean_token(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid("token", "must be text")
    if len(value) > MAX_TOKEN:
        raise invalid("token", f"must be at most {MAX_TOKEN} characters")
    # It goes into a header: printable ASCII only, so it cannot add or break headers.
    if any(not 0x21 <= ord(ch) <= 0x7E for ch in value):
        raise invalid("token", "must be printable ASCII characters without spaces")
    return value


def _clean_flag(value: Any, prop: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise invalid(prop, "must be true or false")


def _clean_events(value: Any) -> list[str]:
    """The events to subscribe to, in the order given; none given (or an empty list) means every
    event, as Bailo's documentation says."""
    if value is None or value == []:
        return list(WebhookEvent.values)
    if not isinstance(value, list) or not all(isinstance(e, str) for e in value):
        raise invalid("events", "must be a list of event names")
    unknown = [e for e in value if e not in WebhookEvent.values]
    if unknown:
        raise invalid(
            "events",
            f"unknown event {unknown[0]!r}; the events are {', '.join(WebhookEvent.values)}",
        )
    return list(dict.fromkeys(value))


def _cleaned(changes: dict[str, Any]) -> dict[str, Any]:
    """The model fields for the API fields present in ``changes``, each checked."""
    cleaners: dict[str, tuple[str, Callable[[Any], Any]]] = {
        "name": ("name", _clean_name),
        "uri": ("uri", _clean_uri),
        "token": ("token", _clean_token),
        "insecureSSL": ("insecure_ssl", lambda v: _clean_flag(v, "insecureSSL")),
        "events": ("events", _clean_events),
        "active": ("active", lambda v: _clean_flag(v, "active")),
    }
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise BadRequest(f"Unknown field(s): {', '.join(unknown)}")
    cleaned: dict[str, Any] = {}
    for prop in FIELDS:  # a fixed order, so the first problem reported does not vary
        if prop in changes:
            field, clean = cleaners[prop]
            cleaned[field] = clean(changes[prop])
    return cleaned


def _new_id(name: str) -> str:
    for _ in range(_ID_ATTEMPTS):
        candidate = new_entry_id(name)
        if not Webhook.all_objects.filter(pk=candidate).exists():
            return candidate
    raise Conflict("Could not find a free id for this webhook; try again")


def _new_secret() -> str:
    return "BWS_" + secrets.token_hex(24)


def _where(uri: str) -> str:
    """The URI without its query, for the audit log (a query may hold a credential)."""
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _audit(actor: Actor, action: AuditAction, webhook: Webhook, **detail: Any) -> None:
    audit_record(
        action=action,
        actor=actor.user,
        subject=f"{webhook.model_id}/{webhook.pk}",
        detail={"modelId": webhook.model_id, "webhookId": webhook.pk, **detail},
    )


# --- create, change, delete -----------------------------------------------------------------------


def webhook_create(*, actor: Actor, model: Model, fields: dict[str, Any]) -> Webhook:
    """A new webhook on ``model`` from Bailo's body fields (``name`` and ``uri`` required). Its
    secret is on the returned webhook: show it to the caller once."""
    check(actor, Action.WEBHOOK_MANAGE, model)
    if "name" not in fields:
        raise invalid("name", "is required: give the webhook a name")
    if "uri" not in fields:
        raise invalid("uri", "is required: the URL Bailo should POST to")
    cleaned = {"events": list(WebhookEvent.values), **_cleaned(fields)}
    with transaction.atomic():
        # Locking the entry serialises creations on it, so the limit holds under concurrency.
        Model.objects.select_for_update().filter(pk=model.pk).first()
        if Webhook.objects.filter(model=model).count() >= MAX_WEBHOOKS_PER_MODEL:
            raise Conflict(
                f"A model can have at most {MAX_WEBHOOKS_PER_MODEL} webhooks; delete one first",
                {"modelId": model.pk},
            )
        webhook = Webhook.objects.create(
            id=_new_id(cleaned["name"]),
            model=model,
            secret=_new_secret(),
            created_by=actor.user if actor.user.is_authenticated else None,
            **cleaned,
        )
        _audit(
            actor,
            AuditAction.WEBHOOK_CREATE,
            webhook,
            name=webhook.name,
            uri=_where(webhook.uri),
            events=webhook.events,
            active=webhook.active,
        )
    return webhook


def webhook_update(*, actor: Actor, webhook: Webhook, changes: dict[str, Any]) -> Webhook:
    """Change the fields present in ``changes`` (Bailo's names); the others keep their values
    (unlike Bailo, an omitted ``insecureSSL`` is not reset). ``token: ""`` removes the token."""
    check(actor, Action.WEBHOOK_MANAGE, webhook.model)
    cleaned = _cleaned(changes)
    with transaction.atomic():
        locked = Webhook.objects.select_for_update().filter(pk=webhook.pk).first()
        if locked is None:
            raise Conflict("This webhook was deleted meanwhile", {"webhookId": webhook.pk})
        for field, value in cleaned.items():
            setattr(locked, field, value)
        locked.save()
        detail = {k: v for k, v in cleaned.items() if k != "token"}
        if "uri" in detail:
            detail["uri"] = _where(detail["uri"])
        if "token" in cleaned:
            detail["tokenChanged"] = True
        _audit(actor, AuditAction.WEBHOOK_UPDATE, locked, **detail)
    locked.model = webhook.model
    return locked


def webhook_delete(*, actor: Actor, webhook: Webhook) -> None:
    """Remove the webhook and its delivery records at once (not restorable: it holds nothing
    but its settings). Attempts already queued find it gone and stop."""
    check(actor, Action.WEBHOOK_MANAGE, webhook.model)
    with transaction.atomic():
        Webhook.all_objects.filter(pk=webhook.pk).delete()
        _audit(actor, AuditAction.WEBHOOK_DELETE, webhook, name=webhook.name)


def webhook_secret_reset(*, actor: Actor, webhook: Webhook) -> Webhook:
    """Give the webhook a new secret (the old one stops working at once); the returned webhook
    holds it: show it to the caller once."""
    check(actor, Action.WEBHOOK_MANAGE, webhook.model)
    with transaction.atomic():
        webhook.secret = _new_secret()
        webhook.save(update_fields=["secret", "updated_at"])
        _audit(actor, AuditAction.WEBHOOK_SECRET_RESET, webhook)
    return webhook


# --- deliveries -----------------------------------------------------------------------------------


def _check_sendable(webhook: Webhook) -> None:
    if not webhook.active:
        raise Conflict(
            "This webhook is paused: resume it to send anything", {"webhookId": webhook.pk}
        )


def _delivery_create(
    webhook: Webhook, *, event: str, body: str, redelivery_of: Any = None
) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.create(
        webhook=webhook,
        event=event,
        body=body,
        next_attempt_at=timezone.now(),
        redelivery_of=redelivery_of,
    )
    queue_delivery(delivery.pk)
    return delivery


def webhook_send_test(*, actor: Actor, webhook: Webhook) -> WebhookDelivery:
    """Send a ``test`` event to an active webhook, to check the receiver and its signature."""
    check(actor, Action.WEBHOOK_MANAGE, webhook.model)
    _check_sendable(webhook)
    body = encode_body(
        {
            "event": TEST_EVENT,
            "description": f"A test event for webhook {webhook.name} of model {webhook.model_id}",
            "webhook": {"id": webhook.pk, "name": webhook.name, "modelId": webhook.model_id},
        }
    )
    with transaction.atomic():
        delivery = _delivery_create(webhook, event=TEST_EVENT, body=body)
        _audit(actor, AuditAction.WEBHOOK_TEST, webhook, deliveryId=str(delivery.pk))
    return delivery


def delivery_redeliver(*, actor: Actor, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a finished delivery's body again, as a new delivery with its own id and attempts."""
    webhook = delivery.webhook
    check(actor, Action.WEBHOOK_MANAGE, webhook.model)
    _check_sendable(webhook)
    if delivery.state == DeliveryState.PENDING:
        raise Conflict(
            "This delivery is still being attempted; redeliver it once it has finished",
            {"deliveryId": str(delivery.pk)},
        )
    with transaction.atomic():
        again = _delivery_create(
            webhook, event=delivery.event, body=delivery.body, redelivery_of=delivery.pk
        )
        _audit(
            actor,
            AuditAction.WEBHOOK_REDELIVER,
            webhook,
            deliveryId=str(again.pk),
            redeliveryOf=str(delivery.pk),
        )
    return again


def event_dispatch(
    *, model_id: str, event: WebhookEvent, description: str, content: Callable[[], dict[str, Any]]
) -> list[WebhookDelivery]:
    """One delivery per active webhook of the live entry ``model_id`` that listens to ``event``,
    with Bailo's body ``{event, description, **content()}`` (``content`` is only called when some
    webhook listens); each queued once this commits."""
    webhooks = [
        webhook
        for webhook in Webhook.objects.filter(
            model_id=model_id, active=True, model__deleted_at__isnull=True
        )
        if webhook.listens_to(event)
    ]
    if not webhooks:
        return []
    body = encode_body({"event": str(event), "description": description, **content()})
    with transaction.atomic():
        return [_delivery_create(webhook, event=str(event), body=body) for webhook in webhooks]
