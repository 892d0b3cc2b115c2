"""Deleting an entry and everything under it, its preview, restoring a deletion, and "purge now".

What "everything under it" means is declared once, in ``deletion.cascade``: each step here
iterates that declaration. ``model_delete`` runs in one short transaction: it writes one
``Deletion`` record, hides the entry's own row and detaches its tokens, a fixed number of
statements whatever the number of rows beneath; a worker then hides those in bulk
(``deletion.beneath``), one ``UPDATE`` per table. File, release and image deletions are in
``deletion.artefacts``; the purge is in ``deletion.purge``.

Rows already hidden by an earlier deletion keep their own record: restoring a model does not
bring back a file that was deleted before the model was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone

from access.models import Token
from core.audit import AuditAction, audit_record
from core.errors import BadRequest, Conflict, NotFound
from deletion.artefacts import file_links_restore, image_restore
from deletion.beneath import BENEATH, QUEUED
from deletion.cascade import CASCADE, ENTRY, Treatment, counted
from deletion.models import Deletion
from deletion.purge import ACTIVE
from deletion.soft_delete import deletion_record_create, hide, schedule_purge_if_due
from deletion.tasks import hide_entry_beneath, purge_deletion
from models_app.listing_cache import entries_changed
from models_app.models import Model
from models_app.policy import Action, Actor, check, get_model_for, require_admin
from reviews.badge import reviews_changed


@dataclass
class ModelDeletionPreview:
    """What deleting an entry takes with it, shown in the confirmation dialog.

    ``counts`` holds the cascade's previewed counts by key, in the order shown: ``releases``,
    ``files``, ``fileBytes``, ``images`` (None: the registry could not be asked),
    ``accessRequests``, ``reviews``, ``responses``, ``cardRevisions``, ``tokens``, ``webhooks``,
    ``inferenceServices``.
    Templates read them as attributes in snake case (``preview.file_bytes`` is
    ``counts["fileBytes"]``).
    """

    counts: dict[str, int | None]
    image_tags: list[dict[str, Any]] = field(default_factory=list)

    def as_counts(self) -> dict[str, Any]:
        return dict(self.counts)

    def __getattr__(self, name: str) -> Any:
        key = re.sub(r"_([a-z])", lambda match: match.group(1).upper(), name)
        counts = self.__dict__.get("counts") or {}
        if key not in counts:
            raise AttributeError(name)
        return counts[key]


def _model_images(model_id: str) -> tuple[int | None, list[dict[str, Any]]]:
    """Image tags of the entry, as ``{repository, name, tag, digest}``; ``None`` if unknown."""
    from core.ports import registry

    if not registry.is_configured():
        return 0, []
    try:
        images = registry.list_images(model_id)
    except (registry.RegistryUnavailable, registry.RegistryNotConfigured):
        return None, []
    tags = [
        {
            "repository": registry.repository_name(model_id, image["name"]),
            "name": image["name"],
            "tag": tag["tag"],
            "digest": tag.get("digest", ""),
        }
        for image in images
        for tag in image.get("tags", [])
    ]
    return len(tags), tags


def model_deletion_preview(*, actor: Actor, model: Model) -> ModelDeletionPreview:
    """What deleting ``model`` would take with it (owners only), counted from live rows; images
    come from the registry and are ``None`` when it cannot be reached."""
    check(actor, Action.MODEL_DELETE, model)
    counts: dict[str, int | None] = {}
    image_tags: list[dict[str, Any]] = []
    for table, count in counted():
        if not count.previewed:
            continue
        if count is table.manifests:
            counts[count.key], image_tags = _model_images(model.pk)
            continue
        rows = table.live_rows_of_entry(model.pk)
        counts[count.key] = rows.count()
        if table.blobs is not None:
            counts[table.blobs.size_key] = _total(rows, table.blobs.size_field)
    return ModelDeletionPreview(counts=counts, image_tags=image_tags)


def _total(rows: QuerySet[Any], size_field: str) -> int:
    return int(rows.aggregate(total=Sum(size_field))["total"] or 0)


def _check_confirmation(model: Model, confirm_name: Any) -> None:
    """The typed name must be the entry's name exactly: no trimming, no case folding."""
    if not isinstance(confirm_name, str) or not confirm_name:
        raise BadRequest("Type the model's name to confirm the deletion", {"modelId": model.pk})
    if confirm_name != model.name:
        raise BadRequest(
            "The name you typed does not match the model's name exactly",
            {"modelId": model.pk},
        )


