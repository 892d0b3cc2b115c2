"""Importing an export into a mirrored model, one tarball at a time.

``import_start`` runs in the request: it resolves ``payloadUrl`` (only our exports bucket or an
allowed host: never an arbitrary fetch), reads the tarball's ``metadata.json`` to learn which
mirrored model and export it belongs to, checks the caller owns that model, records the artefact
as in progress on the export's ``ModelTransfer`` and queues ``mirroring.import_run``.

``import_run`` runs in the worker and reads the tarball once, hashing every byte. Nothing
becomes visible until the whole object has been read and its signature verified:

- documents are small and held whole (``MIRROR_IMPORT_DOCUMENTS_MAX_SIZE``), then written in one
  transaction;
- a file's bytes go to the uploads bucket as they arrive, and its record is marked complete only
  after the signature and the file's own SHA-256 check out (otherwise the blob is removed);
- an image's blobs are pushed as they arrive (content-addressed: the registry refuses bytes
  that do not match their digest, and nothing refers to them yet); its manifests are put only
  after the signature checks out, so a refused tarball leaves no image to pull.

When no artefact of the transfer is in progress any more, the owners get one e-mail and the
``importModel`` webhook fires.
"""

from __future__ import annotations

import json
import logging
import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
from django.conf import settings
from django.db import IntegrityError, transaction

from core.errors import BadRequest, Conflict, NotFound, ServiceUnavailable
from core.ports import registry
from core.ports.signing import Signature, verify
from core.ports.storage import BlobNotFound, StorageUnavailable, blob_store
from mirroring import tarballs
from mirroring.models import ArtefactKind, ArtefactStatus, ModelTransfer
from mirroring.selectors import transfer_json
from models_app.models import EntryKind, Model, ModelCardRevision, Schema
from models_app.policy import Action, Actor, check
from models_app.schema_validation import validation_errors
from releases.files.services import storage_key_for
from releases.models import File, Release, ReleaseFile
from releases.semver import SemverError, parse_version

log = logging.getLogger(__name__)

HTTP_TIMEOUT = 30
MANIFEST_LIMIT = 4 * 1024 * 1024
HEX64 = re.compile(r"^[0-9a-f]{64}$")


class ArtefactFailed(Exception):
    """The tarball cannot be imported; the message is shown on the transfer."""


# --- where a payload comes from ---------------------------------------------------------------


@dataclass(frozen=True)
class Payload:
    """A tarball to import: a key in our exports bucket, or a URL on an allowed host."""

    url: str
    key: str = ""

    def open(self) -> tuple[dict[str, str], Iterator[bytes]]:
        """The object's metadata (``sig-r``/``sig-s``) and its bytes as they arrive."""
        if self.key:
            store = blob_store(settings.S3_BUCKET_EXPORTS)
            try:
                return store.metadata(self.key), store.open(self.key)
            except BlobNotFound as exc:
                raise ArtefactFailed(f"No tarball at {self.url}") from exc
        try:
            response = requests.get(
                self.url, stream=True, timeout=HTTP_TIMEOUT, allow_redirects=False
            )
        except requests.RequestException as exc:
            raise ServiceUnavailable(f"{self.url} could not be reached: {exc}") from exc
        if response.status_code != 200:
            response.close()
            raise ArtefactFailed(f"{self.url} answered {response.status_code}")
        metadata = {
            k.lower()[len("x-amz-meta-") :]: v
            for k, v in response.headers.items()
            if k.lower().startswith("x-amz-meta-")
        }

        def chunks() -> Iterator[bytes]:
            try:
                yield from response.iter_content(tarballs.READ_CHUNK)
            except requests.RequestException as exc:
                raise ArtefactFailed(f"{self.url} stopped sending: {exc}") from exc
            finally:
                response.close()

        return metadata, chunks()


def _host(netloc: str) -> str:
    return netloc.rsplit("@", 1)[-1].lower()


