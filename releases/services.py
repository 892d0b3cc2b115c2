"""Writes for releases: create and update (deleting one is in ``deletion/artefacts.py``).

Each service checks the policy itself, validates everything before writing, and writes in one
transaction, so a refused request stores nothing. File services live in ``file_services.py``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from typing import Any

from django.db import IntegrityError, transaction

from core.audit import AuditAction, audit_record
from core.errors import BadRequest, BailoError, Conflict
from core.hooks import Hook, fire_after_commit
from core.ports import registry
from models_app.models import EntryKind, Model, ModelCardRevision
from models_app.policy import Action, Actor, check
from releases.models import File, Release, ReleaseFile
from releases.semver import SemverError, Version, parse_version

log = logging.getLogger(__name__)

MAX_NOTES_LENGTH = 100_000
MAX_FILES = 1_000
MAX_IMAGES = 200

# Called after commit with each release that becomes "published": created neither minor nor
# draft, or a draft published later. The reviews feature opens the release's reviews here
# (reviews/apps.py). A failing listener is logged and does not undo the release (it is already
# committed).
RELEASE_PUBLISHED: Hook[Callable[[Release], None]] = Hook("release published")
# Called after commit with each release created (drafts and minor ones too) and with each release
# changed; the webhooks feature listens (webhooks/apps.py). Failures are logged, never raised.
RELEASE_CREATED: Hook[Callable[[Release], None]] = Hook("release created")
RELEASE_UPDATED: Hook[Callable[[Release], None]] = Hook("release updated")


# --- input checks -----------------------------------------------------------------------------


def _clean_semver(value: Any) -> Version:
    try:
        return parse_version(value)
    except SemverError as exc:
        raise BadRequest(str(exc), {"semver": value if isinstance(value, str) else None}) from exc


def _clean_notes(value: Any) -> str:
    """Any string, as Bailo takes it: a blank one too (the release form still asks for words)."""
    if not isinstance(value, str):
        raise BadRequest("notes are required, as a string: describe what this release contains")
    if len(value) > MAX_NOTES_LENGTH:
        raise BadRequest(f"notes must be at most {MAX_NOTES_LENGTH:,} characters")
    return value


def _clean_flag(value: Any, name: str) -> bool:
    # The official client sends its flags as the strings "true" and "false" (it normalises
    # bodies like query parameters), so both forms are accepted.
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise BadRequest(f"{name} must be true or false", {name: value})


def _card_version(model: Model, value: Any) -> int:
    """The card version a release describes: ``value`` if given (it must exist), else the
    entry's current card. An entry without a card cannot have releases."""
    if model.card_id is None:
        raise BadRequest(
            "This model has no model card yet: fill in its card before creating a release",
            {"modelId": model.pk},
        )
    if value is None:
        current = ModelCardRevision.objects.only("version").get(pk=model.card_id)
        return current.version
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadRequest("modelCardVersion must be a card version number", {"value": value})
    try:
        version = int(value)
    except ValueError:
        raise BadRequest(
            "modelCardVersion must be a card version number", {"value": value}
        ) from None
    exists = ModelCardRevision.objects.filter(model=model, version=version, mirrored=False).exists()
    if version < 1 or not exists:
        raise BadRequest(
            f"This model's card has no version {version}",
            {"modelId": model.pk, "modelCardVersion": version},
        )
    return version