def model_delete(
    *, actor: Actor, model_id: str, confirm_name: Any = None, confirm: bool = True
) -> Deletion:
    """Soft-delete an entry and everything under it (owners only; the exact name confirms).

    ``confirm=False`` skips the typed name: the API's explicit ``DELETE`` request (the official
    client cannot type a name) is its own confirmation. Permission is checked either way.

    Refusals come before anything else is asked, the registry included. The entry row is then
    locked and checked again, so a second request racing this one waits, then finds the entry
    gone (404) instead of deleting it twice, and a rename that landed in between is honoured.

    The request hides the entry's row alone (and detaches its tokens); the rows beneath it are
    hidden by a worker once it has committed (``deletion.beneath``), and are unreachable through
    their hidden entry meanwhile. The record's counts of them and its bytes are written then.
    """
    model = get_model_for(actor, model_id, Action.MODEL_DELETE)
    if confirm:
        _check_confirmation(model, confirm_name)
    # Outside the transaction: the registry may be slow, and the row lock should not wait on it.
    preview_images = _model_images(model.pk)
    with transaction.atomic():
        locked: Model | None = Model.objects.select_for_update().filter(pk=model_id).first()
        if locked is None:
            raise NotFound(f"Model {model_id} not found", {"modelId": model_id})
        model = locked
        check(actor, Action.MODEL_DELETE, model)
        if confirm:
            _check_confirmation(model, confirm_name)
        now = timezone.now()
        user = actor.user
        counts: dict[str, Any] = {}
        progress: dict[str, Any] = {BENEATH: QUEUED}
        # What is not the entry's (tokens) is let go of here; it is small.
        for table in CASCADE:
            if table.treatment is Treatment.DETACH:
                done, progress["tokens"] = _detach_tokens(table.rows_of_entry(model.pk), now)
                if table.count is not None:
                    counts[table.count.key] = done
            if table.manifests is not None:
                counts[table.manifests.key], progress["images"] = preview_images
        deletion = deletion_record_create(
            kind=Deletion.Kind.MODEL,
            subject=model.pk,
            subject_name=model.name,
            model_id=model.pk,
            by=user,
            now=now,
            counts=counts,
            progress=progress,
        )
        # The entry's own row: from the commit on, everything beneath it is unreachable.
        hide(ENTRY.rows_of_entry(model.pk), deletion=deletion, by=user, now=now)
        audit_record(
            action=AuditAction.MODEL_DELETE,
            actor=user,
            subject=model.pk,
            detail={"deletion": deletion.pk, "counts": counts},
        )
        entries_changed()
        deletion_id = deletion.pk

        def queue_hiding_beneath() -> None:
            hide_entry_beneath.delay(deletion_id)

        # robust: the deletion has committed, so a broker that is down must not fail the
        # request; the sweep queues the step again (``beneath_overdue``), and a purge runs it
        # itself if it never did. A function, not a partial: Django names a failed hook in its
        # log by ``__qualname__``, which a partial lacks, and that turned the logged failure
        # into a 500.
        transaction.on_commit(queue_hiding_beneath, robust=True)
        schedule_purge_if_due(deletion)
    return deletion


def _detach_tokens(scopes: QuerySet[Any], now: datetime) -> tuple[int, dict[str, list[int]]]:
    """Remove the entry from tokens' chosen models (``scopes``: the cascade's token-scope rows of
    the entry); revoke tokens left with none. Returns what was done so a restore can undo exactly
    that."""
    token_ids = list(scopes.values_list("token_id", flat=True))
    if not token_ids:
        return 0, {"detached": [], "revoked": []}
    scopes.delete()
    # The live tokens among them that no longer name any entry, in one query.
    still_scoped = Token.scoped_models.through.objects.filter(token_id__in=token_ids)
    revoked = list(
        Token.objects.filter(pk__in=token_ids, revoked_at__isnull=True)
        .exclude(pk__in=still_scoped.values("token_id"))
        .values_list("pk", flat=True)
    )
    if revoked:
        Token.objects.filter(pk__in=revoked).update(revoked_at=now)
    return len(token_ids), {"detached": token_ids, "revoked": revoked}


# --- restore ----------------------------------------------------------------------------------

