"""What every deletion shares: its record, its purge date, hiding rows under it, and queuing its
purge once the transaction that made it has committed.

A deletion hides rows at once and removes them later. Every row it hides points at its
``Deletion`` record, so a restore or a purge touches exactly those rows. Rows already hidden by an
earlier deletion keep their own record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from deletion.cascade import hidden_tables
from deletion.models import Deletion
from deletion.tasks import purge_deletion


def purge_due(now: datetime) -> datetime:
    """When a deletion made at ``now`` is purged (``DELETION_RETENTION`` later)."""
    return now + settings.DELETION_RETENTION


def deletion_record_create(
    *,
    kind: str,
    subject: str,
    subject_name: str,
    model_id: str,
    by: Any,
    now: datetime,
    total_bytes: int = 0,
    counts: dict[str, Any] | None = None,
    progress: dict[str, Any] | None = None,
) -> Deletion:
    """The record of one deletion, pending its purge."""
    return Deletion.objects.create(
        kind=kind,
        subject=subject,
        subject_name=subject_name,
        model_id=model_id,
        deleted_by=by,
        deleted_at=now,
        purge_due=purge_due(now),
        total_bytes=total_bytes,
        counts=counts or {},
        progress=progress or {},
    )


def hide(rows: QuerySet[Any], *, deletion: Deletion, by: Any, now: datetime) -> int:
    """One UPDATE: hide the live rows of ``rows`` under ``deletion``; how many."""
    return int(
        rows.filter(deleted_at__isnull=True).update(
            deleted_at=now, deleted_by=by, deletion=deletion
        )
    )


def hide_within(
    kind: str, subject_id: Any, *, deletion: Deletion, by: Any, now: datetime
) -> dict[str, int]:
    """Hide what a file or release deletion takes (the cascade's ``within``), one UPDATE per
    table; the counts by the cascade's keys."""
    counts: dict[str, int] = {}
    for table in hidden_tables():
        if kind not in table.within:
            continue
        hidden = hide(table.rows_within(kind, subject_id), deletion=deletion, by=by, now=now)
        if table.count is not None:
            counts[table.count.key] = hidden
    return counts


def schedule_purge_if_due(deletion: Deletion) -> None:
    """Queue the purge on commit when no retention is left (``DELETION_RETENTION`` of 0)."""
    if deletion.purge_due <= timezone.now():
        # robust: the deletion has committed; a failing purge is retried by the sweep, and must
        # not turn the user's successful delete into an error.
        transaction.on_commit(lambda: purge_deletion.delay(deletion.pk), robust=True)
