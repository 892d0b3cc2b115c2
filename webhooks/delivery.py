"""Delivering: one attempt at a time, signed, timed, recorded, and retried with backoff.

An attempt (``delivery_attempt``) is what the ``webhooks.deliver`` task does:

1. In a short transaction, with the delivery row locked: give up on a delivery that is finished,
   not due yet (a duplicate task), whose webhook was paused or whose entry was deleted (it turns
   ``dropped``); otherwise claim the attempt by counting it and pushing ``next_attempt_at`` past
   the longest an attempt can take (a lease: a sweep does not start a second attempt meanwhile).
2. Outside any transaction (no lock is held while a stranger's server answers): POST the body
   through the port (``core.ports.webhooks``), which enforces the timeout, the TLS choice and the
   address rules.
3. In a second short transaction: append the attempt's record, then succeed (2xx), fail for good
   (the last attempt, or a refused target) or schedule the next attempt ``retry_delay`` later.

Every attempt sends the same body bytes with a fresh signature: ``X-Bailo-Signature-256`` is
``sha256=`` and the hex HMAC-SHA256 of the body keyed with the webhook's secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from core.ports.webhooks import WebhookRequest, WebhookSender, webhook_sender
from webhooks.models import DeliveryState, Webhook, WebhookDelivery

MAX_ATTEMPTS = 6
# The wait after attempt n is RETRY_BASE * 2^(n-1), give or take RETRY_JITTER: about 2, 4, 8, 16
# and 32 minutes, so the sixth and last attempt comes about an hour after the first.
RETRY_BASE = timedelta(minutes=2)
RETRY_JITTER = 0.2
# A pending delivery this far past due has lost its task (a worker died, or the queue could not
# be reached at commit); the periodic sweep queues it again.
REQUEUE_AFTER = timedelta(minutes=2)
USER_AGENT = "Bailo-Webhooks/1"
HEADER_EVENT = "X-Bailo-Event"
HEADER_DELIVERY = "X-Bailo-Delivery"
HEADER_ATTEMPT = "X-Bailo-Delivery-Attempt"
HEADER_SIGNATURE = "X-Bailo-Signature-256"


def encode_body(payload: dict[str, Any]) -> str:
    """The JSON text sent (and signed): keys in the order given, as Bailo sends them."""
    return json.dumps(payload, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))


def signature(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the exact body bytes, keyed with the secret's UTF-8."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def request_headers(
    *, event: str, delivery_id: str, attempt: int, secret: str, token: str, body: bytes
) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        HEADER_EVENT: event,
        HEADER_DELIVERY: delivery_id,
        HEADER_ATTEMPT: str(attempt),
        HEADER_SIGNATURE: signature(secret, body),
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def retry_delay(attempt: int, *, jitter: Callable[[float, float], float] = random.uniform) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based): exponential, jittered
    so that many deliveries failing together do not retry together."""
    base = RETRY_BASE.total_seconds() * 2 ** (attempt - 1)
    return base * jitter(1 - RETRY_JITTER, 1 + RETRY_JITTER)


def _lease() -> timedelta:
    # Connect and read timeouts, reading the excerpt, and a margin.
    return timedelta(seconds=3 * float(settings.WEBHOOK_TIMEOUT) + 60)


def why_not_sent(webhook: Webhook) -> str:
    """Why nothing may be sent to ``webhook`` now ("" if it may)."""
    if webhook.deleted_at is not None or webhook.model.deleted_at is not None:
        return "Not sent: the model was deleted"
    if not webhook.active:
        return "Not sent: the webhook is paused"
    return ""


@dataclass(frozen=True)
class Attempt:
    """What ``delivery_attempt`` did: the delivery as it stands afterwards (None: its webhook is
    gone) and, when it made an attempt that failed and another will come, when that is due."""

    delivery: WebhookDelivery | None
    retry_at: datetime | None = None


@dataclass(frozen=True)
class _Claim:
    request: WebhookRequest
    number: int


def _locked(delivery_id: Any) -> WebhookDelivery | None:
    # Only the delivery row is locked (``of``): an entry deletion locking the entry row must
    # never wait on an attempt, nor an attempt on it.
    return (
        WebhookDelivery.objects.select_for_update(of=("self",))
        .select_related("webhook", "webhook__model")
        .filter(pk=delivery_id)
        .first()
    )


