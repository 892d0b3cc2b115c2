"""Soft deletion and restore of models, releases, files and image tags.

A deletion hides rows at once and removes them later. One service call runs inside one
transaction and writes one ``Deletion`` record; every row it hides points at that record, so a
restore or a purge touches exactly those rows. The model cascade uses one bulk ``UPDATE`` per
table, so its query count does not depend on how many rows go.

Rows already hidden by an earlier deletion keep their own record: restoring a model does not
bring back a file that was deleted before the model was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from access.models import AccessRequest, Token
from core.audit import AuditAction, audit_record
from core.errors import BadRequest, Conflict, NotFound
from deletion.models import Deletion
from models_app.models import Model, ModelCardRevision
from models_app.policy import Action, Actor, check, get_model_for
from releases.models import File, Release, ReleaseFile, ScanResult
from reviews.models import Response, Review


@dataclass
class ModelDeletionPreview:
    """What deleting an entry takes with it, shown in the confirmation dialog."""

    releases: int
    files: int
    file_bytes: int
    images: int | None  # None: the registry could not be asked
    access_requests: int
    reviews: int
    responses: int
    card_revisions: int
    tokens: int
    image_tags: list[dict[str, Any]] = field(default_factory=list)

    def as_counts(self) -> dict[str, Any]:
        return {
            "releases": self.releases,
            "files": self.files,
            "fileBytes": self.file_bytes,
            "images": self.images,
            "accessRequests": self.access_requests,
            "reviews": self.reviews,
            "responses": self.responses,
            "cardRevisions": self.card_revisions,
            "tokens": self.tokens,
        }


def _responses_of_model(model_id: str) -> QuerySet[Response]:
    return Response.objects.filter(
        Q(review__model_id=model_id)
        | Q(release__model_id=model_id)
        | Q(access_request__model_id=model_id)
    )


def _tokens_scoped_to(model_id: str) -> QuerySet[Any]:
    return Token.scoped_models.through.objects.filter(model_id=model_id)


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
    files = File.objects.filter(model=model)
    images, image_tags = _model_images(model.pk)
    return ModelDeletionPreview(
        releases=Release.objects.filter(model=model).count(),
        files=files.count(),
        file_bytes=int(files.aggregate(total=Sum("size"))["total"] or 0),
        images=images,
        access_requests=AccessRequest.objects.filter(model=model).count(),
        reviews=Review.objects.filter(model=model).count(),
        responses=_responses_of_model(model.pk).count(),
        card_revisions=ModelCardRevision.objects.filter(model=model).count(),
        tokens=_tokens_scoped_to(model.pk).count(),
        image_tags=image_tags,
    )


def _purge_due(now: datetime) -> datetime:
    return now + settings.DELETION_RETENTION


def _hide(qs: QuerySet[Any], *, deletion: Deletion, by: Any, now: datetime) -> int:
    """One UPDATE: hide the live rows of ``qs`` under ``deletion``."""
    return int(
        qs.filter(deleted_at__isnull=True).update(deleted_at=now, deleted_by=by, deletion=deletion)
    )


def _schedule_purge_if_due(deletion: Deletion) -> None:
    if deletion.purge_due <= timezone.now():
        from deletion.tasks import purge_deletion

        # robust: the deletion has committed; a failing purge is retried by the sweep, and must
        # not turn the user's successful delete into an error.
        transaction.on_commit(lambda: purge_deletion.delay(deletion.pk), robust=True)


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
        files = File.objects.filter(model=model, deleted_at__isnull=True)
        total_bytes = int(files.aggregate(total=Sum("size"))["total"] or 0)
        deletion = Deletion.objects.create(
            kind=Deletion.Kind.MODEL,
            subject=model.pk,
            subject_name=model.name,
            model_id=model.pk,
            deleted_by=user,
            deleted_at=now,
            purge_due=_purge_due(now),
            total_bytes=total_bytes,
        )
        hide = {"deletion": deletion, "by": user, "now": now}
        counts: dict[str, Any] = {
            "responses": _hide(_responses_of_model(model.pk), **hide),
            "reviews": _hide(Review.objects.filter(model=model), **hide),
            "scans": _hide(ScanResult.objects.filter(file__model=model), **hide),
            "files": _hide(File.all_objects.filter(model=model), **hide),
            "releases": _hide(Release.all_objects.filter(model=model), **hide),
            "accessRequests": _hide(AccessRequest.all_objects.filter(model=model), **hide),
            "cardRevisions": _hide(ModelCardRevision.all_objects.filter(model=model), **hide),
        }
        counts["images"], image_tags = preview_images
        counts["tokens"], token_state = _detach_tokens(model.pk, now)
        Model.all_objects.filter(pk=model.pk).update(
            deleted_at=now, deleted_by=user, deletion=deletion
        )
        deletion.counts = counts
        deletion.progress = {"tokens": token_state, "images": image_tags}
        deletion.save(update_fields=["counts", "progress"])
        audit_record(
            action=AuditAction.MODEL_DELETE,
            actor=user,
            subject=model.pk,
            detail={"deletion": deletion.pk, "counts": counts},
        )
        _schedule_purge_if_due(deletion)
    return deletion


def _detach_tokens(model_id: str, now: datetime) -> tuple[int, dict[str, list[int]]]:
    """Remove the entry from tokens' chosen models; revoke tokens left with none. Returns what
    was done so a restore can undo exactly that."""
    through = _tokens_scoped_to(model_id)
    token_ids = list(through.values_list("token_id", flat=True))
    if not token_ids:
        return 0, {"detached": [], "revoked": []}
    through.delete()
    remaining = set(
        Token.scoped_models.through.objects.filter(token_id__in=token_ids).values_list(
            "token_id", flat=True
        )
    )
    emptied = [t for t in token_ids if t not in remaining]
    revoked = list(
        Token.objects.filter(pk__in=emptied, revoked_at__isnull=True).values_list("pk", flat=True)
    )
    Token.objects.filter(pk__in=revoked).update(revoked_at=now)
    return len(token_ids), {"detached": token_ids, "revoked": revoked}


# --- restore ----------------------------------------------------------------------------------

_RESTORABLE: list[Any] = [
    Model,
    ModelCardRevision,
    Release,
    File,
    ScanResult,
    AccessRequest,
    Review,
    Response,
]


_RESTORE_REFUSALS: dict[str, str] = {
    Deletion.State.PURGING: "This deletion cannot be restored: purging has started",
    Deletion.State.PURGED: "This deletion cannot be restored: it has been purged",
    Deletion.State.RESTORED: "This deletion has already been restored",
}


def deletion_restore(*, actor: Actor, deletion_id: int) -> Deletion:
    """Bring back every row of a deletion, and its token scopes (administrators only).

    Refused once the purge has started, or when restoring would clash with a live record.
    """
    if not actor.is_admin:
        from core.errors import Forbidden

        raise Forbidden("Only administrators may restore deletions")
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
            from deletion.artefacts import image_restore

            image_restore(deletion)
        for model_class in _RESTORABLE:
            model_class.all_objects.filter(deletion=deletion).update(
                deleted_at=None, deleted_by=None, deletion=None
            )
        _restore_release_files(deletion)
        _restore_tokens(deletion)
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


def _restore_release_files(deletion: Deletion) -> None:
    """Put a restored file back into the releases that shipped it: those still stored (a purged
    release is gone), and only where no other file of that name has joined the release since."""
    pairs = (deletion.progress or {}).get("releaseFiles") or []
    if not pairs:
        return
    names = dict(File.all_objects.filter(pk__in={f for _, f in pairs}).values_list("pk", "name"))
    existing = set(
        Release.all_objects.filter(pk__in={r for r, _ in pairs}).values_list("pk", flat=True)
    )
    taken = set(
        ReleaseFile.objects.filter(
            release_id__in=existing, file__deleted_at__isnull=True
        ).values_list("release_id", "file__name")
    )
    ReleaseFile.objects.bulk_create(
        [
            ReleaseFile(release_id=r, file_id=f)
            for r, f in pairs
            if r in existing and (r, names.get(f)) not in taken
        ],
        ignore_conflicts=True,
    )


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
