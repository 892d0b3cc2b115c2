"""Reads for releases, permission-filtered, and their JSON in Bailo's shape.

Releases order by semantic-version precedence (2.0.0 above 1.10.0 above 1.9.0, a release above
its pre-releases), newest first. Drafts are visible only to people allowed ``RELEASE_VIEW_DRAFT``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Prefetch, QuerySet

from core.errors import BadRequest, NotFound
from models_app.models import Model
from models_app.policy import Action, Actor, check, visible_to
from models_app.selectors import iso
from releases.files.selectors import file_json
from releases.models import File, Release, ReleaseFile, ScanResult
from releases.semver import Range, SemverError, parse_range, parse_version


def _release_files_prefetch() -> Prefetch:
    """A release's live files, in the order they were listed, with their scan results."""
    return Prefetch(
        "releasefile_set",
        queryset=ReleaseFile.objects.filter(file__deleted_at__isnull=True)
        .select_related("file")
        .prefetch_related(Prefetch("file__scans", queryset=ScanResult.objects.order_by("id")))
        .order_by("id"),
        to_attr="live_release_files",
    )


def _releases_of(actor: Actor, model: Model) -> QuerySet[Release]:
    """Published releases for those who may view releases, drafts only for those who may see
    drafts: both through the policy's one restriction."""
    releases = Release.objects.filter(model=model)
    published = visible_to(actor, Action.RELEASE_VIEW, releases.filter(draft=False))
    drafts = visible_to(actor, Action.RELEASE_VIEW_DRAFT, releases.filter(draft=True))
    return (
        (published | drafts)
        .select_related("created_by", "model")
        .prefetch_related(_release_files_prefetch())
    )


def release_list_visible(
    *, actor: Actor, model: Model, query: Range | None = None
) -> list[Release]:
    """The releases of ``model`` that ``actor`` may see, newest version first, optionally only
    those in the version range ``query``. Unknown or invisible entries raise ``NotFound``."""
    check(actor, Action.RELEASE_VIEW, model)
    releases = list(_releases_of(actor, model))
    if query is not None:
        releases = [r for r in releases if query.contains(parse_version(r.semver))]
    releases.sort(key=lambda r: parse_version(r.semver).key, reverse=True)
    return releases


def parse_semver_query(raw: str | None) -> Range | None:
    """``querySemver`` as a range; ``None`` when absent. Bad ranges raise ``BadRequest``."""
    if raw is None:
        return None
    try:
        return parse_range(raw)
    except SemverError as exc:
        raise BadRequest(
            f"querySemver is not a valid version range: {exc}", {"querySemver": raw}
        ) from exc


def release_get_visible(*, actor: Actor, model: Model, semver: str) -> Release:
    """One release by version (a leading ``v`` and build metadata do not matter).

    A release that does not exist and a draft the actor may not see both raise ``NotFound``.
    """
    check(actor, Action.RELEASE_VIEW, model)
    try:
        version = parse_version(semver)
    except SemverError as exc:
        raise BadRequest(str(exc), {"semver": semver}) from exc
    release = (
        _releases_of(actor, model)
        .filter(
            major=version.major,
            minor_version=version.minor,
            patch=version.patch,
            prerelease=version.prerelease_text,
        )
        .first()
    )
    if release is None:
        raise NotFound(
            f"Release {version} of model {model.pk} not found",
            {"modelId": model.pk, "semver": str(version)},
        )
    return release


def release_files(release: Release) -> list[File]:
    """The live files of a release loaded by these selectors, in their listed order."""
    rows: Iterable[ReleaseFile]
    if hasattr(release, "live_release_files"):
        rows = release.live_release_files
    else:
        rows = (
            ReleaseFile.objects.filter(release=release, file__deleted_at__isnull=True)
            .select_related("file")
            .order_by("id")
        )
    return [row.file for row in rows]


def complete_files_of(model: Model) -> QuerySet[File]:
    """The entry's files that a release may ship, by name."""
    return File.objects.filter(model=model, complete=True).order_by("name", "created_at")


# --- JSON ---------------------------------------------------------------------------------------


def release_json(release: Release, *, with_files: bool = False) -> dict[str, Any]:
    """A release as Bailo's API returns it; ``with_files`` adds the ``files`` objects."""
    files = release_files(release)
    body: dict[str, Any] = {
        "modelId": release.model_id,
        "semver": release.semver,
        "notes": release.notes,
        "minor": release.is_minor,
        "draft": release.draft,
        "modelCardVersion": release.model_card_version,
        "fileIds": [f.pk for f in files],
        "images": release.images,
        "createdBy": release.created_by.get_username() if release.created_by else "",
        "createdAt": iso(release.created_at),
        "updatedAt": iso(release.updated_at),
    }
    if with_files:
        body["files"] = [file_json(f) for f in files]
    return body
