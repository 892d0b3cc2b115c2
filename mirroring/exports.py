"""Exporting a model to a mirror: Bailo's checks, then tarballs written by a worker.

``export_start`` runs in the request: it checks every precondition (``_check``), records an
``Export`` listing every tarball to write, and queues ``mirroring.export_run`` after commit.
``export_run`` runs in the worker: one tarball after another, each streamed to the exports
bucket (``tarballs.MultipartSink``) and, when a signer is configured, signed and copied to its
final key with ``sig-r``/``sig-s`` metadata. A failed tarball is recorded with its error and the
others still go.
"""

from __future__ import annotations

import logging
import secrets
import string
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from core.errors import BadRequest, NotFound
from core.ports import registry
from core.ports.scanners import ScanState, configured_kinds
from core.ports.signing import signer
from core.ports.storage import blob_store
from mirroring import tarballs
from mirroring.models import ArtefactKind, ArtefactStatus, Export, overall_status
from models_app.models import EntryKind, Model, ModelCardRevision
from models_app.policy import Action, Actor, check
from models_app.selectors import card_json
from releases.files.selectors import file_json
from releases.models import File, Release, ScanResult
from releases.selectors import release_json
from releases.semver import SemverError, parse_version

log = logging.getLogger(__name__)

EXPORT_ID_ALPHABET = string.ascii_lowercase + string.digits
STAGING_PREFIX = "exportQueue/"


def _new_export_id() -> str:
    return "".join(secrets.choice(EXPORT_ID_ALPHABET) for _ in range(12))


