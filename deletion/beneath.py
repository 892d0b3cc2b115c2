"""Hiding what lies beneath a deleted entry, in bulk, after the deletion has committed.

A model deletion (``services.model_delete``) hides only the entry's own row in the request, and
queues ``hide_beneath``: every other soft-deletable table of the cascade is then hidden by a
worker, one ``UPDATE`` per table, under the same ``Deletion``, which then gets its counts and
bytes. Until then the rows beneath are still "live" in their own tables, but unreachable: every
read of them goes through their entry (the permission policy's ``visible_to`` and
``get_model_for``, or an explicit ``model__deleted_at__isnull=True``), and the entry is hidden
from the commit on. ``tests/deletion/test_model_gone.py`` walks every page and endpoint with the
bulk step held back.

``Deletion.progress["beneath"]`` says where the step is: ``"queued"`` from the request's commit,
``"done"`` once the rows are hidden (a record without the key was made before this step existed:
its rows were hidden in the request). The step is idempotent: it locks the deletion, and does
nothing unless the deletion is active (pending or purging) and the step is still queued. A
restore before it runs (the deletion is restored: nothing to hide) and a purge (which runs this
step first, so its outside work and counts are never skipped) take the same lock.
"""

from __future__ import annotations

import time
from typing import Any

from django.db import transaction

from deletion.cascade import CASCADE, ENTRY, Treatment, entry_rows
from deletion.models import Deletion

# ``Deletion.progress`` key and values.
BENEATH = "beneath"
QUEUED = "queued"
DONE = "done"

ACTIVE = (Deletion.State.PENDING, Deletion.State.PURGING)


def is_queued(deletion: Deletion) -> bool:
    """True while the rows beneath a model deletion's entry have not been hidden yet."""
    return (deletion.progress or {}).get(BENEATH) == QUEUED


def hide_beneath(deletion_id: int) -> Deletion | None:
    """Hide every live row beneath the entry of model deletion ``deletion_id`` (one UPDATE per
    table, by the keys ``entry_rows`` reads first), tell the tables' outside services, and write
    the counts and bytes on the deletion. Safe to run twice, or after a restore or a purge (it
    then does nothing). Returns the deletion as it is afterwards (None if it does not exist)."""
    with transaction.atomic():
        deletion = Deletion.objects.select_for_update().filter(pk=deletion_id).first()
        if deletion is None or deletion.state not in ACTIVE or not is_queued(deletion):
            return deletion
        started = time.monotonic()
        rows = entry_rows(deletion.model_id)
        by, now = deletion.deleted_by, deletion.deleted_at
        counts: dict[str, Any] = dict(deletion.counts or {})
        # In the cascade's order (children before the rows they point at); the entry itself was
        # hidden by the request.
        for table in CASCADE:
            if table.treatment is not Treatment.HIDE or table is ENTRY:
                continue
            condition = rows.condition(table)
            done = 0
            if condition is not None:
                done = int(
                    table.all_rows()
                    .filter(condition, deleted_at__isnull=True)
                    .update(deleted_at=now, deleted_by=by, deletion=deletion)
                )
            if table.outside is not None:
                table.outside.hidden(deletion)
            if table.count is not None:
                counts[table.count.key] = done
        deletion.counts = counts
        deletion.total_bytes = rows.live_bytes
        deletion.progress = {
            **(deletion.progress or {}),
            BENEATH: DONE,
            "beneathSeconds": round(time.monotonic() - started, 3),
        }
        deletion.save(update_fields=["counts", "total_bytes", "progress"])
    return deletion
