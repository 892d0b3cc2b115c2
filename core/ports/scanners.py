"""The file-scanner port: each scanner reads a file's bytes and reports a state and findings.

Adapters: ``ClamAVScanner`` streams the bytes to clamd (``INSTREAM`` over TCP) and
``ModelScanScanner`` runs ModelScan on a temporary copy (it needs a path; this runs on a worker,
never in the web process). Which scanners run comes from the ``FILE_SCANNERS`` setting (Bailo's
kinds ``clamAV`` and ``modelScan``); by default ClamAV runs when ``CLAMD_HOST`` is set and
ModelScan always.

Findings follow Bailo's scan summary: ClamAV ``{"virus": name}``; ModelScan ``{"severity",
"vulnerabilityDescription"}`` with lower-case severities. Errors and skips carry their reason as a
string, as Bailo does.
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any, Protocol, TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

log = logging.getLogger(__name__)

CLAMAV = "clamAV"
MODELSCAN = "modelScan"
CLAMAV_TOOL = "Clam AV"
MODELSCAN_TOOL = "ModelScan"
DEFAULT_TIMEOUT = 900.0
COPY_CHUNK = 1024 * 1024

T = TypeVar("T")


class ScanState(models.TextChoices):
    """Where a scan stands, in Bailo's words (also the stored state of a scan result)."""

    NOT_SCANNED = "notScanned", "Not scanned"
    IN_PROGRESS = "inProgress", "In progress"
    COMPLETE = "complete", "Complete"
    SKIPPED = "skipped", "Skipped"
    ERROR = "error", "Error"


@dataclass(frozen=True)
class ScanOutcome:
    state: str
    summary: list[Any] = field(default_factory=list)
    additional_info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def error(cls, message: str, **info: Any) -> ScanOutcome:
        return cls(ScanState.ERROR.value, [message], {"error": message, **info})

    @classmethod
    def skipped(cls, message: str, **info: Any) -> ScanOutcome:
        return cls(ScanState.SKIPPED.value, [message], {"reason": message, **info})


class Scanner(Protocol):
    """One scanning tool. ``name`` is the tool name stored and shown (Bailo's ``toolName``)."""

    kind: str
    name: str

    def version(self) -> str:
        """The tool's version; raises when the tool cannot be reached."""
        ...

    def supports(self, name: str) -> bool:
        """Whether the tool scans files called like ``name`` (it skips the others)."""
        ...

    def scan(self, chunks: Iterable[bytes], *, name: str) -> ScanOutcome:
        """Scan the bytes of a file called ``name``. May raise; callers record an error."""
        ...


class ScanTimeout(Exception):
    pass


def scan_timeout() -> float:
    return float(getattr(settings, "FILE_SCAN_TIMEOUT", DEFAULT_TIMEOUT))


# --- ClamAV ---------------------------------------------------------------------------------------