def _clean_semvers(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest("semvers must be a list of release versions", {"semvers": value})
    cleaned = []
    for raw in value:
        try:
            cleaned.append(str(parse_version(raw)))
        except SemverError as exc:
            raise BadRequest(f"{raw!r} is not a semantic version", {"semver": raw}) from exc
    return list(dict.fromkeys(cleaned))


def _releases(model: Model, semvers: list[str]) -> list[Release]:
    found = {
        r.semver: r
        for r in Release.objects.filter(model=model, semver__in=semvers).prefetch_related(
            Prefetch(
                "files",
                queryset=File.objects.filter(complete=True).prefetch_related(
                    Prefetch("scans", queryset=ScanResult.objects.all())
                ),
            )
        )
    }
    missing = [s for s in semvers if s not in found]
    if missing:
        raise NotFound(
            f"The following releases were not found: {', '.join(missing)}",
            {"modelId": model.pk, "semvers": missing},
        )
    return [found[s] for s in semvers]


def _check_size(files: list[File]) -> None:
    limit = settings.MIRROR_EXPORT_MAX_SIZE
    for file in files:
        if file.size > limit:
            raise BadRequest(
                f"File {file.name} ({file.size} bytes) is larger than the export limit of "
                f"{limit} bytes",
                {"fileId": file.pk, "size": file.size, "maxSize": limit},
            )
    total = sum(f.size for f in files)
    if total > limit:
        raise BadRequest(
            f"The files of the chosen releases ({total} bytes) are larger than the export limit "
            f"of {limit} bytes",
            {"size": total, "maxSize": limit},
        )


def _check_scans(files: list[File]) -> None:
    """When scanners are on, every file needs a finished, clean scan from each (a skip, such as
    ModelScan's "unsupported file type", counts as clean)."""
    kinds = configured_kinds()
    if not kinds:
        return
    for file in files:
        scans = {s.tool_name: s for s in file.scans.all()}
        for kind in kinds:
            scan = scans.get(kind)
            if scan is None or scan.state not in {ScanState.COMPLETE, ScanState.SKIPPED}:
                raise BadRequest(
                    f"File {file.name} has no finished {kind} scan: only scanned files can be "
                    "exported",
                    {"fileId": file.pk, "scanner": kind},
                )
            if scan.state == ScanState.COMPLETE and scan.summary:
                raise BadRequest(
                    f"File {file.name} failed its {kind} scan: it cannot be exported",
                    {"fileId": file.pk, "scanner": kind},
                )


def _check(
    actor: Actor, model: Model, disclaimer: Any, semvers: Any
) -> tuple[list[Release], list[File]]:
    """Every precondition of Bailo's export, in its order; the releases and their files."""
    if not settings.MIRROR_EXPORT_ENABLED:
        raise BadRequest("Exporting models to a mirror is not enabled on this instance")
    if disclaimer is not True:
        raise BadRequest("You must agree to the disclaimer agreement before exporting")
    check(actor, Action.MODEL_EXPORT, model)
    if model.kind != EntryKind.MODEL:
        raise BadRequest("Only models can be exported", {"kind": model.kind})
    if not model.mirror_destination_model_id:
        raise BadRequest(
            "The 'Destination Model ID' has not been set on this model", {"modelId": model.pk}
        )
    card = ModelCardRevision.objects.filter(pk=model.card_id).first() if model.card_id else None
    if card is None or card.version < 2:
        raise BadRequest(
            "This model's card must have been saved at least once (version 2 or later) before "
            "it can be exported",
            {"modelId": model.pk},
        )
    wanted = _clean_semvers(semvers)
    releases = _releases(model, wanted)
    if releases:
        check(actor, Action.RELEASE_EXPORT, model)
    files = list({f.pk: f for r in releases for f in r.files.all()}.values())
    _check_size(files)
    _check_scans(files)
    return releases, files


def _artefact(key: str, name: str, kind: str, object_key: str) -> dict[str, Any]:
    return {
        "key": key,
        "name": name,
        "kind": kind,
        "status": ArtefactStatus.IN_PROGRESS.value,
        "objectKey": object_key,
        "error": "",
    }


def export_start(*, actor: Actor, model: Model, disclaimer: Any, semvers: Any) -> Export:
    """Check and record an export; the caller queues ``tasks.export_run`` for it, which writes
    its tarballs."""
    releases, files = _check(actor, model, disclaimer, semvers)
    artefacts = [
        _artefact(model.pk, model.name, ArtefactKind.DOCUMENTS, tarballs.documents_object(model.pk))
    ]
    artefacts += [
        _artefact(f.pk, f.name, ArtefactKind.FILE, tarballs.file_object(f.pk)) for f in files
    ]
    images = {(i["name"], i["tag"]) for r in releases for i in (r.images or [])}
    artefacts += [
        _artefact(
            f"{name}:{tag}",
            f"{name}:{tag}",
            ArtefactKind.IMAGE,
            tarballs.image_object(model.pk, name, tag),
        )
        for name, tag in sorted(images)
    ]
    return Export.objects.create(
        id=_new_export_id(),
        model=model,
        destination_model_id=model.mirror_destination_model_id,
        semvers=[r.semver for r in releases],
        artefacts=artefacts,
        created_by=actor.user if actor.user.is_authenticated else None,
    )


# --- the worker's side ------------------------------------------------------------------------


def _metadata(export: Export, kind: str, **extra: str) -> dict[str, Any]:
    return {
        "schemaVersion": tarballs.SCHEMA_VERSION,
        "exporter": export.created_by.get_username() if export.created_by else "",
        "sourceModelId": export.model_id,
        "mirroredModelId": export.destination_model_id,
        "exportId": export.pk,
        "importKind": kind,
        **extra,
    }


# How often (in bytes written) an export records its progress.
PROGRESS_EVERY = 64 * 1024 * 1024


def _write_object(
    export: Export,
    object_key: str,
    size_hint: int,
    write: Callable[[Any], None],
    artefact: tuple[str, str] | None = None,
) -> None:
    """Stream one tarball to the exports bucket; sign it when a signer is configured.

    Signed tarballs are written to a staging key first (the signature covers the finished
    object, and S3 metadata is fixed when an object is created), then copied to their final
    key with the signature and the staging object removed.
    """
    store = blob_store(settings.S3_BUCKET_EXPORTS)
    sign = signer()
    key = f"{STAGING_PREFIX}{export.pk}/{object_key}" if sign else object_key
    part_size = max(tarballs.PART_SIZE, _part_size_for(size_hint))
    recorded = [0]

    def progress(written: int) -> None:
        if artefact is not None and written - recorded[0] >= PROGRESS_EVERY:
            recorded[0] = written
            _set_progress(export.pk, *artefact, written)

    sink = tarballs.MultipartSink(store, key, part_size, on_part=progress)
    try:
        write(sink)
        _info, digest = sink.finish()
    except BaseException:
        sink.abort()
        raise
    if sign is not None:
        try:
            signature = sign.sign_digest(digest)
            store.copy(key, object_key, signature.as_metadata())
        finally:
            store.delete(key)


def _part_size_for(size: int) -> int:
    from core.ports.storage import part_size_for

    # The gzip'd tar is a little larger than its content at worst; leave room.
    return part_size_for(size + size // 16 + 1024 * 1024)


def _write_documents(export: Export, releases: list[Release], files: list[File]) -> None:
    def write(sink: Any) -> None:
        tar = tarballs.TarballWriter(sink, _metadata(export, ArtefactKind.DOCUMENTS))
        revisions = ModelCardRevision.objects.filter(model_id=export.model_id, mirrored=False)
        for revision in revisions.select_related("created_by").order_by("version"):
            tar.add_json(f"{tarballs.CONTENT_DIR}/{revision.version}.json", card_json(revision))
        for release in releases:
            tar.add_json(
                f"{tarballs.CONTENT_DIR}/releases/{release.semver}.json", release_json(release)
            )
        for file in files:
            tar.add_json(f"{tarballs.CONTENT_DIR}/files/{file.pk}.json", file_json(file))
        tar.close()

    _write_object(export, tarballs.documents_object(export.model_id), 0, write)


def _write_file(export: Export, file: File) -> None:
    def write(sink: Any) -> None:
        tar = tarballs.TarballWriter(sink, _metadata(export, ArtefactKind.FILE, filePath=file.pk))
        tar.add_stream(
            f"{tarballs.CONTENT_DIR}/{file.pk}", file.size, blob_store().open(file.storage_key)
        )
        tar.close()

    _write_object(
        export, tarballs.file_object(file.pk), file.size, write, (file.pk, ArtefactKind.FILE)
    )


def _descriptors(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for d in [manifest.get("config"), *(manifest.get("layers") or [])] if d]


def _write_image(export: Export, name: str, tag: str) -> None:
    import json

    repository = registry.repository_name(export.model_id, name)
    body, _type, _digest = registry.get_manifest_bytes(repository, tag)
    manifest = json.loads(body)
    children: list[tuple[str, bytes]] = []
    blobs: dict[str, int] = {}
    if "manifests" in manifest:
        for entry in manifest.get("manifests") or []:
            child_body, _t, child_digest = registry.get_manifest_bytes(repository, entry["digest"])
            children.append((child_digest, child_body))
            for d in _descriptors(json.loads(child_body)):
                blobs.setdefault(d["digest"], int(d.get("size") or 0))
    else:
        for d in _descriptors(manifest):
            blobs.setdefault(d["digest"], int(d.get("size") or 0))

    def write(sink: Any) -> None:
        tar = tarballs.TarballWriter(
            sink,
            _metadata(export, ArtefactKind.IMAGE, distributionPackageName=f"{name}:{tag}"),
        )
        tar.add_bytes(f"{tarballs.CONTENT_DIR}/manifest.json", body)
        for digest, child_body in children:
            hex_digest = digest.split(":", 1)[1]
            tar.add_bytes(f"{tarballs.CONTENT_DIR}/blobs/manifests/{hex_digest}", child_body)
        for digest, size in blobs.items():
            hex_digest = digest.split(":", 1)[1]
            tar.add_stream(
                f"{tarballs.CONTENT_DIR}/blobs/sha256/{hex_digest}",
                size,
                registry.blob_chunks(repository, digest),
            )
        tar.close()

    _write_object(
        export,
        tarballs.image_object(export.model_id, name, tag),
        sum(blobs.values()),
        write,
        (f"{name}:{tag}", ArtefactKind.IMAGE),
    )


def _set_progress(export_id: str, key: str, kind: str, written: int) -> None:
    """Record how many bytes of a tarball have gone up so far."""
    with transaction.atomic():
        export = Export.objects.select_for_update().get(pk=export_id)
        for artefact in export.artefacts:
            if artefact["key"] == key and artefact["kind"] == kind:
                artefact["bytesWritten"] = written
        export.save(update_fields=["artefacts", "updated_at"])


def _set_artefact(export_id: str, key: str, kind: str, status: str, error: str = "") -> None:
    with transaction.atomic():
        export = Export.objects.select_for_update().get(pk=export_id)
        for artefact in export.artefacts:
            if artefact["key"] == key and artefact["kind"] == kind:
                artefact["status"] = status
                artefact["error"] = error
        export.save(update_fields=["artefacts", "updated_at"])


def export_run(*, export_id: str) -> str:
    """Write every tarball of an export still in progress; the export's final status. Safe to
    run twice: finished tarballs are not written again."""
    export = Export.objects.select_related("model", "created_by").filter(pk=export_id).first()
    if export is None or export.model.deleted_at is not None:
        return "gone"
    releases = list(Release.objects.filter(model_id=export.model_id, semver__in=export.semvers))
    files = {
        f.pk: f
        for f in File.objects.filter(releases__in=releases, complete=True).prefetch_related("scans")
    }
    for artefact in list(export.artefacts):
        if artefact["status"] != ArtefactStatus.IN_PROGRESS:
            continue
        key, kind = artefact["key"], artefact["kind"]
        try:
            if kind == ArtefactKind.DOCUMENTS:
                _write_documents(export, releases, list(files.values()))
            elif kind == ArtefactKind.FILE:
                _write_file(export, files[key])
            else:
                name, tag = key.rsplit(":", 1)
                _write_image(export, name, tag)
        except Exception as exc:  # recorded for the owner; the other tarballs still go
            log.exception("Export %s: %s %s failed", export.pk, kind, key)
            _set_artefact(export.pk, key, kind, ArtefactStatus.FAILED, f"{exc}"[:1000])
            continue
        _set_artefact(export.pk, key, kind, ArtefactStatus.COMPLETED)
    with transaction.atomic():
        export = Export.objects.select_for_update().get(pk=export_id)
        export.status = overall_status(export.artefacts)
        export.finished_at = timezone.now()
        export.save(update_fields=["status", "finished_at", "updated_at"])
    return export.status
