"""Celery tasks for files: the sha256 of multipart uploads and the abandoned-upload sweep.

Tasks are thin: they take JSON arguments, call one service and are safe to run twice. Scan tasks
live in ``releases/scan_tasks.py``.
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task

from bailo_site.celery import app
from releases.files import services as file_services

ABANDONED_SWEEP_EVERY = timedelta(hours=1)
SHA256_QUEUE = "scans"


@shared_task(
    name="releases.compute_sha256",
    acks_late=True,
    soft_time_limit=6 * 3600,
    time_limit=6 * 3600 + 60,
    autoretry_for=(Exception,),
    retry_backoff=30,
    retry_backoff_max=1800,
    max_retries=8,
)
def compute_sha256(file_id: str) -> str | None:
    """Read a complete file back from storage and record its sha256 (nothing if already set).

    Enqueued on the ``scans`` queue (``SHA256_QUEUE``): it reads whole files, like the scanners.
    """
    return file_services.file_set_sha256(file_id=file_id)


@shared_task(
    name="releases.abort_abandoned_uploads",
    acks_late=True,
    soft_time_limit=1800,
    time_limit=1860,
    autoretry_for=(Exception,),
    retry_backoff=60,
    max_retries=3,
)
def abort_abandoned_uploads() -> int:
    """Abort multipart uploads idle for longer than ``UPLOAD_ABANDON_AFTER`` (24 hours)."""
    return file_services.abort_abandoned_uploads()


app.conf.beat_schedule.update(
    {
        "releases-abort-abandoned-uploads": {
            "task": "releases.abort_abandoned_uploads",
            "schedule": ABANDONED_SWEEP_EVERY.total_seconds(),
        }
    }
)