class _ChunkReader:
    """A read-only file object over an iterator of chunks: clamd's ``instream`` reads 1 KiB at a
    time from a file object. Reads slice the current chunk at an offset, so each byte is copied
    once however small the reads, and the whole file is never held at once."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._current = b""
        self._offset = 0

    def read(self, size: int = -1) -> bytes:
        out = bytearray()
        while size is None or size < 0 or len(out) < size:
            if self._offset >= len(self._current):
                try:
                    self._current, self._offset = next(self._chunks), 0
                except StopIteration:
                    break
                continue
            end = len(self._current)
            if size is not None and size >= 0:
                end = min(end, self._offset + size - len(out))
            out += self._current[self._offset : end]
            self._offset = end
        return bytes(out)


_CLAMAV_VERSION = re.compile(r"ClamAV\s+([\d.]+)")


class ClamAVScanner:
    kind = CLAMAV
    name = CLAMAV_TOOL

    def __init__(self, host: str, port: int, timeout: float | None = None) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout if timeout is not None else scan_timeout()

    def _socket(self, timeout: float | None = None) -> Any:
        import clamd

        return clamd.ClamdNetworkSocket(self.host, self.port, timeout=timeout or self.timeout)

    def version(self) -> str:
        raw = str(self._socket(timeout=min(self.timeout, 5.0)).version())
        match = _CLAMAV_VERSION.search(raw)
        return match.group(1) if match else raw

    def supports(self, name: str) -> bool:
        return True

    def scan(self, chunks: Iterable[bytes], *, name: str) -> ScanOutcome:
        import clamd

        try:
            answer = self._socket().instream(_ChunkReader(chunks))
        except clamd.BufferTooLongError:
            return ScanOutcome.error(
                "The file is larger than clamd accepts in a stream (its StreamMaxLength)"
            )
        except (clamd.ClamdError, OSError) as exc:
            return ScanOutcome.error(
                f"Clam AV could not be reached at {self.host}:{self.port}: {exc}"
            )
        status, reason = (answer or {}).get("stream", ("ERROR", "no answer from clamd"))
        if status == "FOUND":
            return ScanOutcome(ScanState.COMPLETE.value, [{"virus": reason}], {"isInfected": True})
        if status == "OK":
            return ScanOutcome(ScanState.COMPLETE.value, [], {"isInfected": False})
        return ScanOutcome.error(f"clamd could not scan the file: {reason}")


# --- ModelScan ------------------------------------------------------------------------------------


@cache
def modelscan_extensions() -> frozenset[str]:
    """Every file extension ModelScan's default settings scan, archives included."""
    from modelscan.settings import DEFAULT_SETTINGS

    extensions: set[str] = set(DEFAULT_SETTINGS.get("supported_zip_extensions", []))
    for scanner in DEFAULT_SETTINGS["scanners"].values():
        if scanner.get("enabled"):
            extensions.update(scanner.get("supported_extensions", []))
    return frozenset(e.lower() for e in extensions)


def _suffix(name: str) -> str:
    return PurePosixPath(name).suffix.lower()


class ModelScanScanner:
    kind = MODELSCAN
    name = MODELSCAN_TOOL

    def version(self) -> str:
        from modelscan import __version__

        return str(__version__)

    def supports(self, name: str) -> bool:
        return _suffix(name) in modelscan_extensions()

    def scan(self, chunks: Iterable[bytes], *, name: str) -> ScanOutcome:
        from modelscan.modelscan import ModelScan
        from modelscan.settings import DEFAULT_SETTINGS

        suffix = _suffix(name)
        if suffix not in modelscan_extensions():
            return ScanOutcome.skipped(f"ModelScan does not scan '{suffix or name}' files")
        with tempfile.TemporaryDirectory(prefix="bailo-modelscan-") as directory:
            # Only the extension matters to ModelScan; the user's file name never reaches the
            # filesystem.
            path = Path(directory) / f"artefact{suffix}"
            with path.open("wb") as out:
                for chunk in chunks:
                    out.write(chunk)
            report = ModelScan(settings=DEFAULT_SETTINGS).scan(str(path))
        return modelscan_outcome(report, name=name)


def _severity(value: Any) -> str:
    severity = str(value or "unknown").lower()
    return severity if severity in {"low", "medium", "high", "critical"} else "unknown"


def modelscan_outcome(report: dict[str, Any], *, name: str) -> ScanOutcome:
    """ModelScan's report as a scan outcome. Missing optional dependencies (h5py, tensorflow)
    make a skip, not an error: scanning again would not help."""
    summary = report.get("summary") or {}
    info = {
        "modelscanVersion": summary.get("modelscan_version"),
        "totalIssuesBySeverity": summary.get("total_issues_by_severity"),
        "scanned": summary.get("scanned"),
        "skipped": summary.get("skipped"),
        "issues": report.get("issues") or [],
        "errors": report.get("errors") or [],
    }
    findings = [
        {
            "severity": _severity(issue.get("severity")),
            "vulnerabilityDescription": str(issue.get("description") or "Unsafe content"),
        }
        for issue in report.get("issues") or []
    ]
    errors = report.get("errors") or []
    hard_errors = [e for e in errors if str(e.get("category")) != "DEPENDENCY"]
    if hard_errors:
        message = "; ".join(str(e.get("description") or e) for e in hard_errors)
        return ScanOutcome(
            ScanState.ERROR.value, [f"ModelScan could not scan {name}: {message}"], info
        )
    total_scanned = int((summary.get("scanned") or {}).get("total_scanned") or 0)
    if findings or total_scanned:
        return ScanOutcome(ScanState.COMPLETE.value, findings, info)
    if errors:
        message = "; ".join(str(e.get("description") or e) for e in errors)
        return ScanOutcome(
            ScanState.SKIPPED.value, [f"ModelScan cannot scan this format here: {message}"], info
        )
    return ScanOutcome(
        ScanState.SKIPPED.value, ["ModelScan found nothing it could scan in this file"], info
    )


