"""``manage.py storage_audit``: compare the uploads bucket with the rows that name its blobs.

The rows are those of the cascade's tables that hold blobs (``deletion.cascade``: File rows, by
their storage key). Two kinds of problem:
- orphans: blobs under the prefix (``beta/model/`` by default) that no row names, deleted or
  not (a purge that lost track of a blob, an upload that died between storing and recording);
- missing blobs: complete rows (File's ``complete``), soft-deleted ones included (until they are
  purged they can still be restored and downloaded), whose blob is not in the bucket;
- abandoned uploads: multipart uploads open in storage under the prefix for longer than
  ``UPLOAD_ABANDON_AFTER`` that no active upload row uses. Their parts take space but are no
  blob a listing shows; the hourly sweep aborts them (``releases.abort_abandoned_uploads``).

Exit codes: 0 nothing found, 1 orphans or missing blobs found, 2 the audit could not run.

The File keys under the prefix are held in memory (one string per file); the bucket listing is
streamed page by page. A blob stored or removed while the listing runs could look like a problem,
so every suspect is checked once more, against the database and the bucket, before it is
reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.ports.storage import BlobStore, blob_store
from deletion.cascade import MODEL_BLOB_PREFIX, Blobs, Table, blob_tables
from releases.files.services import abandoned_storage_uploads

FOUND = 1
FAILED = 2
RECHECK_BATCH = 500


def _batches(items: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class Command(BaseCommand):
    help = (
        "List blobs in the uploads bucket that no file row references (orphans), complete "
        "file rows whose blob is missing, and multipart uploads left open. Exits 1 when it "
        "finds any, 2 when it cannot run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--prefix",
            default=MODEL_BLOB_PREFIX,
            help=f"Only audit keys under this prefix (default: {MODEL_BLOB_PREFIX})",
        )
        parser.add_argument(
            "--quiet", action="store_true", help="Print only the counts, not every key"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        prefix: str = options["prefix"]
        quiet: bool = options["quiet"]
        store = blob_store()
        try:
            orphans, missing = self.audit(store, prefix)
            abandoned = [
                f"{u.key} (upload {u.upload_id}, started {u.started:%Y-%m-%d %H:%M} UTC)"
                for u in abandoned_storage_uploads(prefix=prefix)
            ]
        except Exception as exc:  # storage unreachable, bad credentials, no bucket...
            raise CommandError(
                f"The audit could not run: {exc.__class__.__name__}: {exc}", returncode=FAILED
            ) from exc

        self.stdout.write(f"Bucket {store.bucket}, prefix {prefix!r}")
        self.stdout.write(f"Orphaned blobs (no file row references them): {len(orphans)}")
        if not quiet:
            for key in orphans:
                self.stdout.write(f"  {key}")
        self.stdout.write(f"Missing blobs (complete file rows without bytes): {len(missing)}")
        if not quiet:
            for line in missing:
                self.stdout.write(f"  {line}")
        self.stdout.write(
            f"Abandoned multipart uploads (open longer than UPLOAD_ABANDON_AFTER): {len(abandoned)}"
        )
        if not quiet:
            for line in abandoned:
                self.stdout.write(f"  {line}")
        if orphans or missing or abandoned:
            raise CommandError(
                f"Storage audit found {len(orphans)} orphaned and {len(missing)} missing blobs "
                f"and {len(abandoned)} abandoned uploads",
                returncode=FOUND,
            )
        self.stdout.write(self.style.SUCCESS("Storage audit: no problems found"))

    def audit(self, store: BlobStore, prefix: str) -> tuple[list[str], list[str]]:
        # Rows first, listing second: a blob stored after the rows were read shows up as a
        # suspect orphan, and the recheck finds its row.
        stored_by_key: dict[str, bool] = {}
        for table, blobs in blob_tables():
            stored_by_key.update(
                table.all_rows()
                .filter(**{f"{blobs.key_field}__startswith": prefix})
                .values_list(blobs.key_field, blobs.stored_field)
                .iterator(chunk_size=5000)
            )
        suspects: list[str] = []
        for key in store.list_keys(prefix):
            if stored_by_key.pop(key, None) is None:
                suspects.append(key)
        unseen = [key for key, stored in stored_by_key.items() if stored]
        return self._confirm_orphans(store, suspects), self._confirm_missing(store, unseen)

    @staticmethod
    def _confirm_orphans(store: BlobStore, suspects: list[str]) -> list[str]:
        orphans: list[str] = []
        for batch in _batches(suspects, RECHECK_BATCH):
            recorded: set[str] = set()
            for table, blobs in blob_tables():
                recorded.update(
                    table.all_rows()
                    .filter(**{f"{blobs.key_field}__in": batch})
                    .values_list(blobs.key_field, flat=True)
                )
            orphans.extend(k for k in batch if k not in recorded and store.exists(k))
        return sorted(orphans)

    @staticmethod
    def _confirm_missing(store: BlobStore, unseen: list[str]) -> list[str]:
        missing: list[str] = []
        for batch in _batches(unseen, RECHECK_BATCH):
            for table, blobs in blob_tables():
                for key, pk, model_id, deleted_at, entry_deleted_at in _stored_rows(
                    table, blobs, batch
                ):
                    if not store.exists(key):
                        # A row beneath a deleted entry is deleted with it, hidden yet or not.
                        gone = deleted_at or entry_deleted_at
                        state = "soft-deleted" if gone else "live"
                        noun = table.model._meta.verbose_name
                        missing.append(f"{key} ({noun} {pk} of {model_id}, {state})")
        return sorted(missing)


def _stored_rows(table: Table, blobs: Blobs, keys: list[str]) -> Iterable[tuple[Any, ...]]:
    """(key, pk, entry id, deleted_at, the entry's deleted_at) of the rows among ``keys`` whose
    blob must exist."""
    entry = table.lookups[0].removesuffix("_id")
    return (
        table.all_rows()
        .filter(**{f"{blobs.key_field}__in": keys, blobs.stored_field: True})
        .values_list(blobs.key_field, "pk", table.lookups[0], "deleted_at", f"{entry}__deleted_at")
    )
