"""clamd down: a file whose virus scan errored is not downloadable while ``SCAN_BLOCK_UNTIL_CLEAN``
says scans must complete; its owner may rescan at once (the cool-down follows completed scans
only); errored scans are retried with a growing delay.

Against a private clamd (tests/private_clamd.py) killed and started again by its PID.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from core.ports import scanners as scanning
from models_app.models import Model
from releases.models import File, ScanResult, ScanState
from releases.scanning import services as scan_services
from tests.private_clamd import PrivateClamd, private_clamd
from tests.releases.test_scanning import rescan, scans, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _eager(eager_tasks: None) -> None:
    """Every test here runs queued tasks at once."""


@pytest.fixture
def clam(tmp_path: Any, settings: Any) -> Iterator[PrivateClamd]:
    with private_clamd(tmp_path / "clamd") as server:
        settings.CLAMD_HOST = "127.0.0.1"
        settings.CLAMD_PORT = server.port
        settings.FILE_SCANNERS = [scanning.CLAMAV, scanning.MODELSCAN]
        yield server


def download(client: Any, model: Model, file_id: str) -> Any:
    return client.get(f"/api/v2/model/{model.pk}/file/{file_id}/download")


def test_a_file_whose_virus_scan_errored_is_held_back_until_a_rescan_completes(
    clam: PrivateClamd,
    owner: Any,
    entry: Model,
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = client_for(owner)
    clam.kill()
    file = upload(client, entry, "weights.bin", b"clean bytes", django_capture_on_commit_callbacks)
    assert scans(file["id"])[scanning.CLAMAV_TOOL].state == ScanState.ERROR

    refused = download(client, entry, file["id"])
    assert refused.status_code == 403
    assert refused.json()["error"]["message"].startswith(
        f"weights.bin cannot be downloaded until its {scanning.CLAMAV_TOOL} scan completes"
    )

    # At once, although ModelScan completed a moment ago: an errored scan has no cool-down.
    again = rescan(client, entry, file["id"], django_capture_on_commit_callbacks)
    assert again.status_code == 200, again.content
    assert scans(file["id"])[scanning.CLAMAV_TOOL].state == ScanState.ERROR
    assert download(client, entry, file["id"]).status_code == 403

    clam.start()
    fixed = rescan(client, entry, file["id"], django_capture_on_commit_callbacks)
    assert fixed.status_code == 200, fixed.content
    assert scans(file["id"])[scanning.CLAMAV_TOOL].state == ScanState.COMPLETE
    assert download(client, entry, file["id"]).status_code == 200

    # Completed now: the cool-down applies again.
    cooled = rescan(client, entry, file["id"], django_capture_on_commit_callbacks)
    assert cooled.status_code == 400
    assert "Please wait" in cooled.json()["error"]["message"]


def test_a_file_being_scanned_is_held_back_too(
    clam: PrivateClamd, owner: Any, entry: Model, client_for: Any
) -> None:
    file = File.objects.create(
        id="e" * 24, model=entry, name="x.bin", storage_key="test/x", complete=True, size=1
    )
    scan_services.scans_mark_in_progress(file=file, tools=[scanning.CLAMAV_TOOL])
    refused = download(client_for(owner), entry, file.pk)
    assert refused.status_code == 403
    assert "it is being scanned" in refused.json()["error"]["message"]


@pytest.mark.parametrize(
    ("errors", "minutes_ago", "retried"),
    [
        (1, 16, True),  # first retry after FILE_SCAN_RETRY_AFTER_MINUTES (15)
        (2, 16, False),  # then 30 minutes
        (2, 31, True),
        (3, 59, False),  # then 60
        (3, 61, True),
        (4, 119, False),  # then 120
    ],
)
def test_errored_scans_are_retried_with_a_growing_delay(
    clam: PrivateClamd, entry: Model, errors: int, minutes_ago: int, retried: bool
) -> None:
    file = File.objects.create(
        id="d" * 24, model=entry, name="x.bin", storage_key="test/x", complete=True, size=1
    )
    ScanResult.objects.create(
        file=file,
        tool_name=scanning.CLAMAV_TOOL,
        state=ScanState.ERROR,
        summary=["down"],
        additional_info={"errorCount": errors},
        last_run_at=timezone.now() - timedelta(minutes=minutes_ago),
    )
    clam.kill()  # the retry itself fails again: only whether it was queued matters here
    queued = scan_services.scan_retry_due()
    assert (file.pk in queued) is retried
