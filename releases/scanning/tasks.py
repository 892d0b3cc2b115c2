"""Celery tasks for file scanning, sent to the ``scans`` queue so long scans never hold up other
work, and the periodic retry of scans that errored or got stuck (``PERIODIC``).

How scanning plugs into uploads and downloads is registered in ``releases/apps.py``.
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import DatabaseError

from core.tasks import periodic
from releases.scanning import services as scan_services

SCANS_QUEUE = "scans"
RETRY_SWEEP_EVERY = timedelta(minutes=5)
SCAN_SOFT_LIMIT = 3 * 3600


@shared_task(
    name="releases.scan_file",
    acks_late=True,
    soft_time_limit=SCAN_SOFT_LIMIT,
    time_limit=SCAN_SOFT_LIMIT + 120,
    # Only our own storage (the database) failing is retried here; a scanner's failure is a
    # recorded result, picked up by retry_failed_scans.
    autoretry_for=(DatabaseError,),
    retry_backoff=30,
    max_retries=5,
)
def scan_file(file_id: str, tools: list[str] | None = None) -> dict[str, str]:
    """Scan one complete file with each configured scanner (or only ``tools``)."""
    try:
        rows = scan_services.file_scan_run(file_id=file_id, tools=tools)
    except SoftTimeLimitExceeded:
        scan_services.scans_fail_in_progress(
            file_id=file_id, reason="The scan took longer than the worker allows"
        )
        return {}
    return {row.tool_name: row.state for row in rows}


def queue_scan(file_id: str, tools: list[str] | None = None) -> None:
    """``SCAN_REQUESTED`` listener: put the scan on the ``scans`` queue."""
    scan_file.apply_async((file_id, tools), queue=SCANS_QUEUE)


@shared_task(
    name="releases.retry_failed_scans",
    acks_late=True,
    soft_time_limit=300,
    time_limit=360,
    autoretry_for=(DatabaseError,),
    retry_backoff=60,
    max_retries=3,
)
def retry_failed_scans() -> dict[str, list[str]]:
    """Queue again scans that errored (a scanner was down) or got stuck (a worker died)."""
    return scan_services.scan_retry_due()


PERIODIC = {
    "releases-retry-failed-scans": periodic(
        "releases.retry_failed_scans",
        every_seconds=RETRY_SWEEP_EVERY.total_seconds(),
        queue=SCANS_QUEUE,
    ),
}
