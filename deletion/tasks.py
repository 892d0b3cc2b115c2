"""Purge tasks on the ``purge`` queue, the beat entry that finds due deletions, and the bulk
hiding of what lies beneath a deleted entry (queued by the deletion on commit, same queue).

The tasks are safe to run twice: a purge of a purged (or restored) deletion does nothing, and
each purge step treats "already gone" as done. ``acks_late`` with ``reject_on_worker_lost``
hands a purge whose worker process died back to the broker at once. When the whole worker is
killed, its unacknowledged message returns only after the broker's visibility timeout (an hour
on Redis), so the sweep is what resumes it: every ``PURGE_SWEEP_EVERY`` (1 minute) it queues the
purges whose heartbeat is older than ``PURGE_STALE_AFTER`` (3 minutes).
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task
from django.conf import settings

from core.tasks import periodic
from deletion.beneath import BENEATH, hide_beneath
from deletion.purge import beneath_overdue, deletion_purge, deletions_to_purge

PURGE_QUEUE = "purge"
PURGE_SWEEP_SECONDS = settings.PURGE_SWEEP_EVERY.total_seconds()


class PurgeQueueTask(Task):  # type: ignore[misc]
    """Sent to the ``purge`` queue unless told otherwise, so ``.delay()`` anywhere (the deletion
    services, retries) lands there without the deprecated ``queue`` task attribute."""

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        options.setdefault("queue", PURGE_QUEUE)
        return super().apply_async(args, kwargs, **options)


@shared_task(
    name="deletion.purge_deletion",
    base=PurgeQueueTask,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(Exception,),
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=10,
    soft_time_limit=3000,
    time_limit=3600,
)
def purge_deletion(deletion_id: int) -> str:
    """Purge one deletion (S3 blobs, registry manifests, then rows)."""
    deletion = deletion_purge(deletion_id=deletion_id)
    return deletion.state if deletion is not None else "missing"


@shared_task(
    name="deletion.hide_beneath",
    base=PurgeQueueTask,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(Exception,),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=20,
    time_limit=600,
)
def hide_entry_beneath(deletion_id: int) -> str:
    """Hide the rows beneath a deleted entry (``deletion.beneath``); idempotent. A purge runs
    the same step first, so a message lost for good delays the hiding until the purge at most,
    and the rows are unreachable through their hidden entry meanwhile."""
    deletion = hide_beneath(deletion_id)
    return str((deletion.progress or {}).get(BENEATH, "")) if deletion is not None else "missing"


@shared_task(name="deletion.purge_due", base=PurgeQueueTask, acks_late=True, time_limit=300)
def purge_due() -> int:
    """The beat sweep: queue a purge for every due deletion nobody is working on, and the bulk
    hiding of every model deletion whose hiding is overdue."""
    for deletion_id in beneath_overdue():
        hide_entry_beneath.delay(deletion_id)
    ids = deletions_to_purge()
    for deletion_id in ids:
        purge_deletion.delay(deletion_id)
    return len(ids)


PERIODIC = {
    "deletion-purge-due": periodic(
        "deletion.purge_due", every_seconds=PURGE_SWEEP_SECONDS, queue=PURGE_QUEUE
    ),
}