def _clean_files(model: Model, value: Any) -> list[File]:
    """The files named by ``value``: complete files of this entry, with distinct names."""
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise BadRequest("fileIds must be a list of file ids")
    if len(value) > MAX_FILES:
        raise BadRequest(f"A release can hold at most {MAX_FILES} files")
    repeated = sorted(i for i, n in Counter(value).items() if n > 1)
    if repeated:
        raise BadRequest(f"File {repeated[0]} is listed more than once", {"fileIds": repeated})
    # One query for every id. Another entry's file and an unknown id get the same answer, so
    # the error does not reveal files of entries the caller may not see.
    found = {f.pk: f for f in File.objects.filter(pk__in=value, model=model)}
    files: list[File] = []
    for file_id in value:
        file = found.get(file_id)
        if file is None:
            raise BadRequest(
                f"File {file_id} is not a file of this model",
                {"modelId": model.pk, "fileId": file_id},
            )
        if not file.complete:
            raise BadRequest(
                f"File {file_id} ({file.name}) has not finished uploading",
                {"fileId": file_id},
            )
        files.append(file)
    names = Counter(f.name for f in files)
    duplicates = sorted(n for n, count in names.items() if count > 1)
    if duplicates:
        raise BadRequest(
            "A release cannot hold two files with the same name; duplicated: "
            + ", ".join(duplicates),
            {"duplicates": duplicates},
        )
    return files


class RegistryDown(BailoError):
    """The registry did not answer, so the images a release names cannot be checked."""

    status = 503


def _clean_images(model: Model, value: Any) -> list[dict[str, str]]:
    """Bailo's ``[{repository, name, tag}]``; the repository is always the entry's id."""
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise BadRequest("images must be a list of {repository, name, tag}")
    if len(value) > MAX_IMAGES:
        raise BadRequest(f"A release can refer to at most {MAX_IMAGES} images")
    images: list[dict[str, str]] = []
    for item in value:
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) for k in ("repository", "name", "tag")
        ):
            raise BadRequest(
                "Each image must be an object {repository, name, tag} of strings", {"image": item}
            )
        image = {"repository": item["repository"], "name": item["name"], "tag": item["tag"]}
        label = f"{image['name']}:{image['tag']}"
        if image["repository"] != model.pk:
            raise BadRequest(
                f"Image {label} must be in this model's repository '{model.pk}', "
                f"not '{image['repository']}'",
                {"image": image},
            )
        if not registry.valid_image_name(image["name"]):
            raise BadRequest(
                f"'{image['name']}' is not a valid image name (lower-case letters, digits and "
                "the separators . _ - /)",
                {"image": image},
            )
        if not registry.valid_tag(image["tag"]):
            raise BadRequest(
                f"'{image['tag']}' is not a valid image tag (letters, digits, _ . -; at most "
                "128 characters)",
                {"image": image},
            )
        if image in images:
            raise BadRequest(f"Image {label} is listed more than once", {"image": image})
        images.append(image)
    return images


def _check_images_exist(model: Model, images: list[dict[str, str]]) -> None:
    """Every image must be in the registry. Only called for images a release newly names, so
    editing the notes of an old release does not depend on the registry."""
    if not images:
        return
    try:
        missing = [i for i in images if not registry.tag_exists(model.pk, i["name"], i["tag"])]
    except registry.RegistryNotConfigured as exc:
        raise BadRequest(
            "This instance has no Docker registry, so a release cannot name images"
        ) from exc
    except registry.RegistryUnavailable as exc:
        raise RegistryDown(
            "The registry could not be reached to check the release's images; try again later"
        ) from exc
    if missing:
        raise BadRequest(
            "These images do not exist in the registry: "
            + ", ".join(f"{i['name']}:{i['tag']}" for i in missing),
            {"missingImages": missing},
        )


def _check_kind(model: Model) -> None:
    if model.kind == EntryKind.DATA_CARD:
        raise BadRequest("Data cards do not have releases", {"modelId": model.pk})


def _semver_taken(model: Model, version: Version) -> Release | None:
    """A release (live or soft-deleted) with the same precedence as ``version``."""
    return (
        Release.all_objects.filter(
            model=model,
            major=version.major,
            minor_version=version.minor,
            patch=version.patch,
            prerelease=version.prerelease_text,
        )
        .only("semver", "deleted_at")
        .first()
    )


def _run_published_hooks(release: Release) -> None:
    for hook in RELEASE_PUBLISHED:
        try:
            hook(release)
        except Exception:
            log.exception("Release published hook %r failed for %s", hook, release)