def payload_for(url: Any) -> Payload:
    """The payload ``url`` names, if it is one we may fetch: ``s3://<exports>/<key>``, our S3
    endpoint's ``/<exports>/<key>`` (path style), or any URL on ``MIRROR_IMPORT_ALLOWED_HOSTS``.
    Anything else is refused (400), so an import never fetches an arbitrary address."""
    if not isinstance(url, str) or not url:
        raise BadRequest("payloadUrl must be a URL", {"payloadUrl": url})
    parts = urlsplit(url)
    bucket = settings.S3_BUCKET_EXPORTS
    if parts.scheme == "s3":
        if parts.netloc != bucket:
            raise BadRequest(
                f"payloadUrl must name the exports bucket ({bucket})", {"payloadUrl": url}
            )
        return Payload(url, _clean_key(parts.path, url))
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise BadRequest(
            "payloadUrl must be an s3://, http:// or https:// URL", {"payloadUrl": url}
        )
    endpoint = urlsplit(settings.S3_ENDPOINT) if settings.S3_ENDPOINT else None
    if endpoint and _host(parts.netloc) == _host(endpoint.netloc):
        prefix = f"/{bucket}/"
        if not parts.path.startswith(prefix) or parts.query:
            raise BadRequest(
                f"payloadUrl must name an object in the exports bucket ({bucket})",
                {"payloadUrl": url},
            )
        return Payload(url, _clean_key(parts.path[len(prefix) - 1 :], url))
    allowed = settings.MIRROR_IMPORT_ALLOWED_HOSTS
    if _host(parts.netloc) in allowed or (parts.hostname or "").lower() in allowed:
        return Payload(url)
    raise BadRequest(
        "payloadUrl must point at this instance's exports bucket or an allowed host",
        {"payloadUrl": url},
    )


def _clean_key(path: str, url: str) -> str:
    key = unquote(path).lstrip("/")
    if not key or ".." in key.split("/"):
        raise BadRequest("payloadUrl names no object", {"payloadUrl": url})
    return key


# --- starting an import (the request) -----------------------------------------------------------


def _peek_metadata(payload: Payload) -> dict[str, Any]:
    """The tarball's ``metadata.json``, read from the start of the stream (nothing else is
    read, and nothing is trusted yet: the worker verifies the whole object)."""
    try:
        _meta, chunks = payload.open()
    except StorageUnavailable:
        raise
    except ArtefactFailed as exc:
        raise BadRequest(str(exc), {"payloadUrl": payload.url}) from exc
    try:
        reader = tarballs.HashingReader(chunks)
        tar, members = tarballs.open_tarball(reader)
        return tarballs.read_metadata(tar, members)
    except tarballs.TarballError as exc:
        raise BadRequest(f"{exc}", {"payloadUrl": payload.url}) from exc
    finally:
        close = getattr(chunks, "close", None)
        if close:
            close()


def artefact_of(metadata: dict[str, Any]) -> tuple[str, str]:
    """The transfer artefact a tarball fills: ``(key, kind)``."""
    kind = metadata["importKind"]
    if kind == ArtefactKind.DOCUMENTS:
        return metadata["sourceModelId"], kind
    if kind == ArtefactKind.FILE:
        file_id = metadata.get("filePath")
        if not isinstance(file_id, str) or not file_id:
            raise BadRequest("metadata.json of a file tarball has no filePath")
        return file_id, kind
    package = metadata.get("distributionPackageName")
    if not isinstance(package, str) or ":" not in package:
        raise BadRequest("metadata.json of an image tarball has no distributionPackageName")
    name, tag = package.rsplit(":", 1)
    if not (registry.valid_image_name(name) and registry.valid_tag(tag)):
        raise BadRequest(f"{package!r} is not an image name and tag")
    return package, kind


