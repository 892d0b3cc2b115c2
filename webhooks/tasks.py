"""Celery tasks for webhooks, all on the ``webhooks`` queue so a slow receiver never holds up other
work: one attempt at a delivery (``deliver``), and two periodic sweeps (``PERIODIC``): queueing
again deliveries whose task was lost, and removing old delivery records.

A delivery is queued only after the transaction that recorded it has committed
(``queue_delivery``), so no request ever waits on a receiver and a rolled-back write sends
nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from core.tasks import periodic
from webhooks import delivery

QUEUE = "webhooks"
# An attempt waits at most the timeout to connect and again between bytes of the answer.
ATTEMPT_SOFT_LIMIT = int(3 * float(settings.WEBHOOK_TIMEOUT)) + 30


def _send(delivery_id: str, countdown: float = 0) -> None:
    deliver.apply_async((delivery_id,), queue=QUEUE, countdown=countdown)


def queue_delivery(delivery_id: Any) -> None:
    """Queue the first attempt once the current transaction commits. ``robust``: if the broker
    cannot be reached then, the delivery stays pending and the sweep queues it later; the write
    that caused it has committed and must not turn into an error."""
    transaction.on_commit(lambda: _send(str(delivery_id)), robust=True)


@shared_task(
    name="webhooks.deliver",
    acks_late=True,
    soft_time_limit=ATTEMPT_SOFT_LIMIT,
    time_limit=ATTEMPT_SOFT_LIMIT + 30,
    # Only our own database failing is retried by Celery; a receiver's failure is recorded and
    # retried on the delivery's own schedule (delivery.retry_delay).
    autoretry_for=(DatabaseError,),
    retry_backoff=30,
    max_retries=5,
    ignore_result=True,
)
def deliver(delivery_id: str) -> str:
    """Attempt one delivery if it is due; if it failed and may be tried again, queue the next
    attempt for when it is due."""
    attempt = delivery.delivery_attempt(delivery_id=delivery_id)
    if attempt.retry_at is not None:
        wait = (attempt.retry_at - timezone.now()).total_seconds()
        _send(delivery_id, countdown=max(wait, 0))
    return attempt.delivery.state if attempt.delivery is not None else "gone"


@shared_task(name="webhooks.requeue_overdue", acks_late=True, soft_time_limit=60, time_limit=90)
def requeue_overdue() -> int:
    """Queue again the pending deliveries whose task was lost; how many."""
    overdue = delivery.deliveries_overdue()
    for delivery_id in overdue:
        _send(delivery_id)
    return len(overdue)


@shared_task(name="webhooks.prune_deliveries", acks_late=True, soft_time_limit=300, time_limit=360)
def prune_deliveries() -> int:
    """Remove finished delivery records past their retention; how many."""
    return delivery.deliveries_prune()


PERIODIC = {
    "webhooks-requeue-overdue": periodic(
        "webhooks.requeue_overdue", every_seconds=timedelta(minutes=1).total_seconds(), queue=QUEUE
    ),
    "webhooks-prune-deliveries": periodic(
        "webhooks.prune_deliveries", every_seconds=timedelta(hours=6).total_seconds(), queue=QUEUE
    ),
}