def _on_publish(release: Release) -> None:
    transaction.on_commit(lambda: _run_published_hooks(release))


def _write_files(release: Release, files: Iterable[File]) -> None:
    ReleaseFile.objects.filter(release=release).delete()
    # Insertion order is the order the caller listed the files in; selectors keep it.
    ReleaseFile.objects.bulk_create(ReleaseFile(release=release, file=f) for f in files)


# --- create and update ------------------------------------------------------------------------


def release_problems(
    *,
    model: Model,
    semver: Any = None,
    model_card_version: Any = None,
    file_ids: Any = None,
    images: Any = None,
    known_images: Collection[dict[str, str]] = (),
) -> dict[str, BailoError]:
    """Every reason ``release_create`` (or an update) would refuse these values, by the field it
    is about (``semver``, ``modelCardVersion``, ``fileIds``, ``images``), so a form can show
    them all in one round. Only the values given are checked; images in ``known_images`` (those
    a release already names) need not be in the registry. Reads only: the service checks again
    when it writes."""
    problems: dict[str, BailoError] = {}

    def collect(name: str, check_value: Callable[[], object]) -> None:
        try:
            check_value()
        except BailoError as exc:
            problems[name] = exc

    if semver is not None:

        def semver_free() -> None:
            version = _clean_semver(semver)
            taken = _semver_taken(model, version)
            if taken is not None:
                raise Conflict(
                    f"This model already has a release {taken.semver}"
                    if taken.deleted_at is None
                    else f"Version {taken.semver} belonged to a release that was deleted; a "
                    "deleted release's version cannot be reused. Choose another version.",
                    {"semver": taken.semver},
                )

        collect("semver", semver_free)
    collect("modelCardVersion", lambda: _card_version(model, model_card_version))
    if file_ids is not None:
        collect("fileIds", lambda: _clean_files(model, file_ids))
    if images is not None:

        def images_exist() -> None:
            cleaned = _clean_images(model, images)
            _check_images_exist(model, [i for i in cleaned if i not in known_images])

        collect("images", images_exist)
    return problems


def release_create(
    *,
    actor: Actor,
    model: Model,
    semver: Any,
    notes: Any,
    minor: Any = False,
    draft: Any = False,
    model_card_version: Any = None,
    file_ids: Any = (),
    images: Any = (),
) -> Release:
    """Create a release of ``model`` (owners and contributors).

    The semver must be valid and never used before on this entry, not even by a deleted
    release; the files must be complete files of this entry with distinct names; the card
    version defaults to the current card.
    """
    check(actor, Action.RELEASE_CREATE, model)
    _check_kind(model)
    version = _clean_semver(semver)
    notes = _clean_notes(notes)
    minor = _clean_flag(minor, "minor")
    draft = _clean_flag(draft, "draft")
    card_version = _card_version(model, model_card_version)
    files = _clean_files(model, list(file_ids) if isinstance(file_ids, tuple) else file_ids)
    image_refs = _clean_images(model, images)
    _check_images_exist(model, image_refs)

    with transaction.atomic():
        # Locking the entry serialises release creation per entry, so two requests for
        # 1.0.0+a and 1.0.0+b (equal versions, different strings) cannot both pass the check.
        Model.objects.select_for_update().filter(pk=model.pk).first()
        taken = _semver_taken(model, version)
        if taken is not None:
            if taken.deleted_at is not None:
                raise Conflict(
                    f"Version {taken.semver} belonged to a release that was deleted; a deleted "
                    "release's version cannot be reused. Choose another version.",
                    {"modelId": model.pk, "semver": taken.semver},
                )
            raise Conflict(
                f"This model already has a release {taken.semver}",
                {"modelId": model.pk, "semver": taken.semver},
            )
        release = Release(
            model=model,
            semver=str(version),
            major=version.major,
            minor_version=version.minor,
            patch=version.patch,
            prerelease=version.prerelease_text,
            notes=notes,
            is_minor=minor,
            draft=draft,
            model_card_version=card_version,
            images=image_refs,
            created_by=actor.user if actor.user.is_authenticated else None,
        )
        try:
            with transaction.atomic():
                release.save(force_insert=True)
        except IntegrityError as exc:
            raise Conflict(
                f"This model already has a release {release.semver}",
                {"modelId": model.pk, "semver": release.semver},
            ) from exc
        _write_files(release, files)
        audit_record(
            action=AuditAction.RELEASE_CREATE,
            actor=actor.user,
            subject=f"{model.pk}/{release.semver}",
            detail={
                "modelId": model.pk,
                "semver": release.semver,
                "minor": minor,
                "draft": draft,
                "fileIds": [f.pk for f in files],
                "images": image_refs,
            },
        )
        if not minor and not draft:
            _on_publish(release)
        fire_after_commit(RELEASE_CREATED, release)
    return release


