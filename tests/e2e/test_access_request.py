"""In a browser: a consumer asks for access, the reviewer (msro) asks for changes with a comment,
the consumer edits the request, the reviewer approves, and the consumer downloads the file."""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from access.access_requests.services import today
from access.models import AccessRequest
from tests.conftest import PASSWORD
from tests.releases.files_support import blobs  # noqa: F401
from tests.releases.release_helpers import make_file

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def sign_in(browser: Any, live_server: Any, username: str) -> Any:
    """A page of a fresh browser context signed in as ``username``."""
    page = browser.new_context().new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Marketplace").wait_for()
    return page


def test_request_access_review_with_changes_edit_approve_and_download(
    browser: Any,
    live_server: Any,
    consumer: Any,
    reviewer: Any,
    entry: Any,
    tmp_path: Path,
) -> None:
    data = os.urandom(300_000)
    stored = make_file(entry, "weights.bin", data, store=True)
    end = (today() + timedelta(days=30)).isoformat()
    cody = sign_in(browser, live_server, consumer.username)
    rita = sign_in(browser, live_server, reviewer.username)
    try:
        # Before any request, the consumer sees the file but cannot download it.
        cody.goto(f"{live_server.url}/model/{entry.pk}/files")
        cody.get_by_text("but not download them").wait_for()
        assert cody.get_by_role("link", name="weights.bin").count() == 0

        # The consumer asks for access from the Access requests tab.
        cody.get_by_role("link", name="Access requests").click()
        cody.get_by_role("button", name="Request access").click()
        # Bailo's default form and our extended one are both offered; this one asks why.
        cody.get_by_role("button", name="Use Extended access request").click()
        cody.get_by_role("heading", name=f"Request access to {entry.name}").wait_for()
        assert cody.get_by_label("Who needs access").input_value() == "user:cody"
        cody.get_by_label("Name of the request").fill("Kestrel evaluation")
        cody.get_by_label("Access ends on").fill(end)
        cody.get_by_label("Why access is needed").fill("To evaluate it.")
        cody.get_by_role("button", name="Send for review").click()
        cody.get_by_role("heading", name="Kestrel evaluation").wait_for()
        access_request = AccessRequest.objects.get()
        detail = f"{live_server.url}/model/{entry.pk}/access-request/{access_request.pk}"
        assert cody.url == detail
        assert "Awaiting review" in cody.locator("h2").inner_text()

        # The reviewer asks for changes, with a comment (required).
        rita.goto(detail)
        rita.get_by_role("button", name="Request changes").click()
        rita.get_by_text("A comment is required when requesting changes").wait_for()
        rita.get_by_label("Comment").first.fill("Say which data you will use it on.")
        rita.get_by_role("button", name="Request changes").click()
        rita.get_by_text("Your request for changes was recorded.").wait_for()
        assert rita.url == detail

        # The consumer reads the comment and edits the request.
        cody.reload()
        assert "Changes requested" in cody.locator("h2").inner_text()
        cody.get_by_text("Say which data you will use it on.").wait_for()
        cody.get_by_role("button", name="Edit", exact=True).click()
        cody.get_by_label("Why access is needed").fill("To evaluate it on the 2025 survey data.")
        cody.get_by_role("button", name="Save changes").click()
        cody.get_by_text("Your changes to the access request were saved.").wait_for()
        cody.get_by_text("To evaluate it on the 2025 survey data.").wait_for()

        # The reviewer approves.
        rita.goto(detail)
        rita.get_by_text("To evaluate it on the 2025 survey data.").wait_for()
        rita.get_by_role("button", name="Approve").click()
        rita.get_by_text("Your approval was recorded.").wait_for()

        # The consumer now downloads the file.
        cody.goto(detail)
        assert "Approved" in cody.locator("h2").inner_text()
        cody.get_by_role("link", name="Files").click()
        with cody.expect_download() as caught:
            cody.get_by_role("link", name="weights.bin").click()
        saved = tmp_path / "weights.bin"
        caught.value.save_as(saved)
        assert hashlib.sha256(saved.read_bytes()).hexdigest() == stored.sha256

        # My access lists the entry, the request and until when.
        cody.goto(f"{live_server.url}/access")
        entries = cody.get_by_role("region", name="Entries you can use")
        row = entries.get_by_role("row", name=entry.name)
        assert "Through an approved access request" in row.inner_text()
        assert "Kestrel evaluation" in row.inner_text()
    finally:
        cody.context.close()
        rita.context.close()
