"""Reads on files: an entry's files, one file, a release's file by name, and their JSON.

Callers check the entry first (``get_model_for``); listings go through the policy's
``visible_to`` as well, like every list. Listings contain complete files only, with their scans
in one extra query.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from models_app.models import Model
from models_app.policy import Action, Actor, visible_to
from models_app.selectors import iso
from releases.models import File, Release, ScanResult, ScanState

# Worst first: what a file's single scan chip shows.
SCAN_STATE_ORDER = [
    ScanState.IN_PROGRESS,
    ScanState.NOT_SCANNED,
    ScanState.ERROR,
    ScanState.SKIPPED,
    ScanState.COMPLETE,
]


def with_scans(files: QuerySet[File]) -> QuerySet[File]:
    return files.prefetch_related(
        Prefetch("scans", queryset=ScanResult.objects.order_by("tool_name"))
    )


def files_of(actor: Actor, model: Model) -> QuerySet[File]:
    """The entry's complete files the actor may see (the policy's ``visible_to``), newest first,
    with scans prefetched and who uploaded each joined in."""
    files = visible_to(actor, Action.FILE_VIEW, File.objects.filter(model=model, complete=True))
    return with_scans(files).select_related("created_by").order_by("-created_at")


def file_get(model: Model, file_id: str) -> File | None:
    """A complete file of the entry, or None."""
    return with_scans(File.objects.filter(model=model, pk=file_id, complete=True)).first()


def file_get_any(model: Model, file_id: str) -> File | None:
    """A file of the entry whether or not its upload has finished (for uploads and downloads)."""
    return with_scans(File.objects.filter(model=model, pk=file_id)).first()


def file_get_bare(model: Model, file_id: str) -> File | None:
    """A file of the entry, finished or not, without its scan results, attached to ``model``
    (so reading ``file.model`` costs no query)."""
    file = File.objects.filter(model=model, pk=file_id).first()
    if file is not None:
        file.model = model
    return file


def normalise_semver(semver: str) -> str:
    return semver[1:] if semver[:1] in {"v", "V"} else semver


def release_file_get(
    model: Model, semver: str, name: str, *, include_drafts: bool
) -> tuple[Release | None, File | None]:
    """The live release ``semver`` of the entry and its file called ``name`` (either may be None).

    Drafts count only when ``include_drafts`` (the caller may see draft releases).
    """
    releases = Release.objects.filter(model=model, semver=normalise_semver(semver))
    if not include_drafts:
        releases = releases.filter(draft=False)
    release = releases.first()
    if release is None:
        return None, None
    file = with_scans(File.objects.filter(releases=release, name=name, complete=True)).first()
    return release, file


def scan_json(scan: ScanResult) -> dict[str, Any]:
    return {
        "toolName": scan.tool_name,
        "scannerVersion": scan.scanner_version,
        "state": scan.state,
        "summary": scan.summary,
        "lastRunAt": iso(scan.last_run_at),
    }


def file_json(file: File) -> dict[str, Any]:
    """A file in Bailo's shape. Scans come from the prefetch when there is one."""
    return {
        "id": file.pk,
        "_id": file.pk,
        "modelId": file.model_id,
        "name": file.name,
        "size": file.size,
        "mime": file.mime,
        "tags": list(file.tags or []),
        "sha256": file.sha256,
        "complete": file.complete,
        "createdAt": iso(file.created_at),
        "updatedAt": iso(file.updated_at),
        "scanResults": [scan_json(s) for s in file.scans.all()],
    }


def worst_scan_state(file: File) -> str:
    """The state a single chip shows: inProgress > notScanned > error > skipped > complete.

    A file no scanner has looked at yet is ``notScanned``.
    """
    states = {s.state for s in file.scans.all()}
    if not states:
        return ScanState.NOT_SCANNED.value
    for state in SCAN_STATE_ORDER:
        if state in states:
            return state.value
    return ScanState.NOT_SCANNED.value


def finding_count(file: File) -> int:
    """How many findings the file's scans report (viruses, unsafe operators)."""
    return sum(
        len(s.summary) for s in file.scans.all() if s.state == ScanState.COMPLETE and s.summary
    )
