"""Celery tasks for files: the sha256 of multipart uploads and the abandoned-upload sweep.

Tasks are thin: they take JSON arguments, call one service and are safe to run twice. Scan tasks
live in ``releases/scanning/tasks.py``.
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task

from core.tasks import periodic
from releases.files import services as file_services
from releases.models import File

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


def queue_sha256(file: File) -> None:
    """``FILE_COMPLETED`` listener: a multipart upload's checksum is computed afterwards."""
    if not file.sha256:
        compute_sha256.apply_async((file.pk,), queue=SHA256_QUEUE)


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


PERIODIC = {
    "releases-abort-abandoned-uploads": periodic(
        "releases.abort_abandoned_uploads", every_seconds=ABANDONED_SWEEP_EVERY.total_seconds()
    ),
}
