"""File scanning: ClamAV and ModelScan after uploads, download blocking, rescans and retries.

ClamAV tests need the stack's clamd (its test database flags EICAR); ModelScan runs in-process.
"""

from __future__ import annotations

import io
import os
import pickle
import socket
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import clamd
import pytest
from django.test import Client
from django.utils import timezone

from bailo_site.celery import app
from core.ports import scanners as scanning
from models_app.models import Model
from releases.models import File, ScanResult, ScanState
from releases.scanning import services as scan_services
from releases.scanning import tasks as scan_tasks
from releases.scanning.services import download_blocker
from tests.conftest import basic, stack_required

pytestmark = pytest.mark.django_db

CLEAN = b"Nothing to see here: a plain text file.\n"


@pytest.fixture(autouse=True)
def _eager(eager_tasks: None) -> None:
    """Every test here runs queued tasks at once."""


@pytest.fixture
def clamd_up(settings: Any) -> None:
    if not settings.CLAMD_HOST:
        if stack_required():
            pytest.fail("CLAMD_HOST is not set but the stack is required")
        pytest.skip("no clamd configured (the stack starts one)")
    try:
        clamd.ClamdNetworkSocket(settings.CLAMD_HOST, settings.CLAMD_PORT, timeout=3).ping()
    except clamd.ClamdError as exc:
        if stack_required():
            pytest.fail(f"clamd does not answer: {exc}")
        pytest.skip(f"clamd does not answer: {exc}")


@pytest.fixture
def only_modelscan(settings: Any) -> None:
    settings.FILE_SCANNERS = [scanning.MODELSCAN]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def upload(
    client: Client, model: Model, name: str, data: bytes, capture: Any, **headers: Any
) -> dict[str, Any]:
    """Upload through the simple-upload endpoint; the scans run when the upload commits."""
    with capture(execute=True):
        response = client.post(
            f"/api/v2/model/{model.pk}/files/upload/simple?name={name}",
            data=data,
            content_type="application/octet-stream",
            **headers,
        )
    assert response.status_code == 200, response.content
    return dict(response.json()["file"])


def scans(file_id: str) -> dict[str, ScanResult]:
    return {s.tool_name: s for s in ScanResult.objects.filter(file_id=file_id)}


