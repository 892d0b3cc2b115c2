"""Deleting one file, one release or one image tag of an entry, and restoring an image tag.

Each deletion writes its own ``Deletion`` record and follows the rules of an entry's deletion:
rows are hidden under the record at once, the purge removes them when the retention window ends,
and an administrator may restore them until then (``deletion.services.deletion_restore``). Which
rows a file or a release takes with it is declared in the cascade (``deletion.cascade``, each
table's ``within``).

Image tags are not rows: they live in the registry. Deleting one moves it, as Bailo does, to the
repository ``soft_deleted/<modelId>/<name>`` under the same tag, which users can never get a token
for; restoring moves it back. A move is copy-then-delete (mount every blob, put the manifest in the
destination, delete the source manifest by digest, put back the other tags that shared that
digest), so a failure part way leaves the original tag in place.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.audit import AuditAction, audit_record
from core.errors import BadRequest, BailoError, Conflict, NotFound
from core.ports import registry
from deletion.models import Deletion
from deletion.soft_delete import deletion_record_create, hide_within, schedule_purge_if_due
from models_app.models import Model
from models_app.policy import Action, Actor, check, get_model_for
from releases.models import File, Release, ReleaseFile
from releases.selectors import release_get_visible
from reviews.badge import reviews_changed

log = logging.getLogger(__name__)


class RegistryFailed(BailoError):
    """The registry failed part way through moving a tag (503); nothing was deleted."""

    status = 503


# --- files ----------------------------------------------------------------------------------------


def file_deletion_preview(*, actor: Actor, model: Model, file: File) -> list[Release]:
    """The live releases that ship ``file``: deleting it removes it from each of them."""
    check(actor, Action.FILE_DELETE, model)
    return list(Release.objects.filter(model=model, files=file).distinct())


def file_delete(*, actor: Actor, model_id: str, file_id: str) -> Deletion:
    """Soft-delete one file (owners and contributors): it leaves every release that ships it at
    once, and its bytes go when the deletion is purged."""
    model = get_model_for(actor, model_id, Action.FILE_DELETE)
    with transaction.atomic():
        file = (
            File.objects.select_for_update().filter(model=model, pk=file_id, complete=True).first()
        )
        if file is None:
            raise NotFound(f"File {file_id} not found", {"fileId": file_id, "modelId": model.pk})
        now = timezone.now()
        user = actor.user
        links = ReleaseFile.objects.filter(file=file)
        pairs = [[r, f] for r, f in links.values_list("release_id", "file_id")]
        deletion = deletion_record_create(
            kind=Deletion.Kind.FILE,
            subject=file.pk,
            subject_name=file.name,
            model_id=model.pk,
            by=user,
            now=now,
            total_bytes=file.size,
            progress={"releaseFiles": pairs},
        )
        # The links go rather than hide (they have no soft-delete fields, and the releases must
        # stop shipping the file now); ``file_links_restore`` puts back the recorded pairs.
        links.delete()
        counts: dict[str, int] = hide_within(
            Deletion.Kind.FILE, file.pk, deletion=deletion, by=user, now=now
        )
        counts["releases"] = len(pairs)
        deletion.counts = counts
        deletion.save(update_fields=["counts"])
        audit_record(
            action=AuditAction.FILE_DELETE,
            actor=user,
            subject=model.pk,
            detail={"deletion": deletion.pk, "fileId": file.pk, "name": file.name, **counts},
        )
        schedule_purge_if_due(deletion)
    return deletion


# --- releases -------------------------------------------------------------------------------------


def release_delete(*, actor: Actor, model_id: str, semver: str) -> Deletion:
    """Soft-delete one release (owners only) with its reviews, their decisions and the comments
    on it. Its files stay on the entry; its semver stays taken until the purge."""
    model = get_model_for(actor, model_id, Action.RELEASE_VIEW)
    release = release_get_visible(actor=actor, model=model, semver=semver)
    check(actor, Action.RELEASE_DELETE, model)
    with transaction.atomic():
        locked = Release.objects.select_for_update().filter(pk=release.pk).first()
        if locked is None:
            raise NotFound(
                f"Release {semver} not found", {"modelId": model.pk, "semver": release.semver}
            )
        now = timezone.now()
        user = actor.user
        deletion = deletion_record_create(
            kind=Deletion.Kind.RELEASE,
            subject=str(locked.pk),
            subject_name=locked.semver,
            model_id=model.pk,
            by=user,
            now=now,
        )
        counts = hide_within(Deletion.Kind.RELEASE, locked.pk, deletion=deletion, by=user, now=now)
        deletion.counts = counts
        deletion.save(update_fields=["counts"])
        audit_record(
            action=AuditAction.RELEASE_DELETE,
            actor=user,
            subject=f"{model.pk}/{locked.semver}",
            detail={"deletion": deletion.pk, "semver": locked.semver, **counts},
        )
        schedule_purge_if_due(deletion)
        reviews_changed()  # the release's reviews leave the badge
    return deletion


# --- image tags -----------------------------------------------------------------------------------


def held_repository(model_id: str, name: str) -> str:
    """Where a deleted tag of ``<model_id>/<name>`` is kept until it is purged or restored."""
    return f"{registry.SOFT_DELETED_PREFIX}/{model_id}/{name}"


def _blob_digests(manifest: dict[str, Any]) -> list[str]:
    parts = [manifest.get("config") or {}, *(manifest.get("layers") or [])]
    return [str(p["digest"]) for p in parts if p.get("digest")]


def _copy(source: str, dest: str, body: bytes, content_type: str, tag: str) -> None:
    """Make ``dest:tag`` hold the same manifest as ``body`` from ``source``: mount its blobs (and,
    for a multi-platform index, its platform manifests and their blobs), then put it."""
    manifest = json.loads(body)
    if content_type in registry.INDEX_TYPES or "manifests" in manifest:
        for child in manifest.get("manifests") or []:
            child_body, child_type, child_digest = registry.get_manifest_bytes(
                source, child["digest"]
            )
            child_manifest = json.loads(child_body)
            if child_type in registry.INDEX_TYPES or "manifests" in child_manifest:
                raise BadRequest(
                    "multi-platform images cannot be deleted yet",
                    {"repository": source, "tag": tag},
                )
            for digest in _blob_digests(child_manifest):
                registry.mount_blob(dest, source, digest)
            registry.put_manifest(dest, child_digest, child_body, child_type)
    else:
        for digest in _blob_digests(manifest):
            registry.mount_blob(dest, source, digest)
    registry.put_manifest(dest, tag, body, content_type)


def _move_tag(source: str, dest: str, tag: str) -> str:
    """Move ``source:tag`` to ``dest:tag`` and return the manifest's digest.

    Deleting by digest removes every tag on that digest, so the other tags of ``source`` that
    share it are put back straight after. If anything fails once the source is deleted, the tag
    and those others are put back before the error is raised.
    """
    try:
        body, content_type, digest = registry.get_manifest_bytes(source, tag)
    except registry.ManifestNotFound as exc:
        raise NotFound(f"Image {source}:{tag} not found", {"tag": tag}) from exc
    if registry.manifest_digest(dest, tag) is not None:
        raise Conflict(
            f"{dest}:{tag} already exists; an earlier deletion of this tag must be purged or "
            "restored first",
            {"tag": tag},
        )
    siblings = [
        other
        for other in registry.repository_tags(source)
        if other != tag and registry.manifest_digest(source, other) == digest
    ]
    _copy(source, dest, body, content_type, tag)
    registry.delete_manifest(source, digest)
    try:
        for other in siblings:
            registry.put_manifest(source, other, body, content_type)
    except registry.RegistryUnavailable:
        for other in [tag, *siblings]:
            try:
                registry.put_manifest(source, other, body, content_type)
            except registry.RegistryUnavailable:
                log.exception("Could not put %s:%s back after a failed move", source, other)
        raise
    return digest


def _unlink_image(model: Model, name: str, tag: str) -> list[int]:
    """Take the image out of every live release of the entry that names it; their ids."""
    changed = []
    for release in Release.objects.select_for_update().filter(model=model):
        kept = [i for i in release.images if not (i.get("name") == name and i.get("tag") == tag)]
        if len(kept) != len(release.images):
            release.images = kept
            release.save(update_fields=["images", "updated_at"])
            changed.append(release.pk)
    return changed


def image_delete(*, actor: Actor, model_id: str, name: str, tag: str) -> Deletion:
    """Soft-delete one image tag (owners and contributors) by moving it to
    ``soft_deleted/<modelId>/<name>``; releases stop naming it.

    The Deletion row is written first (``moved: False``) so a move cut short by a crash is on
    record; a move that fails cleanly removes the row again and answers 503.
    """
    model = get_model_for(actor, model_id, Action.IMAGE_DELETE)
    if not registry.is_configured():
        raise NotFound("This instance has no Docker registry", {"modelId": model.pk, "name": name})
    if not (registry.valid_image_name(name) and registry.valid_tag(tag)):
        raise NotFound(f"Image {model.pk}/{name}:{tag} not found", {"name": name, "tag": tag})
    source = registry.repository_name(model.pk, name)
    held = held_repository(model.pk, name)
    now = timezone.now()
    image = {"repository": source, "name": name, "tag": tag, "digest": "", "heldIn": held}
    deletion = deletion_record_create(
        kind=Deletion.Kind.IMAGE,
        subject=f"{source}:{tag}",
        subject_name=f"{name}:{tag}",
        model_id=model.pk,
        by=actor.user,
        now=now,
        progress={"image": {**image, "moved": False}},
    )
    try:
        digest = _move_tag(source, held, tag)
    except BailoError:
        deletion.delete()
        raise
    except (registry.RegistryUnavailable, registry.RegistryNotConfigured, ValueError) as exc:
        deletion.delete()
        raise RegistryFailed(
            f"The registry failed while deleting {name}:{tag}; nothing was deleted. "
            "Try again later.",
            {"modelId": model.pk, "name": name, "tag": tag, "reason": str(exc)},
        ) from exc
    with transaction.atomic():
        releases = _unlink_image(model, name, tag)
        deletion.progress = {
            "image": {**image, "digest": digest, "moved": True},
            "releaseImages": releases,
        }
        deletion.counts = {"images": 1, "releases": len(releases)}
        deletion.save(update_fields=["progress", "counts"])
        audit_record(
            action=AuditAction.IMAGE_DELETE,
            actor=actor.user,
            subject=model.pk,
            detail={"deletion": deletion.pk, "image": f"{name}:{tag}", "digest": digest},
        )
        schedule_purge_if_due(deletion)
    return deletion


def image_restore(deletion: Deletion) -> None:
    """Move a deleted tag back from where it is held, and name it again in the releases it was
    taken from. Called by ``deletion_restore`` inside its transaction (which checked the actor)."""
    image = (deletion.progress or {}).get("image") or {}
    source, held, tag = image.get("repository"), image.get("heldIn"), image.get("tag")
    if not (source and held and tag):
        raise Conflict("This image deletion does not record where the tag is held")
    try:
        if registry.manifest_digest(held, tag) is not None:
            _move_tag(held, source, tag)
        elif registry.manifest_digest(source, tag) is None:
            raise Conflict(f"{held}:{tag} is no longer in the registry; it cannot be restored")
    except (registry.RegistryUnavailable, registry.RegistryNotConfigured) as exc:
        raise RegistryFailed(
            f"The registry failed while restoring {image.get('name')}:{tag}; try again later",
            {"deletionId": deletion.pk, "reason": str(exc)},
        ) from exc
    ref = {"repository": deletion.model_id, "name": image.get("name"), "tag": tag}
    release_ids = (deletion.progress or {}).get("releaseImages") or []
    for release in Release.objects.select_for_update().filter(pk__in=release_ids):
        if ref not in release.images:
            release.images = [*release.images, ref]
            release.save(update_fields=["images", "updated_at"])


# --- a file's place in its releases ---------------------------------------------------------------


def file_links_restore(deletion: Deletion) -> None:
    """Put a restored file back into the releases that shipped it: those still stored (a purged
    release is gone), and only where no other file of that name has joined the release since.
    Called by ``deletion_restore`` inside its transaction, after the file is back."""
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
