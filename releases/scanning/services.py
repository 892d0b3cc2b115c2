"""Scanning files: recording results, rescans, retries, and the download rule for findings.

Each (file, tool) has one ``ScanResult`` row: ``inProgress`` while a scan runs (``last_run_at`` is
then the start), then ``complete`` (with findings, maybe none), ``skipped`` (the tool does not scan
such files) or ``error`` (with the reason). A scanner that is down leaves ``error``; the periodic
retry (``scan_retry_due``) runs it again a few times, and an owner may ask for a rescan after
Bailo's cool-down.

A virus finding blocks downloads; ModelScan findings block only when
``MODELSCAN_BLOCKS_DOWNLOAD`` is true. With ``SCAN_BLOCK_UNTIL_CLEAN`` (the default), a file is also
refused while a scan that could block it has not completed: in progress, or errored (the scanner
was down). Errored scans are retried with a growing delay, and their owner may rescan at once:
the rescan cool-down counts from completed scans only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.audit import AuditAction, audit_record
from core.errors import BadRequest, NotFound, NotImplementedYet
from core.hooks import Hook
from core.ports import scanners as scanning
from core.ports.storage import blob_store
from models_app.policy import Action, Actor, check, get_model_for
from releases.models import File, ScanResult, ScanState

log = logging.getLogger(__name__)

# Asked to scan a file (with only the given tools, or all): the scan task listens here and puts
# the scan on the ``scans`` queue (releases/apps.py), so the workers run it, not the caller.
SCAN_REQUESTED: Hook[Callable[[str, list[str] | None], None]] = Hook("scan requested")

RESCAN_DELAY = timedelta(minutes=60)  # Bailo's retryDelayInMinutes
RETRY_ERRORS_AFTER = timedelta(minutes=15)
STUCK_AFTER = timedelta(minutes=30)  # Bailo lets a stuck inProgress scan be overwritten then
MAX_ATTEMPTS = 5


def rescan_delay() -> timedelta:
    minutes = getattr(settings, "FILE_SCAN_RESCAN_DELAY_MINUTES", None)
    return RESCAN_DELAY if minutes is None else timedelta(minutes=float(minutes))


def _retry_errors_after() -> timedelta:
    minutes = getattr(settings, "FILE_SCAN_RETRY_AFTER_MINUTES", None)
    return RETRY_ERRORS_AFTER if minutes is None else timedelta(minutes=float(minutes))


def _max_attempts() -> int:
    return int(getattr(settings, "FILE_SCAN_MAX_ATTEMPTS", MAX_ATTEMPTS))


def modelscan_blocks_download() -> bool:
    return bool(getattr(settings, "MODELSCAN_BLOCKS_DOWNLOAD", False))


def block_until_clean() -> bool:
    return bool(getattr(settings, "SCAN_BLOCK_UNTIL_CLEAN", True))


# Errored scans wait RETRY_ERRORS_AFTER before their first retry, twice as long before each next
# one, and never longer than this.
RETRY_ERRORS_AT_MOST_AFTER = timedelta(hours=6)


def retry_delay(errors: int) -> timedelta:
    """How long after its last run a scan that has errored ``errors`` times in a row is retried."""
    delay = _retry_errors_after() * (2 ** max(0, errors - 1))
    return min(delay, max(RETRY_ERRORS_AT_MOST_AFTER, _retry_errors_after()))


# --- running scans --------------------------------------------------------------------------------


def _errors_so_far(row: ScanResult | None) -> int:
    """How many runs in a row ended in error (kept across the inProgress that follows)."""
    if row is None:
        return 0
    return int((row.additional_info or {}).get("errorCount", 0) or 0)


def scans_mark_in_progress(*, file: File, tools: Iterable[str]) -> None:
    """Write ``inProgress`` rows now, so listings show the scan before a worker takes it."""
    now = timezone.now()
    for tool in tools:
        previous = ScanResult.objects.filter(file=file, tool_name=tool).first()
        ScanResult.objects.update_or_create(
            file=file,
            tool_name=tool,
            defaults={
                "artefact_kind": "file",
                "state": ScanState.IN_PROGRESS,
                "summary": [],
                "additional_info": {"errorCount": _errors_so_far(previous)},
                "last_run_at": now,
            },
        )


def _record(
    file: File, scanner: scanning.Scanner, version: str, outcome: scanning.ScanOutcome
) -> ScanResult:
    previous = ScanResult.objects.filter(file=file, tool_name=scanner.name).first()
    info = dict(outcome.additional_info)
    if outcome.state == ScanState.ERROR:
        info["errorCount"] = _errors_so_far(previous) + 1
    row, _ = ScanResult.objects.update_or_create(
        file=file,
        tool_name=scanner.name,
        defaults={
            "artefact_kind": "file",
            "scanner_version": version or (previous.scanner_version if previous else ""),
            "state": outcome.state,
            "summary": outcome.summary,
            "additional_info": info,
            "last_run_at": timezone.now(),
        },
    )
    return row


def file_scan_run(*, file_id: str, tools: list[str] | None = None) -> list[ScanResult]:
    """Run each configured scanner (or only ``tools``) on a complete file and store the results.

    Never raises for a scanner's failure: that is recorded as ``error`` with the reason. Safe to
    run twice: each run overwrites the rows it writes.
    """
    # A file beneath a deleted entry is gone, whether or not it is hidden yet.
    file = File.objects.filter(pk=file_id, complete=True, model__deleted_at__isnull=True).first()
    if file is None:
        log.info("Not scanning file %s: it is gone or not complete", file_id)
        return []
    scanners = [s for s in scanning.configured_scanners() if tools is None or s.name in tools]
    scans_mark_in_progress(file=file, tools=[s.name for s in scanners])
    store = blob_store()
    rows = []
    for scanner in scanners:
        version = scanning.scanner_version(scanner)
        outcome = scanning.run_scanner(
            scanner, file.name, lambda: store.open(file.storage_key), label=f"file {file.pk}"
        )
        log.info("%s on file %s: %s", scanner.name, file.pk, outcome.state)
        rows.append(_record(file, scanner, version, outcome))
    return rows


def scans_fail_in_progress(*, file_id: str, reason: str) -> None:
    """When the task itself dies (time limit), leave ``error`` rather than a stuck inProgress."""
    now = timezone.now()
    for row in ScanResult.objects.filter(file_id=file_id, state=ScanState.IN_PROGRESS):
        row.state = ScanState.ERROR
        row.summary = [reason]
        row.additional_info = {"error": reason, "errorCount": _errors_so_far(row) + 1}
        row.last_run_at = now
        row.save(update_fields=["state", "summary", "additional_info", "last_run_at"])


def _enqueue(file_id: str, tools: list[str] | None = None) -> None:
    for request_scan in SCAN_REQUESTED:
        request_scan(file_id, tools)


def scan_on_completion(file: File) -> None:
    """``FILE_COMPLETED`` listener (runs after the upload's commit): queue the scans."""
    scanners = scanning.configured_scanners()
    if not scanners:
        return
    scans_mark_in_progress(file=file, tools=[s.name for s in scanners])
    _enqueue(file.pk)


def scan_retry_due() -> dict[str, list[str]]:
    """Queue again the scans that errored a while ago (a few times at most) and those stuck in
    progress (a worker died). Returns ``{file_id: [tool names]}`` that were queued.

    Queued rows turn ``inProgress`` from now, so the next sweep does not queue them again while
    they wait for a worker.
    """
    now = timezone.now()
    due = ScanResult.objects.filter(
        file__isnull=False,
        file__complete=True,
        file__deleted_at__isnull=True,
        file__model__deleted_at__isnull=True,
    ).filter(
        Q(state=ScanState.ERROR, last_run_at__lt=now - _retry_errors_after())
        | Q(state=ScanState.IN_PROGRESS, last_run_at__lt=now - STUCK_AFTER)
    )
    configured = {s.name for s in scanning.configured_scanners()}
    queued: dict[str, list[str]] = {}
    row_ids: list[int] = []
    for row in due.order_by("last_run_at")[:500]:
        if row.tool_name not in configured or row.file_id is None:
            continue
        if row.state == ScanState.ERROR:
            errors = _errors_so_far(row)
            if errors >= _max_attempts():
                continue
            # Backoff: a scanner that stays down is not asked again every few minutes.
            if row.last_run_at and row.last_run_at + retry_delay(errors) > now:
                continue
        queued.setdefault(row.file_id, []).append(row.tool_name)
        row_ids.append(row.pk)
    ScanResult.objects.filter(pk__in=row_ids).update(
        state=ScanState.IN_PROGRESS, summary=[], last_run_at=now
    )
    for file_id, tools in queued.items():
        _enqueue(file_id, tools)
    return queued


# --- rescans and information ----------------------------------------------------------------------


def file_rescan(*, actor: Actor, model_id: str, file_id: str) -> File:
    """An owner asks for a new scan of a file; refused within the cool-down of the last run."""
    model = get_model_for(actor, model_id)
    file = File.objects.filter(model=model, pk=file_id, complete=True).first()
    if file is None:
        raise NotFound(f"File {file_id} not found", {"modelId": model_id, "fileId": file_id})
    check(actor, Action.FILE_RESCAN, model)
    if not file.size:
        raise BadRequest("Cannot run a scan on an empty file", {"fileId": file_id})
    scanners = scanning.configured_scanners()
    if not scanners:
        raise BadRequest("No file scanners are configured on this instance")
    delay = rescan_delay()
    rows = ScanResult.objects.filter(file=file)
    # The cool-down protects the scanners from repeated work; a scan that errored did no work,
    # and its file may be blocked until it completes, so its owner may ask again at once.
    errored = rows.filter(state=ScanState.ERROR).exists()
    last = (
        rows.filter(state=ScanState.COMPLETE, last_run_at__isnull=False)
        .order_by("-last_run_at")
        .values_list("last_run_at", flat=True)
        .first()
    )
    if not errored and last is not None and last + delay > timezone.now():
        wait = max(1, round((last + delay - timezone.now()).total_seconds() / 60))
        raise BadRequest(
            f"Please wait {wait} minute{'s' if wait != 1 else ''} before asking for another "
            f"scan of {file.name}",
            {"fileId": file_id, "retryAfterMinutes": wait},
        )
    with transaction.atomic():
        scans_mark_in_progress(file=file, tools=[s.name for s in scanners])
        audit_record(
            action=AuditAction.FILE_RESCAN,
            actor=actor.user,
            subject=model.pk,
            detail={"fileId": file.pk},
        )
        transaction.on_commit(lambda: _enqueue(file.pk))
    return file


def image_rescan(*, actor: Actor, model_id: str, name: str, tag: str) -> None:
    get_model_for(actor, model_id)
    raise NotImplementedYet(
        "Image scanning (Trivy) is not available on this instance: only files are scanned",
        {"modelId": model_id, "name": name, "tag": tag},
    )


def filescanning_info() -> dict[str, Any]:
    """Bailo's ``{"scanners": [{toolName, scannerVersion, artefactKind}]}``.

    Each scanner also says whether it answers now (``available``, and ``message`` when it does
    not); Bailo's client reads only its own three keys.
    """
    return {"scanners": scanning.scanners_info()}


# --- the download rule ----------------------------------------------------------------------------


def download_blocker(file: File) -> str | None:
    """``DOWNLOAD_BLOCKERS`` listener: why this file may not be downloaded, if a finding says so,
    or (``SCAN_BLOCK_UNTIL_CLEAN``) a scan that could find one has not completed."""
    tools = [scanning.CLAMAV_TOOL]
    if modelscan_blocks_download():
        tools.append(scanning.MODELSCAN_TOOL)
    rows = list(ScanResult.objects.filter(file=file, tool_name__in=tools))
    for row in rows:
        if row.state != ScanState.COMPLETE:
            continue
        findings = [f for f in row.summary if isinstance(f, dict)]
        if not findings:
            continue
        if row.tool_name == scanning.CLAMAV_TOOL:
            viruses = ", ".join(str(f.get("virus")) for f in findings)
            return f"{file.name} cannot be downloaded: {row.tool_name} found a virus ({viruses})"
        worst = max((str(f.get("severity")) for f in findings), key=_severity_rank)
        return (
            f"{file.name} cannot be downloaded: {row.tool_name} found unsafe content "
            f"({len(findings)} finding{'s' if len(findings) != 1 else ''}, worst {worst})"
        )
    if block_until_clean():
        for row in rows:
            if row.state == ScanState.ERROR:
                return (
                    f"{file.name} cannot be downloaded until its {row.tool_name} scan completes: "
                    "the scan could not run. It is retried automatically; an owner can also "
                    "ask for a rescan"
                )
            if row.state == ScanState.IN_PROGRESS:
                return (
                    f"{file.name} cannot be downloaded until its {row.tool_name} scan completes: "
                    "it is being scanned, try again shortly"
                )
    return None


_SEVERITY_RANK = {"unknown": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


def _severity_rank(severity: str) -> int:
    return _SEVERITY_RANK.get(severity, 0)