class RunsACommand:
    """A pickle that would run a shell command when loaded."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> Any:
        return (os.system, (self.command,))


# --- after an upload ------------------------------------------------------------------------------


def test_clamav_flags_eicar_and_the_download_is_refused_with_the_reason(
    clamd_up: None,
    owner: Any,
    entry: Model,
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = client_for(owner)
    file = upload(client, entry, "eicar.com", clamd.EICAR, django_capture_on_commit_callbacks)
    clam = scans(file["id"])[scanning.CLAMAV_TOOL]
    assert clam.state == ScanState.COMPLETE
    assert "EICAR" in clam.summary[0]["virus"].upper()
    assert clam.scanner_version and clam.last_run_at is not None

    response = client.get(f"/api/v2/model/{entry.pk}/file/{file['id']}/download")
    assert response.status_code == 403
    message = response.json()["error"]["message"]
    assert "eicar.com cannot be downloaded" in message and "virus" in message

    listed = client.get(f"/api/v2/model/{entry.pk}/files").json()["files"][0]
    clam_json = next(s for s in listed["scanResults"] if s["toolName"] == scanning.CLAMAV_TOOL)
    assert clam_json["state"] == "complete" and clam_json["summary"] == clam.summary


def test_modelscan_flags_a_pickle_that_runs_a_command_without_running_it(
    only_modelscan: None,
    owner: Any,
    entry: Model,
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
    tmp_path: Path,
) -> None:
    marker = tmp_path / "PWNED"
    payload = pickle.dumps(RunsACommand(f"touch {marker}"), protocol=4)
    client = client_for(owner)
    file = upload(client, entry, "model.pkl", payload, django_capture_on_commit_callbacks)
    result = scans(file["id"])[scanning.MODELSCAN_TOOL]
    assert result.state == ScanState.COMPLETE
    assert result.summary == [
        {
            "severity": "critical",
            "vulnerabilityDescription": "Use of unsafe operator 'system' from module 'posix'",
        }
    ]
    assert result.scanner_version == scanning.ModelScanScanner().version()
    assert not marker.exists()
    # ModelScan findings warn by default: the download goes ahead.
    download = client.get(f"/api/v2/model/{entry.pk}/file/{file['id']}/download")
    assert download.status_code == 200
    assert not marker.exists()


def test_modelscan_findings_block_downloads_when_the_setting_says_so(
    only_modelscan: None,
    owner: Any,
    entry: Model,
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
    tmp_path: Path,
) -> None:
    settings.MODELSCAN_BLOCKS_DOWNLOAD = True
    payload = pickle.dumps(RunsACommand(f"touch {tmp_path / 'x'}"), protocol=4)
    client = client_for(owner)
    file = upload(client, entry, "weights.pt.pkl", payload, django_capture_on_commit_callbacks)
    response = client.get(f"/api/v2/model/{entry.pk}/file/{file['id']}/download")
    assert response.status_code == 403
    assert "ModelScan found unsafe content" in response.json()["error"]["message"]
    assert "critical" in response.json()["error"]["message"]


def test_a_clean_file_is_complete_with_no_findings(
    clamd_up: None,
    owner: Any,
    entry: Model,
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = client_for(owner)
    clean_pickle = pickle.dumps({"weights": [0.1, 0.2, 0.3]})
    file = upload(client, entry, "clean.pkl", clean_pickle, django_capture_on_commit_callbacks)
    results = scans(file["id"])
    assert {tool: (r.state, r.summary) for tool, r in results.items()} == {
        scanning.CLAMAV_TOOL: (ScanState.COMPLETE, []),
        scanning.MODELSCAN_TOOL: (ScanState.COMPLETE, []),
    }
    download = client.get(f"/api/v2/model/{entry.pk}/file/{file['id']}/download")
    assert download.status_code == 200


def test_modelscan_skips_formats_it_does_not_read(
    only_modelscan: None,
    owner: Any,
    entry: Model,
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    file = upload(client_for(owner), entry, "notes.txt", CLEAN, django_capture_on_commit_callbacks)
    result = scans(file["id"])[scanning.MODELSCAN_TOOL]
    assert result.state == ScanState.SKIPPED
    assert "does not scan" in result.summary[0]


def test_a_format_whose_modelscan_extra_is_missing_is_skipped_not_failed(
    only_modelscan: None,
    owner: Any,
    entry: Model,
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    file = upload(
        client_for(owner), entry, "model.h5", b"not hdf5", django_capture_on_commit_callbacks
    )
    result = scans(file["id"])[scanning.MODELSCAN_TOOL]
    assert result.state == ScanState.SKIPPED
    assert "h5py" in result.summary[0]


# --- scanners that are down, and the retry --------------------------------------------------------


def test_a_clamd_that_is_down_leaves_an_error_blocks_the_download_but_not_the_upload(
    clamd_up: None,
    owner: Any,
    entry: Model,
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    working_port = settings.CLAMD_PORT
    settings.CLAMD_PORT = closed_port()
    client = client_for(owner)
    file = upload(client, entry, "eicar.com", clamd.EICAR, django_capture_on_commit_callbacks)
    clam = scans(file["id"])[scanning.CLAMAV_TOOL]
    assert clam.state == ScanState.ERROR
    assert "could not be reached" in clam.summary[0]
    assert File.objects.get(pk=file["id"]).complete
    # SCAN_BLOCK_UNTIL_CLEAN (on by default): not downloadable until the virus scan completes.
    refused = client.get(f"/api/v2/model/{entry.pk}/file/{file['id']}/download")
    assert refused.status_code == 403
    assert f"until its {scanning.CLAMAV_TOOL} scan completes" in refused.json()["error"]["message"]

    # Too recent to retry yet.
    assert scan_tasks.retry_failed_scans.delay().get() == {}

    settings.CLAMD_PORT = working_port
    ScanResult.objects.filter(pk=clam.pk).update(last_run_at=timezone.now() - timedelta(minutes=20))
    modelscan_before = scans(file["id"])[scanning.MODELSCAN_TOOL].last_run_at
    queued = scan_tasks.retry_failed_scans.delay().get()
    assert queued == {file["id"]: [scanning.CLAMAV_TOOL]}
    retried = scans(file["id"])
    assert retried[scanning.CLAMAV_TOOL].state == ScanState.COMPLETE
    assert "EICAR" in retried[scanning.CLAMAV_TOOL].summary[0]["virus"].upper()
    # Only the scanner that failed ran again.
    assert retried[scanning.MODELSCAN_TOOL].last_run_at == modelscan_before
    assert client.get(f"/api/v2/model/{entry.pk}/file/{file['id']}/download").status_code == 403


def test_the_retry_gives_up_after_repeated_errors(
    clamd_up: None,
    owner: Any,
    entry: Model,
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    settings.CLAMD_PORT = closed_port()
    file = upload(client_for(owner), entry, "a.bin", CLEAN, django_capture_on_commit_callbacks)
    clam = scans(file["id"])[scanning.CLAMAV_TOOL]
    assert clam.additional_info["errorCount"] == 1
    ScanResult.objects.filter(pk=clam.pk).update(
        last_run_at=timezone.now() - timedelta(hours=1),
        additional_info={"errorCount": 5},
    )
    assert scan_tasks.retry_failed_scans.delay().get() == {}


def test_a_scan_stuck_in_progress_is_picked_up_again(
    only_modelscan: None,
    owner: Any,
    entry: Model,
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    file = upload(
        client_for(owner), entry, "m.pkl", pickle.dumps([1]), django_capture_on_commit_callbacks
    )
    ScanResult.objects.filter(file_id=file["id"]).update(
        state=ScanState.IN_PROGRESS, last_run_at=timezone.now() - timedelta(minutes=31)
    )
    queued = scan_tasks.retry_failed_scans.delay().get()
    assert queued == {file["id"]: [scanning.MODELSCAN_TOOL]}
    assert scans(file["id"])[scanning.MODELSCAN_TOOL].state == ScanState.COMPLETE


def test_a_queued_retry_is_not_queued_again_while_it_waits_for_a_worker(
    only_modelscan: None,
    owner: Any,
    entry: Model,
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    file = upload(
        client_for(owner), entry, "m.pkl", pickle.dumps([1]), django_capture_on_commit_callbacks
    )
    ScanResult.objects.filter(file_id=file["id"]).update(
        state=ScanState.ERROR, last_run_at=timezone.now() - timedelta(hours=1)
    )
    sent: list[Any] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            scan_tasks.scan_file, "apply_async", lambda args, queue=None: sent.append(args)
        )
        first = scan_services.scan_retry_due()
        second = scan_services.scan_retry_due()
    assert first == {file["id"]: [scanning.MODELSCAN_TOOL]} and second == {}
    assert sent == [(file["id"], [scanning.MODELSCAN_TOOL])]
    assert scans(file["id"])[scanning.MODELSCAN_TOOL].state == ScanState.IN_PROGRESS


def test_a_scanner_that_hangs_is_abandoned_with_a_timeout() -> None:
    with pytest.raises(scanning.ScanTimeout):
        scanning.call_with_timeout(lambda: time.sleep(2), 0.1)


def test_the_scan_is_marked_in_progress_as_soon_as_the_upload_completes(
    only_modelscan: None,
    owner: Any,
    entry: Model,
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    app.conf.task_always_eager = False
    try:
        with pytest.MonkeyPatch.context() as patch:
            queued: list[Any] = []
            patch.setattr(
                scan_tasks.scan_file,
                "apply_async",
                lambda args, queue=None: queued.append((args, queue)),
            )
            file = upload(
                client_for(owner), entry, "w.pkl", b"x", django_capture_on_commit_callbacks
            )
    finally:
        app.conf.task_always_eager = True
    assert queued == [((file["id"], None), "scans")]
    assert scans(file["id"])[scanning.MODELSCAN_TOOL].state == ScanState.IN_PROGRESS


# --- rescans --------------------------------------------------------------------------------------


@pytest.fixture
def scanned_file(
    only_modelscan: None,
    owner: Any,
    entry: Model,
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
) -> dict[str, Any]:
    return upload(
        client_for(owner), entry, "m.pkl", pickle.dumps([1]), django_capture_on_commit_callbacks
    )


def rescan(client: Client, model: Model, file_id: str, capture: Any, **headers: Any) -> Any:
    with capture(execute=True):
        return client.put(
            f"/api/v2/filescanning/model/{model.pk}/file/{file_id}/scan",
            data="{}",
            content_type="application/json",
            **headers,
        )


def test_an_owner_may_rescan_once_the_cool_down_has_passed(
    scanned_file: dict[str, Any],
    owner: Any,
    entry: Model,
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = client_for(owner)
    refused = rescan(client, entry, scanned_file["id"], django_capture_on_commit_callbacks)
    assert refused.status_code == 400
    assert "Please wait 60 minutes" in refused.json()["error"]["message"]

    long_ago = timezone.now() - timedelta(minutes=61)
    ScanResult.objects.filter(file_id=scanned_file["id"]).update(last_run_at=long_ago)
    started = rescan(client, entry, scanned_file["id"], django_capture_on_commit_callbacks)
    assert started.status_code == 200
    assert started.json() == {"status": "Scan started"}
    result = scans(scanned_file["id"])[scanning.MODELSCAN_TOOL]
    assert result.state == ScanState.COMPLETE and result.last_run_at > long_ago


@pytest.mark.parametrize(
    ("persona", "status"), [("contributor", 403), ("consumer", 403), ("outsider", 404)]
)
def test_only_owners_may_ask_for_a_rescan(
    persona: str,
    status: int,
    scanned_file: dict[str, Any],
    personas: dict[str, Any],
    entry: Model,
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    ScanResult.objects.filter(file_id=scanned_file["id"]).update(
        last_run_at=timezone.now() - timedelta(days=1)
    )
    response = rescan(
        client_for(personas[persona]), entry, scanned_file["id"], django_capture_on_commit_callbacks
    )
    assert response.status_code == status


def test_a_token_without_file_write_cannot_ask_for_a_rescan(
    scanned_file: dict[str, Any],
    owner: Any,
    entry: Model,
    make_token: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    token, secret = make_token(owner, actions=["model:read", "file:read"])
    response = rescan(
        Client(),
        entry,
        scanned_file["id"],
        django_capture_on_commit_callbacks,
        **basic(token.access_key, secret),
    )
    assert response.status_code == 403
    assert "file:write" in response.json()["error"]["message"]


def test_a_rescan_of_an_unknown_or_empty_file_is_refused(
    only_modelscan: None,
    owner: Any,
    entry: Model,
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = client_for(owner)
    unknown = rescan(client, entry, "no-such-file", django_capture_on_commit_callbacks)
    assert unknown.status_code == 404
    # Uploads refuse empty files; one may still arrive by other ways (a mirror import).
    empty = File.objects.create(
        id="e" * 24, model=entry, name="empty.pkl", storage_key="test/empty", complete=True
    )
    refused = rescan(client, entry, empty.pk, django_capture_on_commit_callbacks)
    assert refused.status_code == 400
    assert "empty file" in refused.json()["error"]["message"]


def test_image_scans_are_not_available(owner: Any, entry: Model, client_for: Any) -> None:
    response = client_for(owner).put(
        f"/api/v2/filescanning/model/{entry.pk}/image/app/v1/scan",
        data="{}",
        content_type="application/json",
    )
    assert response.status_code == 501
    assert "Trivy" in response.json()["error"]["message"]
    hidden = client_for(owner).put(
        "/api/v2/filescanning/model/nope-abc123/image/app/v1/scan",
        data="{}",
        content_type="application/json",
    )
    assert hidden.status_code == 404


# --- information ----------------------------------------------------------------------------------


def test_the_info_endpoint_lists_the_scanners_with_their_versions(
    clamd_up: None, owner: Any, client_for: Any
) -> None:
    body = client_for(owner).get("/api/v2/filescanning/info").json()
    assert [s["toolName"] for s in body["scanners"]] == [
        scanning.CLAMAV_TOOL,
        scanning.MODELSCAN_TOOL,
    ]
    assert {s["artefactKind"] for s in body["scanners"]} == {"file"}
    versions = {s["toolName"]: s for s in body["scanners"]}
    assert versions[scanning.CLAMAV_TOOL]["available"] is True
    assert versions[scanning.CLAMAV_TOOL]["scannerVersion"][0].isdigit()
    assert (
        versions[scanning.MODELSCAN_TOOL]["scannerVersion"] == scanning.ModelScanScanner().version()
    )


def test_the_info_endpoint_reports_a_scanner_that_is_down(
    clamd_up: None, owner: Any, client_for: Any, settings: Any
) -> None:
    settings.CLAMD_PORT = closed_port()
    body = client_for(owner).get("/api/v2/filescanning/info").json()
    clam = next(s for s in body["scanners"] if s["toolName"] == scanning.CLAMAV_TOOL)
    assert clam["available"] is False and clam["message"]


def test_the_info_endpoint_needs_a_signed_in_caller() -> None:
    assert Client().get("/api/v2/filescanning/info").status_code == 401


def test_unknown_scanner_names_in_the_setting_fail_loudly(settings: Any) -> None:
    settings.FILE_SCANNERS = ["clamAV", "trivy"]
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="trivy"):
        scanning.configured_kinds()


def test_without_scan_block_until_clean_an_errored_scan_blocks_nothing(
    entry: Model, owner: Any, settings: Any
) -> None:
    settings.SCAN_BLOCK_UNTIL_CLEAN = False
    file = File.objects.create(
        id="f" * 24, model=entry, name="x.bin", storage_key="test/x", complete=True, size=1
    )
    ScanResult.objects.create(
        file=file, tool_name=scanning.CLAMAV_TOOL, state=ScanState.ERROR, summary=["down"]
    )
    assert download_blocker(file) is None
    settings.SCAN_BLOCK_UNTIL_CLEAN = True
    assert download_blocker(file) is not None


# --- the official client --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_official_client_lists_scanners_and_asks_for_a_rescan(
    only_modelscan: None, live_server: Any, owner: Any, make_entry: Any, make_token: Any
) -> None:
    from bailo import Client as BailoClient
    from bailo.core.agent import TokenAgent
    from bailo.core.exceptions import BailoException

    entry = make_entry("Scanned by the client")
    token, secret = make_token(owner, actions=["model:read", "file:read", "file:write"])
    agent = TokenAgent(access_key=token.access_key, secret_key=secret)
    client = BailoClient(live_server.url, agent)
    try:
        [scanner] = client.get_filescanning_info()["scanners"]
        assert scanner["toolName"] == scanning.MODELSCAN_TOOL
        assert scanner["artefactKind"] == "file"
        assert scanner["scannerVersion"] == scanning.ModelScanScanner().version()
        uploaded = client.simple_upload(entry.pk, "weights.pkl", io.BytesIO(pickle.dumps([1])))
        file_id = uploaded.json()["file"]["id"]
        assert scans(file_id)[scanning.MODELSCAN_TOOL].state == ScanState.COMPLETE
        with pytest.raises(BailoException, match="Please wait"):
            client.put_file_scan(entry.pk, file_id)
        ScanResult.objects.filter(file_id=file_id).update(
            last_run_at=timezone.now() - timedelta(hours=2)
        )
        assert client.put_file_scan(entry.pk, file_id) == {"status": "Scan started"}
    finally:
        agent.session.close()