_RESTORE_REFUSALS: dict[str, str] = {
    Deletion.State.PURGING: "This deletion cannot be restored: purging has started",
    Deletion.State.PURGED: "This deletion cannot be restored: it has been purged",
    Deletion.State.RESTORED: "This deletion has already been restored",
}


def deletion_restore(*, actor: Actor, deletion_id: int) -> Deletion:
    """Bring back every row of a deletion, and its token scopes (administrators only).

    Refused once the purge has started, or when restoring would clash with a live record.
    """
    require_admin(actor, what="restore deletions")
    with transaction.atomic():
        deletion = Deletion.objects.select_for_update().filter(pk=deletion_id).first()
        if deletion is None:
            raise NotFound(f"Deletion {deletion_id} not found")
        if deletion.state != Deletion.State.PENDING:
            raise Conflict(
                _RESTORE_REFUSALS.get(deletion.state, "This deletion cannot be restored")
            )
        _check_restorable(deletion)
        if deletion.kind == Deletion.Kind.IMAGE:
            image_restore(deletion)
        for table in CASCADE:
            if table.treatment is Treatment.HIDE:
                if table.outside is not None:
                    table.outside.restored(deletion)
                table.rows_of_deletion(deletion).update(
                    deleted_at=None, deleted_by=None, deletion=None
                )
            elif table.treatment is Treatment.DETACH:
                _restore_tokens(deletion)
        if deletion.kind == Deletion.Kind.FILE:
            file_links_restore(deletion)
        if deletion.kind == Deletion.Kind.MODEL:
            entries_changed()
        reviews_changed()  # a restored release or request brings its reviews back to the badge
        deletion.state = Deletion.State.RESTORED
        deletion.restored_at = timezone.now()
        deletion.restored_by = actor.user
        deletion.save(update_fields=["state", "restored_at", "restored_by"])
        audit_record(
            action=AuditAction.DELETION_RESTORE,
            actor=actor.user,
            subject=deletion.subject,
            detail={"deletion": deletion.pk, "kind": deletion.kind},
        )
    return deletion


def _check_restorable(deletion: Deletion) -> None:
    if deletion.kind == Deletion.Kind.MODEL:
        clash = (
            Model.objects.filter(name=deletion.subject_name).exclude(pk=deletion.subject).first()
        )
        if clash is not None:
            raise Conflict(
                f"Another entry is now called '{deletion.subject_name}' ({clash.pk}); "
                "rename it before restoring"
            )
    elif Model.objects.filter(pk=deletion.model_id).first() is None:
        raise Conflict("The entry this belonged to is deleted; restore the entry first")


def _restore_tokens(deletion: Deletion) -> None:
    state = (deletion.progress or {}).get("tokens") or {}
    detached = state.get("detached") or []
    if detached:
        through = Token.scoped_models.through
        through.objects.bulk_create(
            [through(token_id=t, model_id=deletion.model_id) for t in detached],
            ignore_conflicts=True,
        )
    revoked = state.get("revoked") or []
    if revoked:
        Token.objects.filter(pk__in=revoked).update(revoked_at=None)


# --- purge now ------------------------------------------------------------------------------------


def deletion_purge_now(*, actor: Actor, deletion_id: int) -> Deletion:
    """An administrator's "purge now": the retention window ends at once and the purge is queued
    (run at once where tasks are eager). Refused for restored and purged deletions."""
    require_admin(actor, what="purge deletions")
    with transaction.atomic():
        deletion = Deletion.objects.select_for_update().filter(pk=deletion_id).first()
        if deletion is None:
            raise NotFound(f"Deletion {deletion_id} not found", {"deletionId": deletion_id})
        if deletion.state not in ACTIVE:
            raise Conflict(
                f"This deletion was already {deletion.get_state_display().lower()}; "
                "there is nothing left to purge",
                {"deletionId": deletion_id, "state": deletion.state},
            )
        now = timezone.now()
        if deletion.purge_due > now:
            deletion.purge_due = now
            deletion.save(update_fields=["purge_due"])
        audit_record(
            action=AuditAction.DELETION_PURGE,
            actor=actor.user,
            subject=deletion.subject,
            detail={"deletion": deletion.pk, "kind": deletion.kind, "requested": "now"},
        )
        # robust: where tasks run eagerly, a failing purge must not turn this request into a
        # 500; the deletion stays "purging" and the sweep retries it.
        transaction.on_commit(lambda: purge_deletion.delay(deletion_id), robust=True)
    deletion.refresh_from_db()
    return deletion