def _claim(delivery_id: Any, now: datetime) -> tuple[WebhookDelivery | None, _Claim | None]:
    with transaction.atomic():
        delivery = _locked(delivery_id)
        if delivery is None or delivery.state != DeliveryState.PENDING:
            return delivery, None
        if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
            return delivery, None
        webhook = delivery.webhook
        reason = why_not_sent(webhook)
        if reason or delivery.attempt_count >= MAX_ATTEMPTS:
            # The last attempt's worker died before recording it: nothing more is tried.
            delivery.state = DeliveryState.DROPPED if reason else DeliveryState.FAILED
            delivery.next_attempt_at = None
            delivery.note = reason or f"Gave up after {delivery.attempt_count} attempts"
            delivery.save(update_fields=["state", "next_attempt_at", "note", "updated_at"])
            return delivery, None
        delivery.attempt_count += 1
        delivery.next_attempt_at = now + _lease()
        delivery.save(update_fields=["attempt_count", "next_attempt_at", "updated_at"])
        body = delivery.body.encode("utf-8")
        headers = request_headers(
            event=delivery.event,
            delivery_id=str(delivery.pk),
            attempt=delivery.attempt_count,
            secret=webhook.secret,
            token=webhook.token,
            body=body,
        )
        request = WebhookRequest(
            url=webhook.uri,
            body=body,
            headers=headers,
            verify_tls=not webhook.insecure_ssl,
            timeout=float(settings.WEBHOOK_TIMEOUT),
        )
        return delivery, _Claim(request, delivery.attempt_count)


def delivery_attempt(
    *, delivery_id: Any, now: datetime | None = None, sender: WebhookSender | None = None
) -> Attempt:
    """Make the next attempt of a delivery if it is due (see the module docstring). Safe to call
    twice: a call that finds nothing due changes nothing and schedules nothing."""
    now = now or timezone.now()
    delivery, claim = _claim(delivery_id, now)
    if claim is None:
        return Attempt(delivery)
    outcome = (sender or webhook_sender()).send(claim.request)
    record = {
        "number": claim.number,
        "at": now.isoformat(),
        "statusCode": outcome.status_code,
        "durationMs": outcome.duration_ms,
        "error": outcome.error,
        "response": outcome.response_excerpt,
    }
    with transaction.atomic():
        delivery = _locked(delivery_id)
        if delivery is None:  # the webhook was deleted during the attempt
            return Attempt(None)
        delivery.attempts = [*delivery.attempts, record]
        if outcome.ok:
            delivery.state = DeliveryState.SUCCEEDED
            delivery.next_attempt_at = None
        elif outcome.refused:
            delivery.state = DeliveryState.FAILED
            delivery.next_attempt_at = None
            delivery.note = "Not retried: the target's address is not allowed"
        elif claim.number >= MAX_ATTEMPTS:
            delivery.state = DeliveryState.FAILED
            delivery.next_attempt_at = None
            delivery.note = f"Gave up after {claim.number} attempts"
        else:
            delivery.next_attempt_at = now + timedelta(seconds=retry_delay(claim.number))
        delivery.save(update_fields=["attempts", "state", "next_attempt_at", "note", "updated_at"])
    retry_at = delivery.next_attempt_at if delivery.state == DeliveryState.PENDING else None
    return Attempt(delivery, retry_at)


def deliveries_overdue(*, now: datetime | None = None, limit: int = 500) -> list[str]:
    """Ids of pending deliveries well past due: their task was lost, so they need queuing."""
    now = now or timezone.now()
    return [
        str(pk)
        for pk in WebhookDelivery.objects.filter(
            state=DeliveryState.PENDING, next_attempt_at__lte=now - REQUEUE_AFTER
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    ]


def deliveries_prune(*, now: datetime | None = None) -> int:
    """Remove finished deliveries older than ``WEBHOOK_DELIVERY_RETENTION``; how many."""
    now = now or timezone.now()
    old = WebhookDelivery.objects.filter(
        created_at__lt=now - settings.WEBHOOK_DELIVERY_RETENTION
    ).exclude(state=DeliveryState.PENDING)
    deleted, _ = old.delete()
    return int(deleted)