def import_start(*, actor: Actor, payload_url: Any) -> tuple[ModelTransfer, dict[str, Any]]:
    """Check and record the import of one tarball: the transfer and the tarball's metadata.
    The caller queues ``tasks.import_run`` for the artefact (``artefact_of(metadata)``)."""
    if not settings.MIRROR_IMPORT_ENABLED:
        raise BadRequest("Importing mirrored models is not enabled on this instance")
    payload = payload_for(payload_url)
    metadata = _peek_metadata(payload)
    mirrored_id = metadata["mirroredModelId"]
    model = Model.objects.filter(pk=mirrored_id).first()
    if model is None:
        raise NotFound(f"Model {mirrored_id} not found", {"modelId": mirrored_id})
    check(actor, Action.MODEL_IMPORT, model)
    if model.kind != EntryKind.MIRRORED_MODEL:
        raise BadRequest(f"Model {model.pk} is not a mirrored model", {"modelId": model.pk})
    if model.mirror_source_model_id != metadata["sourceModelId"]:
        raise BadRequest(
            f"Model {model.pk} mirrors {model.mirror_source_model_id}, not "
            f"{metadata['sourceModelId']}",
            {"modelId": model.pk, "sourceModelId": metadata["sourceModelId"]},
        )
    key, kind = artefact_of(metadata)
    with transaction.atomic():
        try:
            with transaction.atomic():
                transfer, _ = ModelTransfer.objects.get_or_create(
                    export_id=metadata["exportId"],
                    defaults={"model": model, "exported_by": str(metadata.get("exporter", ""))},
                )
        except IntegrityError:
            transfer = ModelTransfer.objects.get(export_id=metadata["exportId"])
        transfer = ModelTransfer.objects.select_for_update().get(pk=transfer.pk)
        if transfer.model_id != model.pk:
            raise Conflict(
                f"Export {transfer.export_id} is already being imported into another model",
                {"exportId": transfer.export_id},
            )
        _upsert(transfer.artefacts, key, kind, name=_name_of(metadata, key), url=payload.url)
        transfer.completed_notification_sent = False
        transfer.save()
    return transfer, metadata


def _name_of(metadata: dict[str, Any], key: str) -> str:
    return key if metadata["importKind"] != ArtefactKind.FILE else ""


def _upsert(
    artefacts: list[dict[str, Any]],
    key: str,
    kind: str,
    *,
    name: str = "",
    url: str | None = None,
    status: str = ArtefactStatus.IN_PROGRESS,
    error: str = "",
) -> dict[str, Any]:
    for artefact in artefacts:
        if artefact["key"] == key and artefact["kind"] == kind:
            break
    else:
        artefact = {"key": key, "name": name, "kind": kind}
        artefacts.append(artefact)
    if name and not artefact.get("name"):
        artefact["name"] = name
    if url is not None:
        artefact["payloadUrl"] = url
    artefact["status"] = status
    artefact["error"] = error
    return artefact


def transfer_retry(
    *, actor: Actor, transfer: ModelTransfer, key: str | None
) -> tuple[ModelTransfer, list[tuple[str, str]]]:
    """Put the failed artefacts of a transfer (or the one named ``key``) back in progress; the
    transfer and the ``(key, kind)`` pairs the caller queues ``tasks.import_run`` for."""
    check(actor, Action.MODEL_IMPORT, transfer.model)

    with transaction.atomic():
        locked = ModelTransfer.objects.select_for_update().get(pk=transfer.pk)
        chosen = [
            a
            for a in locked.artefacts
            if a["status"] == ArtefactStatus.FAILED and (key is None or a["key"] == key)
        ]
        if not chosen:
            raise BadRequest("No failed artefact to retry", {"key": key})
        missing = [a["key"] for a in chosen if not a.get("payloadUrl")]
        if missing:
            raise BadRequest(
                "These artefacts never arrived, so there is nothing to retry: import their "
                f"tarballs: {', '.join(missing)}",
                {"keys": missing},
            )
        for artefact in chosen:
            artefact["status"] = ArtefactStatus.IN_PROGRESS
            artefact["error"] = ""
        locked.completed_notification_sent = False
        locked.save()
    return locked, [(a["key"], a["kind"]) for a in chosen]


# --- the worker's side --------------------------------------------------------------------------


def _verify(metadata: dict[str, str], digest: bytes) -> None:
    signature = Signature.from_metadata(metadata)
    if signature is None:
        if settings.MIRROR_REQUIRE_SIGNATURE:
            raise ArtefactFailed("The tarball is not signed: nothing was imported")
        return
    if not settings.MIRROR_VERIFY_PUBLIC_KEYS:
        return
    if not verify(digest, signature):
        raise ArtefactFailed(
            "The tarball's signature does not match its content (tampered with, or signed by "
            "an unknown key): nothing was imported"
        )


def _open(transfer: ModelTransfer, url: str, limit: int | None = None) -> Any:
    payload = payload_for(url)
    metadata, chunks = payload.open()
    if settings.MIRROR_REQUIRE_SIGNATURE and Signature.from_metadata(metadata) is None:
        close = getattr(chunks, "close", None)
        if close:
            close()
        raise ArtefactFailed("The tarball is not signed: nothing was imported")
    reader = tarballs.HashingReader(chunks, limit)
    tar, members = tarballs.open_tarball(reader)
    meta = tarballs.read_metadata(tar, members)
    if meta["exportId"] != transfer.export_id or meta["mirroredModelId"] != transfer.model_id:
        raise ArtefactFailed("The tarball belongs to another export")
    return metadata, reader, tar, members, meta


