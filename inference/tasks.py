"""Celery tasks for inference services, on the ``default`` queue: removing a deleted entry's
deployment from the deploy service (``remove_deployment``), and a periodic sweep that queues again
the removals that are due (``PERIODIC``): retries whose task was lost, and those that failed where
tasks run eagerly (the embedded mode retries only here, or from the admin's "Retry removal").
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from core.tasks import periodic
from inference import services

QUEUE = "default"
ATTEMPT_LIMIT = int(3 * float(settings.INFERENCE_TIMEOUT)) + 30


def queue_removals(service_ids: list[int]) -> None:
    for service_id in service_ids:
        remove_deployment.apply_async((service_id,), queue=QUEUE)


@shared_task(
    name="inference.remove_deployment",
    acks_late=True,
    soft_time_limit=ATTEMPT_LIMIT,
    time_limit=ATTEMPT_LIMIT + 30,
    autoretry_for=(DatabaseError,),
    retry_backoff=30,
    max_retries=5,
    ignore_result=True,
)
def remove_deployment(service_id: int) -> str:
    """One attempt; after a failure, the next is queued for when it is due (by the sweep where
    tasks run eagerly, so an unreachable service never loops in the request)."""
    retry_at = services.removal_attempt(service_id)
    if retry_at is None:
        return "done"
    if not remove_deployment.app.conf.task_always_eager:
        wait = max((retry_at - timezone.now()).total_seconds(), 0)
        remove_deployment.apply_async((service_id,), queue=QUEUE, countdown=wait)
    return "retrying"


@shared_task(name="inference.retry_removals", acks_late=True, soft_time_limit=60, time_limit=90)
def retry_removals() -> int:
    """Queue the removals that are due; how many."""
    due = services.removals_due()
    queue_removals(due)
    return len(due)


PERIODIC = {
    "inference-retry-removals": periodic(
        "inference.retry_removals", every_seconds=timedelta(minutes=5).total_seconds(), queue=QUEUE
    ),
}