# --- configuration and running --------------------------------------------------------------------


def configured_kinds() -> list[str]:
    kinds = getattr(settings, "FILE_SCANNERS", None)
    if kinds is None:
        kinds = ([CLAMAV] if settings.CLAMD_HOST else []) + [MODELSCAN]
    if isinstance(kinds, str):
        kinds = [k.strip() for k in kinds.split(",") if k.strip()]
    unknown = sorted(set(kinds) - {CLAMAV, MODELSCAN})
    if unknown:
        raise ImproperlyConfigured(
            f"FILE_SCANNERS names unknown scanners {unknown}: use {CLAMAV} and {MODELSCAN}"
        )
    return list(dict.fromkeys(kinds))


def configured_scanners() -> list[Scanner]:
    scanners: list[Scanner] = []
    for kind in configured_kinds():
        if kind == CLAMAV:
            if not settings.CLAMD_HOST:
                raise ImproperlyConfigured("FILE_SCANNERS names clamAV but CLAMD_HOST is not set")
            scanners.append(ClamAVScanner(settings.CLAMD_HOST, settings.CLAMD_PORT))
        elif kind == MODELSCAN:
            scanners.append(ModelScanScanner())
    return scanners


def call_with_timeout(function: Callable[[], T], timeout: float) -> T:
    """Run ``function`` in a daemon thread and wait at most ``timeout`` seconds.

    A scanner that hangs cannot be interrupted from Python; it is abandoned (the thread ends with
    the process or when the tool gives up) and the caller records a timeout.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = function()
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc

    thread = threading.Thread(target=target, name="bailo-file-scan", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise ScanTimeout(f"the scan did not finish within {timeout:g} seconds")
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def run_scanner(
    scanner: Scanner, name: str, open_chunks: Callable[[], Iterable[bytes]], *, label: str = ""
) -> ScanOutcome:
    """Scan one file with one scanner. Never raises: every failure becomes an ``error`` outcome
    with the reason."""
    if not scanner.supports(name):
        return ScanOutcome.skipped(f"{scanner.name} does not scan files like {name}")
    try:
        return call_with_timeout(lambda: scanner.scan(open_chunks(), name=name), scan_timeout())
    except ScanTimeout as exc:
        return ScanOutcome.error(f"{scanner.name} timed out: {exc}")
    except Exception as exc:
        log.exception("%s failed on %s", scanner.name, label or name)
        return ScanOutcome.error(f"{scanner.name} failed: {type(exc).__name__}: {exc}")


def scanner_version(scanner: Scanner) -> str:
    """The version, or "" when the tool cannot be reached (the scan then records why)."""
    try:
        return scanner.version()
    except Exception as exc:
        log.warning("Could not read the version of %s: %s", scanner.name, exc)
        return ""


def scanners_info() -> list[dict[str, Any]]:
    """Each configured scanner with its version and whether it answers now.

    Every scanner here scans files, so ``artefactKind`` is always ``file`` (Bailo also has image
    scanners, which this instance does not run).
    """
    info = []
    for scanner in configured_scanners():
        entry: dict[str, Any] = {
            "toolName": scanner.name,
            "artefactKind": "file",
            "kind": scanner.kind,
        }
        try:
            entry["scannerVersion"] = scanner.version()
            entry["available"] = True
        except Exception as exc:
            entry["scannerVersion"] = None
            entry["available"] = False
            entry["message"] = f"{type(exc).__name__}: {exc}"
        info.append(entry)
    return info
