"""In a browser: upload two files with a progress bar each, make a release of them, download one
and check it is byte for byte what was uploaded."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from models_app.models import Schema
from models_app.policy import Actor
from models_app.services import card_from_schema
from releases.files.services import MIN_PART_SIZE
from releases.models import File
from tests.conftest import PASSWORD, _make_entry
from tests.releases.files_support import blobs  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Records every status text the uploader writes, so progress is seen however fast the upload is.
WATCH_PROGRESS = """
window.progressLog = [];
new MutationObserver(() => {
  document.querySelectorAll('.upload-status')
    .forEach((s) => window.progressLog.push(s.textContent));
}).observe(document.querySelector('[data-upload-progress]'),
           {subtree: true, childList: true, characterData: true});
"""


def entry_with_card(owner: Any, name: str) -> Any:
    """A private entry owned by ``owner`` with a card.

    It depends on no seeded row: under the browser's event loop, data restored by
    ``serialized_rollback`` is not always visible (see the report), so the schema is made here.
    """
    schema, _ = Schema.objects.get_or_create(
        id="e2e-files-v1",
        defaults={
            "name": "E2E files",
            "kind": "model",
            "json_schema": {"type": "object", "properties": {}},
        },
    )
    entry = _make_entry(owner, {}, name=name, visibility="private")
    card_from_schema(actor=Actor(user=owner), model=entry, schema_id=schema.pk)
    return entry


def sign_in(page: Any, live_server: Any, username: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Marketplace").wait_for()


def test_upload_two_files_release_them_and_download_one(
    page: Any, live_server: Any, owner: Any, tmp_path: Path
) -> None:
    entry = entry_with_card(owner, "Browser model")
    big = os.urandom(MIN_PART_SIZE + 123_456)  # more than one part of the upload's plan
    small = b"label,score\ncat,0.9\n"

    sign_in(page, live_server, owner.username)
    page.goto(f"{live_server.url}/model/{entry.pk}/files")
    page.get_by_role("heading", name="Upload files").wait_for()
    page.evaluate(WATCH_PROGRESS)
    page.get_by_label("Files (required)").set_input_files(
        [
            {"name": "weights.bin", "mimeType": "application/octet-stream", "buffer": big},
            {"name": "labels.csv", "mimeType": "text/csv", "buffer": small},
        ]
    )
    page.get_by_label("Tags", exact=True).fill("browser, test")
    page.get_by_role("button", name="Upload", exact=True).click()

    for name in ("weights.bin", "labels.csv"):
        bar = page.get_by_label(f"Upload progress of {name}")
        bar.wait_for()
        assert bar.evaluate("p => p.tagName") == "PROGRESS"
    page.wait_for_function(
        # A function, not an expression: Playwright evals expressions, which the CSP refuses.
        "() => document.querySelectorAll('.upload-item.upload-done').length === 2",
        timeout=60_000,
    )
    log = page.evaluate("window.progressLog")
    assert any(text.startswith("Uploading:") for text in log), log
    assert page.get_by_label("Upload progress of weights.bin").evaluate("p => p.value === p.max")
    # The list refreshed in place with both files.
    listing = page.locator("#files-list")
    listing.get_by_role("link", name="weights.bin", exact=True).wait_for()
    listing.get_by_role("link", name="labels.csv", exact=True).wait_for()

    stored = {f.name: f for f in File.objects.filter(model=entry)}
    assert set(stored) == {"weights.bin", "labels.csv"}
    assert all(f.complete for f in stored.values())
    assert stored["weights.bin"].tags == ["browser", "test"]
    assert stored["labels.csv"].mime == "text/csv"

    page.goto(f"{live_server.url}/model/{entry.pk}/release/new")
    page.get_by_label("Version (required)", exact=True).fill("1.0.0")
    page.get_by_label("Release notes (required)").fill("Weights and labels from the browser.")
    page.get_by_label("weights.bin (").check()
    page.get_by_label("labels.csv (").check()
    page.get_by_role("button", name="Create release").click()
    page.wait_for_url(f"**/model/{entry.pk}/release/1.0.0")

    with page.expect_download() as caught:
        page.get_by_role("link", name="Download weights.bin").click()
    download = caught.value
    saved = tmp_path / "weights.bin"
    download.save_as(saved)
    assert download.suggested_filename == "weights.bin"
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == hashlib.sha256(big).hexdigest()


def test_a_failing_part_is_retried_then_the_upload_resumes_where_it_stopped(
    page: Any, live_server: Any, owner: Any, tmp_path: Path
) -> None:
    entry = _make_entry(owner, {}, name="Resumable model", visibility="private")
    data = os.urandom(2 * 5 * 1024 * 1024 + 999)  # three parts of the planned 5 MiB
    source = tmp_path / "checkpoint.bin"
    source.write_bytes(data)  # a real file keeps its modification time between choices

    sign_in(page, live_server, owner.username)
    page.goto(f"{live_server.url}/model/{entry.pk}/files")
    sent: list[str] = []
    page.on(
        "request",
        lambda request: sent.append(request.url) if "/multipart/part?" in request.url else None,
    )
    page.route("**/multipart/part?*partNumber=3*", lambda route: route.abort())
    page.evaluate(WATCH_PROGRESS)
    page.get_by_label("Files (required)").set_input_files(str(source))
    page.get_by_role("button", name="Upload", exact=True).click()
    page.locator(".upload-item.upload-failed").wait_for(timeout=30_000)
    assert "Choose the same file again to resume" in page.locator(".upload-status").inner_text()
    assert sum("partNumber=3" in url for url in sent) == 4  # the first try and three retries
    assert any("retrying (3 of 3)" in text for text in page.evaluate("window.progressLog"))
    assert not File.objects.get(model=entry).complete

    page.unroute("**/multipart/part?*partNumber=3*")
    sent.clear()
    page.evaluate(WATCH_PROGRESS)
    page.get_by_label("Files (required)").set_input_files(str(source))
    page.get_by_role("button", name="Upload", exact=True).click()
    page.locator(".upload-item.upload-done").wait_for(timeout=30_000)
    log = page.evaluate("window.progressLog")
    assert any(text.startswith("Resuming: 2 of 3 parts") for text in log), log
    assert len(sent) == 1 and "partNumber=3" in sent[0]  # parts 1 and 2 were not sent again
    file = File.objects.get(model=entry)
    assert file.complete
    assert file.sha256 == hashlib.sha256(data).hexdigest()
    assert (
        page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('bailo-upload:'))") == []
    )
