"""Celery tasks for file scanning (sent to the ``scans`` queue), and where scanning plugs into
uploads and downloads.

Importing this module registers: the ``scan_file`` and ``retry_failed_scans`` tasks, the periodic
retry in the beat schedule, the scan that follows each completed upload
(``FILE_COMPLETED_HOOKS``) and the virus rule for downloads (``DOWNLOAD_BLOCKERS``).
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import DatabaseError

from bailo_site.celery import app
from releases.files.downloads import DOWNLOAD_BLOCKERS
from releases.files.services import FILE_COMPLETED_HOOKS
from releases.scanning import services as scan_services

# Scans run on their own queue so long ones never hold up other work.
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


app.conf.beat_schedule.update(
    {
        "releases-retry-failed-scans": {
            "task": "releases.retry_failed_scans",
            "schedule": RETRY_SWEEP_EVERY.total_seconds(),
            "options": {"queue": SCANS_QUEUE},
        }
    }
)

if scan_services.scan_on_completion not in FILE_COMPLETED_HOOKS:
    FILE_COMPLETED_HOOKS.append(scan_services.scan_on_completion)
if scan_services.download_blocker not in DOWNLOAD_BLOCKERS:
    DOWNLOAD_BLOCKERS.append(scan_services.download_blocker)
