"""Purging a deletion once its retention window has passed: blobs, then manifests, then rows.

The order matters: rows go last, in one transaction that also marks the deletion purged, so a
purge that stops half way (a killed worker, S3 or the registry down) still knows every blob and
manifest it has left to remove, and the next run finishes the job. Each step is idempotent: a
blob or manifest that is already gone counts as removed. Progress is written to
``Deletion.progress`` after every batch, with a heartbeat that tells the sweep a worker is on it.

What each step removes comes from the cascade declaration (``deletion.cascade``): the blobs its
tables' rows name, the entry's image manifests, and the rows of its tables in its order.

``progress`` keys written here: ``purgeStep`` (blobs | manifests | rows | done), ``purgeAttempts``,
``heartbeat`` (ISO time), ``blobsTotal``, ``blobsDeleted``, ``uploadsAborted``,
``manifestsTotal``, ``manifestsDeleted``, ``manifestsKept``, and ``seconds`` per step once done.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.audit import AuditAction, audit_record
from core.ports import registry
from core.ports.storage import blob_store
from deletion.beneath import BENEATH, QUEUED, hide_beneath
from deletion.cascade import (
    CASCADE,
    ENTRY,
    Blobs,
    blob_tables,
    hidden_tables,
    model_blob_prefix,
)
from deletion.models import Deletion

log = logging.getLogger(__name__)

BLOB_BATCH = 1000
# A purge that has not reported progress for this long is taken to be dead and is picked up again
# by the sweep (a live one writes a heartbeat after every batch of blobs, every aborted upload and
# every manifest, each a call of a few seconds at most). The default; PURGE_STALE_AFTER sets it.
# Kept short so a purge whose worker was killed resumes within minutes: mistaking a slow live
# purge for a dead one costs only a second, concurrent run, which the purge is safe against.
STALE_AFTER = timedelta(minutes=3)


def stale_after() -> timedelta:
    value = getattr(settings, "PURGE_STALE_AFTER", STALE_AFTER)
    return value if isinstance(value, timedelta) else timedelta(seconds=float(value))


ACTIVE = (Deletion.State.PENDING, Deletion.State.PURGING)


# --- what is due --------------------------------------------------------------------------------


def due_deletions() -> QuerySet[Deletion]:
    """Deletions whose window has passed and which are not finished (``purging`` ones were
    interrupted, or are running right now)."""
    return Deletion.objects.filter(state__in=ACTIVE, purge_due__lte=timezone.now())


def _heartbeat(deletion: Deletion) -> datetime | None:
    value = (deletion.progress or {}).get("heartbeat")
    return parse_datetime(value) if isinstance(value, str) else None


def beneath_overdue(*, now: datetime | None = None) -> list[int]:
    """Ids of the model deletions whose bulk hiding (``deletion.beneath``) was queued longer
    than ``PURGE_STALE_AFTER`` ago and has not run: its message was lost, or every retry
    failed. The sweep queues them again."""
    now = now or timezone.now()
    return list(
        Deletion.objects.filter(
            kind=Deletion.Kind.MODEL,
            state__in=ACTIVE,
            deleted_at__lt=now - stale_after(),
            **{f"progress__{BENEATH}": QUEUED},
        )
        .order_by("deleted_at", "pk")
        .values_list("pk", flat=True)
    )


def deletions_to_purge(*, now: datetime | None = None) -> list[int]:
    """Ids of the due deletions nobody is working on: pending ones, and purging ones whose last
    heartbeat is older than ``PURGE_STALE_AFTER`` (their worker died)."""
    now = now or timezone.now()
    ids = []
    for deletion in due_deletions().only("pk", "state", "progress").order_by("purge_due", "pk"):
        beat = _heartbeat(deletion)
        if deletion.state == Deletion.State.PURGING and beat and now - beat < stale_after():
            continue
        ids.append(deletion.pk)
    return ids


# --- progress -------------------------------------------------------------------------------------


def _save_progress(deletion: Deletion, **changes: Any) -> None:
    deletion.progress = {
        **(deletion.progress or {}),
        **changes,
        "heartbeat": timezone.now().isoformat(),
    }
    Deletion.objects.filter(pk=deletion.pk).update(progress=deletion.progress)


# --- blobs ----------------------------------------------------------------------------------------


def _blob_rows(deletion: Deletion) -> Iterator[tuple[QuerySet[Any], Blobs]]:
    """The rows whose blobs this purge removes, table by table (the cascade's ``blobs``)."""
    for table, blobs in blob_tables():
        if deletion.kind == Deletion.Kind.MODEL:
            # Every row of the entry, whichever deletion hid it: the entry's rows all go, so
            # their blobs must too, or they would be orphaned.
            yield table.rows_of_entry(deletion.model_id), blobs
        else:
            yield table.rows_of_deletion(deletion), blobs


def _blob_keys(deletion: Deletion) -> Iterator[str]:
    """Every key to remove, each once: those the rows name, then (for an entry) anything else
    stored under the entry's prefix, e.g. the bytes of an upload that never got its row."""
    known: set[str] = set()
    for rows, blobs in _blob_rows(deletion):
        for key in rows.values_list(blobs.key_field, flat=True).iterator(chunk_size=2000):
            if key not in known:
                known.add(key)
                yield key
    if deletion.kind == Deletion.Kind.MODEL and deletion.model_id:
        for key in blob_store().list_keys(model_blob_prefix(deletion.model_id)):
            if key not in known:
                yield key


def _abort_open_uploads(deletion: Deletion) -> int:
    """Abort multipart uploads still open on these rows: their parts are stored, but are not
    objects yet, so only an abort frees them."""
    store = blob_store()
    aborted = 0
    for rows, blobs in _blob_rows(deletion):
        open_uploads = rows.exclude(**{blobs.upload_field: ""}).values_list(
            blobs.key_field, blobs.upload_field
        )
        for key, upload_id in open_uploads:
            store.multipart_abort(key, upload_id)
            aborted += 1
            _save_progress(deletion, uploadsAborted=aborted)
    return aborted


def _purge_blobs(deletion: Deletion) -> int:
    store = blob_store()
    aborted = _abort_open_uploads(deletion)
    deleted = 0
    batch: list[str] = []
    for key in _blob_keys(deletion):
        batch.append(key)
        if len(batch) == BLOB_BATCH:
            store.delete_many(batch)
            deleted += len(batch)
            batch = []
            _save_progress(deletion, blobsDeleted=deleted)
    if batch:
        store.delete_many(batch)
        deleted += len(batch)
    _save_progress(deletion, blobsDeleted=deleted, blobsTotal=deleted, uploadsAborted=aborted)
    return deleted


# --- registry manifests ---------------------------------------------------------------------------


def _image_of(deletion: Deletion) -> dict[str, Any]:
    """The tag an image deletion removed: ``{held, tag, digest, moved}``.

    ``held`` is the repository the deleted tag now lives in: ``heldIn`` (deletion moves the tag to
    ``soft_deleted/<modelId>/<name>``, see ``deletion.artefacts``), or ``repository`` for a record
    without one. ``digest`` may be empty when the move was cut short.
    """
    image = (deletion.progress or {}).get("image") or {}
    return {
        "held": str(image.get("heldIn") or image.get("repository") or ""),
        "moved_away": bool(image.get("heldIn")),
        "tag": str(image.get("tag") or ""),
        "digest": str(image.get("digest") or ""),
    }


def _tags_with_digest(repository: str) -> list[tuple[str, str]]:
    """(tag, digest) of every tag of ``repository`` that still resolves to a manifest (some
    storage drivers, the stack's SeaweedFS among them, keep listing tags of deleted manifests)."""
    found = []
    for tag in registry.repository_tags(repository):
        digest = registry.manifest_digest(repository, tag)
        if digest:
            found.append((tag, digest))
    return found


def _pending_tags_held_in(deletion: Deletion, held: str) -> set[str]:
    """Tags of ``held`` that other image deletions still hold for a possible restore."""
    others = Deletion.objects.filter(
        kind=Deletion.Kind.IMAGE, model_id=deletion.model_id, state=Deletion.State.PENDING
    ).exclude(pk=deletion.pk)
    tags = set()
    for other in others:
        image = _image_of(other)
        if image["held"] == held and image["tag"]:
            tags.add(image["tag"])
    return tags


def _model_image_targets(deletion: Deletion) -> list[tuple[str, str]]:
    """Every manifest of a deleted entry: its images, and the deleted tags held for it."""
    model_id = deletion.model_id
    # The tags recorded at deletion time, and whatever the registry holds now (nobody can push
    # to a deleted entry, but the registry may have been unreadable when it was deleted).
    targets = [
        (image["repository"], image["digest"])
        for image in (deletion.progress or {}).get("images") or []
        if image.get("repository") and image.get("digest")
    ]
    for prefix in (model_id, f"{registry.SOFT_DELETED_PREFIX}/{model_id}"):
        for image in registry.list_images(prefix):
            repository = f"{prefix}/{image['name']}"
            targets.extend(
                (repository, tag["digest"]) for tag in image.get("tags", []) if tag.get("digest")
            )
    return targets


def _manifest_targets(deletion: Deletion) -> tuple[list[tuple[str, str]], int]:
    """(repository, digest) pairs to delete, and how many were kept because another tag still
    needs the same manifest."""
    targets: list[tuple[str, str]] = []
    kept = 0
    if deletion.kind == Deletion.Kind.MODEL and ENTRY.manifests is not None:
        targets = _model_image_targets(deletion)
    elif deletion.kind == Deletion.Kind.IMAGE:
        image = _image_of(deletion)
        held, tag = image["held"], image["tag"]
        digest = image["digest"] or (registry.manifest_digest(held, tag) if held and tag else "")
        if held and digest:
            # Deleting a manifest removes every tag on it. Keep it while another tag needs it:
            # one held for a deletion that can still be restored, or (for a tag deleted in
            # place) a live tag.
            pending = _pending_tags_held_in(deletion, held)
            needed = [
                other
                for other, other_digest in _tags_with_digest(held)
                if other != tag
                and other_digest == digest
                and (other in pending or not image["moved_away"])
            ]
            if needed:
                kept = 1
            else:
                targets.append((held, digest))
    return list(dict.fromkeys(targets)), kept


def _purge_manifests(deletion: Deletion) -> int:
    if deletion.kind not in (Deletion.Kind.MODEL, Deletion.Kind.IMAGE):
        return 0
    if not registry.is_configured():
        if (deletion.progress or {}).get("images") or _image_of(deletion)["held"]:
            log.warning(
                "Deletion %s names images but no registry is configured; none were removed",
                deletion.pk,
            )
        return 0
    targets, kept = _manifest_targets(deletion)
    deleted = 0
    for repository, digest in targets:
        registry.delete_manifest(repository, digest)
        deleted += 1
        _save_progress(deletion, manifestsDeleted=deleted)
    _save_progress(
        deletion, manifestsDeleted=deleted, manifestsTotal=len(targets), manifestsKept=kept
    )
    return deleted


# --- rows -----------------------------------------------------------------------------------------


def _delete_rows(deletion: Deletion) -> None:
    """The rows, in the cascade's order: a table's rows go before the rows they point at."""
    if deletion.kind == Deletion.Kind.MODEL:
        # Every row of the entry, one DELETE per table, whichever deletion hid it (the entry
        # points at its current card revision; Django clears that link as the revisions go).
        for table in CASCADE:
            if table.outside is not None:
                table.outside.purged(deletion)
            table.rows_of_entry(deletion.model_id).delete()
        # Rows hidden by earlier, still pending deletions of the entry's files, releases or
        # images went with it: those deletions are finished too.
        Deletion.objects.filter(model_id=deletion.model_id, state__in=ACTIVE).exclude(
            pk=deletion.pk
        ).update(state=Deletion.State.PURGED, purged_at=timezone.now())
        return
    # The rows this deletion hid; those without soft-delete fields go with them. A release's
    # semver stays reserved until its row is purged.
    for table in hidden_tables():
        table.rows_of_deletion(deletion).delete()


# --- the purge ------------------------------------------------------------------------------------


def _begin(deletion_id: int) -> Deletion | None:
    """Lock the deletion and mark it purging, if it is due. None when there is nothing to do."""
    with transaction.atomic():
        deletion = Deletion.objects.select_for_update().filter(pk=deletion_id).first()
        if deletion is None or deletion.state not in ACTIVE:
            return None
        if deletion.state == Deletion.State.PENDING and deletion.purge_due > timezone.now():
            return None
        # Marked before any blob goes: from here on the deletion can no longer be restored
        # (deletion_restore takes the same row lock and refuses anything but pending).
        deletion.state = Deletion.State.PURGING
        attempts = int((deletion.progress or {}).get("purgeAttempts", 0)) + 1
        deletion.progress = {
            **(deletion.progress or {}),
            "purgeStep": "blobs",
            "purgeAttempts": attempts,
            "heartbeat": timezone.now().isoformat(),
        }
        deletion.save(update_fields=["state", "progress"])
    return deletion


def deletion_purge(*, deletion_id: int) -> Deletion | None:
    """Purge one deletion if it is due. Safe to run twice, concurrently, or after an interrupted
    run. Returns the deletion as it is afterwards (None if it does not exist).

    A model deletion's rows beneath the entry are hidden first if the bulk step has not run yet
    (``deletion.beneath``): its outside work (inference deployments) and its counts come from it.
    """
    hide_beneath(deletion_id)
    deletion = _begin(deletion_id)
    if deletion is None:
        return Deletion.objects.filter(pk=deletion_id).first()
    started = time.monotonic()
    _purge_blobs(deletion)
    blobs_done = time.monotonic()
    _save_progress(deletion, purgeStep="manifests")
    _purge_manifests(deletion)
    manifests_done = time.monotonic()
    _save_progress(deletion, purgeStep="rows")
    with transaction.atomic():
        locked = Deletion.objects.select_for_update().get(pk=deletion.pk)
        if locked.state == Deletion.State.PURGED:
            return locked  # another run finished first
        _delete_rows(deletion)
        locked.state = Deletion.State.PURGED
        locked.purged_at = timezone.now()
        locked.progress = {
            **deletion.progress,
            "purgeStep": "done",
            # Seconds per step of the run that finished (earlier, interrupted runs not counted).
            "seconds": {
                "blobs": round(blobs_done - started, 3),
                "manifests": round(manifests_done - blobs_done, 3),
                "rows": round(time.monotonic() - manifests_done, 3),
            },
        }
        locked.save(update_fields=["state", "purged_at", "progress"])
        audit_record(
            action=AuditAction.DELETION_PURGE,
            actor="system",
            subject=locked.subject,
            detail={
                "deletion": locked.pk,
                "kind": locked.kind,
                "counts": locked.counts,
                "progress": locked.progress,
            },
        )
    return locked