UPDATABLE = frozenset({"notes", "draft", "modelCardVersion", "fileIds", "images"})
IMMUTABLE = frozenset({"semver", "minor"})


def release_update(*, actor: Actor, release: Release, changes: dict[str, Any]) -> Release:
    """Change a release's notes, files, images, card version or publish a draft (owners).

    Semver and minor never change; a published release never goes back to draft.
    """
    model = release.model
    check(actor, Action.RELEASE_EDIT, model)
    if not isinstance(changes, dict):
        raise BadRequest("The changes must be an object")
    unknown = sorted(set(changes) - UPDATABLE - IMMUTABLE)
    if unknown:
        raise BadRequest(
            f"Unknown field(s): {', '.join(unknown)}. A release update may change: "
            + ", ".join(sorted(UPDATABLE))
        )
    if "semver" in changes:
        try:
            same = parse_version(changes["semver"]) == parse_version(release.semver)
        except SemverError:
            same = False
        if not same:
            raise BadRequest(
                f"The version of a release cannot change (it is {release.semver}); create a "
                "new release instead",
                {"semver": release.semver},
            )
    if "minor" in changes and changes["minor"] != release.is_minor:
        raise BadRequest(
            "Whether a release is minor is fixed when it is created",
            {"minor": release.is_minor},
        )

    cleaned: dict[str, Any] = {}
    if "notes" in changes:
        cleaned["notes"] = _clean_notes(changes["notes"])
    if "draft" in changes:
        draft = _clean_flag(changes["draft"], "draft")
        if draft and not release.draft:
            raise BadRequest(
                f"Release {release.semver} is published; a published release cannot go back "
                "to draft",
                {"semver": release.semver},
            )
        cleaned["draft"] = draft
    if "modelCardVersion" in changes:
        cleaned["model_card_version"] = _card_version(model, changes["modelCardVersion"])
    files = _clean_files(model, changes["fileIds"]) if "fileIds" in changes else None
    if "images" in changes:
        cleaned["images"] = _clean_images(model, changes["images"])
        _check_images_exist(model, [i for i in cleaned["images"] if i not in release.images])

    with transaction.atomic():
        locked = Release.objects.select_for_update().get(pk=release.pk)
        publishing = locked.draft and cleaned.get("draft") is False
        for name, value in cleaned.items():
            setattr(locked, name, value)
        locked.save()
        if files is not None:
            _write_files(locked, files)
        detail: dict[str, Any] = {"modelId": model.pk, "semver": locked.semver}
        detail.update({k: changes[k] for k in UPDATABLE if k in changes})
        audit_record(
            action=AuditAction.RELEASE_UPDATE,
            actor=actor.user,
            subject=f"{model.pk}/{locked.semver}",
            detail=detail,
        )
        if publishing and not locked.is_minor:
            _on_publish(locked)
        fire_after_commit(RELEASE_UPDATED, locked)
    return locked