def _documents(transfer: ModelTransfer, url: str) -> list[tuple[str, str, str]]:
    """Import card revisions, releases and file records; the artefacts they announce."""
    limit = settings.MIRROR_IMPORT_DOCUMENTS_MAX_SIZE
    object_meta, reader, tar, members, _meta = _open(transfer, url, limit)
    cards: dict[int, dict[str, Any]] = {}
    releases: dict[str, dict[str, Any]] = {}
    files: dict[str, dict[str, Any]] = {}
    prefix = f"{tarballs.CONTENT_DIR}/"
    for member in members:
        if not member.isfile() or not member.name.startswith(prefix):
            continue
        try:
            body = json.loads(tarballs.read_member(tar, member, limit))
        except ValueError as exc:
            raise ArtefactFailed(f"{member.name} is not JSON") from exc
        if not isinstance(body, dict):
            raise ArtefactFailed(f"{member.name} is not an object")
        rest = member.name[len(prefix) :]
        if rest.startswith("releases/"):
            releases[rest[len("releases/") : -len(".json")]] = body
        elif rest.startswith("files/"):
            files[rest[len("files/") : -len(".json")]] = body
        elif rest.endswith(".json") and rest[: -len(".json")].isdigit():
            cards[int(rest[: -len(".json")])] = body
    _verify(object_meta, reader.drain())
    with transaction.atomic():
        model = Model.objects.select_for_update().get(pk=transfer.model_id)
        _import_cards(model, cards)
        file_rows = _import_files(model, files)
        _import_releases(model, releases, file_rows)
    announced = [(f.pk, f.name, ArtefactKind.FILE.value) for f in file_rows.values()]
    images = {f"{i['name']}:{i['tag']}" for r in releases.values() for i in _images_of(r)}
    announced += [(i, i, ArtefactKind.IMAGE.value) for i in sorted(images)]
    return announced


def _images_of(release: dict[str, Any]) -> list[dict[str, str]]:
    """The well-formed images a release's document names."""
    images = release.get("images") or []
    if not isinstance(images, list):
        raise ArtefactFailed("A release's images are not a list")
    return [
        i
        for i in images
        if isinstance(i, dict)
        and registry.valid_image_name(str(i.get("name", "")))
        and registry.valid_tag(str(i.get("tag", "")))
    ]


def _import_cards(model: Model, cards: dict[int, dict[str, Any]]) -> None:
    existing = set(
        ModelCardRevision.all_objects.filter(model=model, mirrored=True).values_list(
            "version", flat=True
        )
    )
    schemas: dict[str, Schema] = {}
    for version in sorted(cards):
        if version in existing or version < 1:
            continue
        body = cards[version]
        schema_id = body.get("schemaId")
        if not isinstance(schema_id, str) or not schema_id:
            raise ArtefactFailed(f"Card version {version} names no schema")
        if schema_id not in schemas:
            schema = Schema.objects.filter(pk=schema_id).first()
            if schema is None:
                raise ArtefactFailed(
                    f"Card version {version} uses schema {schema_id}, which this instance does "
                    "not have: an administrator must add it first"
                )
            schemas[schema_id] = schema
        metadata = body.get("metadata") or {}
        problems = validation_errors(schemas[schema_id].json_schema, metadata)
        if problems:
            raise ArtefactFailed(
                f"Card version {version} does not follow schema {schema_id}: "
                + "; ".join(f"{p['property']}: {p['message']}" for p in problems[:5])
            )
        ModelCardRevision.objects.create(
            model=model,
            schema=schemas[schema_id],
            version=version,
            metadata=metadata,
            mirrored=True,
        )


