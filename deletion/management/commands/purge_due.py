"""``manage.py purge_due``: run every due purge now, in this process (no worker needed).

The beat sweep does the same through the ``purge`` queue every ten minutes; this command is for
deployments without a worker and for operators who want to see the result. A purge already
running elsewhere is safe to run again.

Exit codes: 0 every due purge finished (or none was due), 1 at least one failed (it stays
``purging`` and the next run continues it).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from deletion.models import Deletion
from deletion.purge import deletion_purge, due_deletions


class Command(BaseCommand):
    help = "Purge every deletion whose retention window has passed, synchronously."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="List the due deletions; purge nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        due = list(due_deletions().order_by("purge_due", "pk"))
        if not due:
            self.stdout.write("No deletion is due for purging")
            return
        failed = 0
        for deletion in due:
            label = f"#{deletion.pk} {deletion.get_kind_display().lower()} " + (
                deletion.subject_name or deletion.subject
            )
            if options["dry_run"]:
                self.stdout.write(f"Due: {label} (due {deletion.purge_due:%Y-%m-%d %H:%M})")
                continue
            started = time.monotonic()
            try:
                after = deletion_purge(deletion_id=deletion.pk)
            except Exception as exc:
                failed += 1
                self.stderr.write(f"Failed: {label}: {exc.__class__.__name__}: {exc}")
                continue
            if after is None or after.state != Deletion.State.PURGED:
                state = after.get_state_display().lower() if after else "gone"
                self.stdout.write(f"Skipped: {label} ({state})")
                continue
            progress = after.progress or {}
            self.stdout.write(
                f"Purged: {label}: {progress.get('blobsDeleted', 0)} blobs, "
                f"{progress.get('manifestsDeleted', 0)} image manifests, in "
                f"{time.monotonic() - started:.1f} s"
            )
        if failed:
            raise CommandError(f"{failed} of {len(due)} purges failed; run again to continue")