def _import_files(model: Model, files: dict[str, dict[str, Any]]) -> dict[str, File]:
    rows: dict[str, File] = {}
    for file_id, body in files.items():
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", file_id):
            raise ArtefactFailed(f"{file_id!r} is not a file id")
        sha256 = str(body.get("sha256") or "")
        size = body.get("size")
        if not HEX64.match(sha256) or not isinstance(size, int) or size < 0:
            raise ArtefactFailed(f"File {file_id} has no valid sha256 and size")
        row = File.all_objects.filter(pk=file_id).first()
        if row is not None and row.model_id != model.pk:
            raise ArtefactFailed(f"File id {file_id} is already used by another entry here")
        if row is None:
            row = File.objects.create(
                id=file_id,
                model=model,
                name=str(body.get("name") or file_id)[:255],
                size=size,
                mime=str(body.get("mime") or "application/octet-stream")[:255],
                tags=[t for t in body.get("tags") or [] if isinstance(t, str)],
                storage_key=storage_key_for(model.pk),
                sha256=sha256,
                complete=False,
            )
        rows[file_id] = row
    return rows


def _import_releases(
    model: Model, releases: dict[str, dict[str, Any]], files: dict[str, File]
) -> None:
    for semver, body in releases.items():
        try:
            version = parse_version(semver)
        except SemverError as exc:
            raise ArtefactFailed(f"{semver!r} is not a semantic version") from exc
        images = [
            {"repository": model.pk, "name": i["name"], "tag": i["tag"]} for i in _images_of(body)
        ]
        release, _ = Release.all_objects.update_or_create(
            model=model,
            semver=str(version),
            defaults={
                "major": version.major,
                "minor_version": version.minor,
                "patch": version.patch,
                "prerelease": version.prerelease_text,
                "notes": str(body.get("notes") or ""),
                "is_minor": bool(body.get("minor")),
                "draft": bool(body.get("draft")),
                "model_card_version": int(body.get("modelCardVersion") or 1),
                "images": images,
            },
        )
        for file_id in body.get("fileIds") or []:
            file = files.get(file_id) or File.objects.filter(pk=file_id, model=model).first()
            if file is None:
                raise ArtefactFailed(f"Release {semver} ships file {file_id}, which is not here")
            ReleaseFile.objects.get_or_create(release=release, file=file)


def _file(transfer: ModelTransfer, url: str, file_id: str) -> None:
    file = File.all_objects.filter(pk=file_id, model_id=transfer.model_id).first()
    if file is None:
        raise ArtefactFailed(
            "The export's documents have not been imported yet: import them, then retry"
        )
    object_meta, reader, tar, members, _meta = _open(transfer, url)
    wanted = f"{tarballs.CONTENT_DIR}/{file_id}"
    store = blob_store()
    stored = False
    import hashlib

    content = hashlib.sha256()
    try:
        for member in members:
            if member.name != wanted or not member.isfile():
                continue
            if file.complete:
                break  # already here: nothing new to store
            handle = tar.extractfile(member)
            assert handle is not None

            def hashed(chunks: Iterator[bytes]) -> Iterator[bytes]:
                for chunk in chunks:
                    content.update(chunk)
                    yield chunk

            info = store.put(file.storage_key, hashed(tarballs.member_chunks(handle)))
            stored = True
            break
        digest = reader.drain()
        _verify(object_meta, digest)
        if file.complete:
            return
        if not stored:
            raise ArtefactFailed(f"The tarball holds no {wanted}")
        if content.hexdigest() != file.sha256:
            raise ArtefactFailed("The file's bytes do not match its recorded sha256")
    except BaseException:
        if stored:
            store.delete(file.storage_key)
        raise
    File.all_objects.filter(pk=file.pk).update(complete=True, size=info.size)


def _image(transfer: ModelTransfer, url: str, package: str) -> None:
    name, tag = package.rsplit(":", 1)
    repository = registry.repository_name(transfer.model_id, name)
    object_meta, reader, tar, members, _meta = _open(transfer, url)
    manifest: bytes | None = None
    children: dict[str, bytes] = {}
    blob_prefix = f"{tarballs.CONTENT_DIR}/blobs/sha256/"
    child_prefix = f"{tarballs.CONTENT_DIR}/blobs/manifests/"
    for member in members:
        if not member.isfile():
            continue
        if member.name == f"{tarballs.CONTENT_DIR}/manifest.json":
            manifest = tarballs.read_member(tar, member, MANIFEST_LIMIT)
        elif member.name.startswith(child_prefix):
            hex_digest = member.name[len(child_prefix) :]
            if not HEX64.match(hex_digest):
                raise ArtefactFailed(f"{member.name} is not named by a digest")
            children[hex_digest] = tarballs.read_member(tar, member, MANIFEST_LIMIT)
        elif member.name.startswith(blob_prefix):
            hex_digest = member.name[len(blob_prefix) :]
            if not HEX64.match(hex_digest):
                raise ArtefactFailed(f"{member.name} is not named by a digest")
            digest = f"sha256:{hex_digest}"
            if registry.blob_exists(repository, digest):
                continue
            handle = tar.extractfile(member)
            assert handle is not None
            registry.push_blob(repository, digest, tarballs.member_chunks(handle))
    _verify(object_meta, reader.drain())
    if manifest is None:
        raise ArtefactFailed("The tarball holds no content/manifest.json")
    import hashlib

    for hex_digest, body in children.items():
        if hashlib.sha256(body).hexdigest() != hex_digest:
            raise ArtefactFailed(f"Manifest {hex_digest} does not match its digest")
        registry.put_manifest(repository, f"sha256:{hex_digest}", body, _media_type(body))
    registry.put_manifest(repository, tag, manifest, _media_type(manifest))


def _media_type(body: bytes) -> str:
    try:
        media_type = json.loads(body).get("mediaType")
    except (ValueError, AttributeError) as exc:
        raise ArtefactFailed("A manifest is not JSON") from exc
    if media_type not in registry.MANIFEST_TYPES:
        raise ArtefactFailed(f"Unsupported manifest type {media_type!r}")
    return str(media_type)


def import_run(*, transfer_id: int, key: str, kind: str) -> str:
    """Import one artefact of a transfer from its recorded ``payloadUrl``; its final status."""
    transfer = ModelTransfer.objects.filter(pk=transfer_id).select_related("model").first()
    if transfer is None or transfer.model.deleted_at is not None:
        return "gone"
    artefact = next((a for a in transfer.artefacts if a["key"] == key and a["kind"] == kind), None)
    if artefact is None or artefact["status"] != ArtefactStatus.IN_PROGRESS:
        return "nothing to do"
    url = artefact.get("payloadUrl") or ""
    announced: list[tuple[str, str, str]] = []
    try:
        if kind == ArtefactKind.DOCUMENTS:
            announced = _documents(transfer, url)
        elif kind == ArtefactKind.FILE:
            _file(transfer, url, key)
        else:
            _image(transfer, url, key)
    except (ArtefactFailed, tarballs.TarballError, BadRequest) as exc:
        return _finish(transfer_id, key, kind, ArtefactStatus.FAILED, str(exc))
    except (registry.RegistryUnavailable, ServiceUnavailable, StorageUnavailable) as exc:
        return _finish(transfer_id, key, kind, ArtefactStatus.FAILED, f"{exc}: retry later")
    except tarfile.TarError as exc:
        return _finish(transfer_id, key, kind, ArtefactStatus.FAILED, f"Damaged tarball: {exc}")
    except Exception as exc:
        # Never leave an artefact in progress for ever: record the failure so it can be retried.
        log.exception("Import of %s %s for transfer %s failed", kind, key, transfer_id)
        return _finish(transfer_id, key, kind, ArtefactStatus.FAILED, f"Unexpected error: {exc}")
    return _finish(transfer_id, key, kind, ArtefactStatus.COMPLETED, "", announced)


def _finish(
    transfer_id: int,
    key: str,
    kind: str,
    status: str,
    error: str,
    announced: list[tuple[str, str, str]] | None = None,
) -> str:
    from mirroring.notifications import transfer_finished

    with transaction.atomic():
        transfer = ModelTransfer.objects.select_for_update().get(pk=transfer_id)
        _upsert(transfer.artefacts, key, kind, status=status, error=error[:1000])
        for a_key, a_name, a_kind in announced or []:
            if not any(a["key"] == a_key and a["kind"] == a_kind for a in transfer.artefacts):
                _upsert(transfer.artefacts, a_key, a_kind, name=a_name)
            else:
                for a in transfer.artefacts:
                    if a["key"] == a_key and not a.get("name"):
                        a["name"] = a_name
        notify = transfer.completed and not transfer.completed_notification_sent
        if notify:
            transfer.completed_notification_sent = True
        transfer.save()
        if notify:
            body = transfer_json(transfer)
            transaction.on_commit(lambda: transfer_finished(transfer.model_id, body), robust=True)
    return status
