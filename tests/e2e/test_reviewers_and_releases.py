"""In a browser (issue 13, items 7, 9 and the rest of 10): a reviewer is told a release needs
their review, reaches the form and downloads the files; owners hear about review roles nobody
holds; the release form uploads files in place, chooses images from the registry (or says the
registry is down), reports every problem in one linked summary; the list shows review states;
pull commands have copy buttons. Also: yes/no card questions start unanswered, schema usage
counts access requests, the admin's tables fit 1280 px, unknown URLs get the site's 404 with
DEBUG on, and none of the touched pages scrolls sideways at 390 px."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from access.access_requests.services import access_request_create
from core.ports import registry
from models_app.models import Collaborator
from models_app.policy import Actor
from models_app.services import card_from_schema
from releases.models import File, Release
from tests.access.access_request_helpers import SCHEMA, answers
from tests.e2e.test_accessibility import AXE, RUN
from tests.e2e.test_delete_model import sign_in
from tests.e2e.test_phone_layout import WIDEST
from tests.releases.files_support import blobs  # noqa: F401
from tests.releases.release_helpers import make_file, make_release, push_tiny_image, with_card

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def no_sideways_scroll(page: Any, width: int) -> str:
    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    return "" if scroll <= width else f"{page.url}: {scroll} px ({page.evaluate(WIDEST, width)})"


@pytest.fixture
def reviewed(owner: Any, make_entry: Any) -> dict[str, Any]:
    """A private entry (msro held by the reviewer, mtr by nobody) with release 1.0.0 shipping a
    stored file, and an access request."""
    entry = with_card(make_entry("Reviewed model"), owner)
    file = make_file(entry, "weights.bin", b"reviewer reads these", store=True)
    release = make_release(entry, owner, "1.0.0", notes="First", file_ids=[file.pk])
    request = access_request_create(
        actor=Actor(user=owner), model=entry, schema_id=SCHEMA, metadata=answers()
    )
    return {"entry": entry, "release": release, "file": file, "request": request}


# --- item 7: reviewers ----------------------------------------------------------------------------


def test_a_reviewer_is_told_it_needs_their_review_and_downloads_the_files(
    page: Any, live_server: Any, reviewed: dict[str, Any], reviewer: Any
) -> None:
    entry = reviewed["entry"]
    sign_in(page, live_server.url, reviewer.username)
    page.goto(f"{live_server.url}/model/{entry.pk}/release/1.0.0")
    banner = page.locator(".review-banner")
    assert "This needs your review" in banner.inner_text()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download weights.bin").click()
    assert Path(download.value.path()).read_bytes() == b"reviewer reads these"
    banner.get_by_role("button", name="Review it now").click()
    assert page.url.endswith("-heading")
    form = page.get_by_role("form", name="Your review as Model Senior Responsible Officer")
    form.get_by_role("button", name="Approve").click()
    page.get_by_role("heading", name="Release 1.0.0").wait_for()
    assert page.locator(".review-banner").count() == 0

    page.goto(f"{live_server.url}/model/{entry.pk}/access-request/{reviewed['request'].pk}")
    assert "This needs your review" in page.locator(".review-banner").inner_text()


def test_owners_are_warned_at_creation_and_on_the_page_about_roles_nobody_holds(
    page: Any, live_server: Any, reviewed: dict[str, Any], owner: Any
) -> None:
    entry = reviewed["entry"]
    sign_in(page, live_server.url, owner.username)
    page.goto(f"{live_server.url}/model/{entry.pk}/release/new")
    page.get_by_label("Version", exact=False).first.fill("2.0.0")
    page.get_by_label("Release notes").fill("Second")
    page.get_by_role("button", name="Create release").click()
    page.get_by_role("heading", name="Release 2.0.0").wait_for()
    warning = page.locator(".message-warning")
    assert "Nobody on this model holds the review role" in warning.inner_text()
    assert "mtr" in warning.inner_text()
    unheld = page.locator(".review-unheld")
    assert "Nobody on this model holds" in unheld.inner_text()
    unheld.get_by_role("link").click()
    page.wait_for_url(f"**/model/{entry.pk}/settings")

    # The access request owes msro; once nobody holds msro either, its page warns too.
    Collaborator.objects.filter(model=entry, role="msro").delete()
    page.goto(f"{live_server.url}/model/{entry.pk}/access-request/{reviewed['request'].pk}")
    assert "Nobody on this model holds" in page.locator(".review-unheld").inner_text()


def test_a_non_reviewer_sees_no_banner_and_no_download(
    page: Any, live_server: Any, reviewed: dict[str, Any], consumer: Any
) -> None:
    sign_in(page, live_server.url, consumer.username)
    page.goto(f"{live_server.url}/model/{reviewed['entry'].pk}/release/1.0.0")
    assert page.locator(".review-banner").count() == 0
    assert page.get_by_role("link", name="Download weights.bin").count() == 0
    assert "Needs access" in page.content()


# --- item 9: releases -----------------------------------------------------------------------------


def test_files_are_uploaded_from_within_the_release_form(
    page: Any, live_server: Any, owner: Any, make_entry: Any, tmp_path: Path
) -> None:
    entry = with_card(make_entry("Upload in the form"), owner)
    chosen = tmp_path / "fresh-weights.bin"
    chosen.write_bytes(b"w" * 4096)
    sign_in(page, live_server.url, owner.username)
    page.goto(f"{live_server.url}/model/{entry.pk}/release/new")
    box = page.locator("[data-release-uploader]")
    assert box.is_visible()
    box.get_by_label("Upload more files").set_input_files(str(chosen))
    box.get_by_role("button", name="Upload the chosen files").click()
    ticked = page.get_by_role("checkbox", name="fresh-weights.bin (4.0 KB, just uploaded)")
    ticked.wait_for()
    assert ticked.is_checked()
    page.get_by_label("Version", exact=False).first.fill("1.0.0")
    page.get_by_label("Release notes").fill("With a file uploaded in the form")
    page.get_by_role("button", name="Create release").click()
    page.get_by_role("heading", name="Release 1.0.0").wait_for()
    release = Release.objects.get(model=entry)
    assert [f.name for f in release.files.all()] == ["fresh-weights.bin"]
    assert File.objects.get(name="fresh-weights.bin").complete


def test_without_javascript_the_form_links_to_the_files_page_instead(
    browser: Any, live_server: Any, owner: Any, make_entry: Any
) -> None:
    entry = with_card(make_entry("No script"), owner)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, live_server.url, owner.username)
        page.goto(f"{live_server.url}/model/{entry.pk}/release/new")
        assert not page.locator("[data-release-uploader]").is_visible()
        assert page.get_by_role("link", name="Upload files on the Files page").is_visible()
    finally:
        context.close()


def test_the_error_summary_lists_every_problem_at_once_and_links_to_the_fields(
    page: Any, live_server: Any, owner: Any, make_entry: Any
) -> None:
    entry = with_card(make_entry("Summary model"), owner)
    make_release(entry, owner, "1.0.0")
    sign_in(page, live_server.url, owner.username)
    page.goto(f"{live_server.url}/model/{entry.pk}/release/new")
    page.get_by_label("Version", exact=False).first.fill("1.0.0")
    page.get_by_role("button", name="Create release").click()
    summary = page.locator("#error-summary")
    summary.wait_for()
    text = summary.inner_text()
    assert "already has a release 1.0.0" in text and "This field is required" in text
    summary.get_by_role("link", name="Release notes").click()
    assert page.evaluate("() => document.activeElement.id") == "id_notes" or page.url.endswith(
        "#id_notes"
    )


def test_images_are_chosen_from_the_registry_and_a_dead_registry_is_explained(
    page: Any, live_server: Any, owner: Any, make_entry: Any, settings: Any
) -> None:
    entry = with_card(make_entry("Image model"), owner)
    sign_in(page, live_server.url, owner.username)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.REGISTRY_URL = f"http://127.0.0.1:{port}"
    page.goto(f"{live_server.url}/model/{entry.pk}/release/new")
    assert "could not be reached" in page.locator("#registry-note").inner_text()
    assert page.locator("textarea[name=image_lines]").count() == 0
    page.get_by_label("Version", exact=False).first.fill("1.0.0")
    page.get_by_label("Release notes").fill("Saved while the registry is down")
    page.get_by_role("button", name="Create release").click()
    page.get_by_role("heading", name="Release 1.0.0").wait_for()


def test_images_are_ticked_from_the_entrys_registry_images(
    page: Any, live_server: Any, owner: Any, make_entry: Any
) -> None:
    if not registry.is_configured():
        pytest.fail("the stack's registry is required")
    entry = with_card(make_entry("Registry image model"), owner)
    digest = push_tiny_image(entry.pk, "server", "v1")
    try:
        sign_in(page, live_server.url, owner.username)
        page.goto(f"{live_server.url}/model/{entry.pk}/release/new")
        page.get_by_role("checkbox", name=f"{entry.pk}/server:v1").check()
        page.get_by_label("Version", exact=False).first.fill("1.0.0")
        page.get_by_label("Release notes").fill("With an image")
        page.get_by_role("button", name="Create release").click()
        page.get_by_role("heading", name="Release 1.0.0").wait_for()
        assert Release.objects.get(model=entry).images == [
            {"repository": entry.pk, "name": "server", "tag": "v1"}
        ]
    finally:
        registry.delete_manifest(f"{entry.pk}/server", digest)


def test_the_list_shows_review_states_and_pull_commands_copy(
    page: Any, live_server: Any, reviewed: dict[str, Any], owner: Any
) -> None:
    entry, release = reviewed["entry"], reviewed["release"]
    Release.objects.filter(pk=release.pk).update(
        images=[{"repository": entry.pk, "name": "server", "tag": "v1"}]
    )
    page.add_init_script("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    sign_in(page, live_server.url, owner.username)
    page.goto(f"{live_server.url}/model/{entry.pk}/releases")
    assert page.locator(".chip-review-pending").inner_text() == "Awaiting review"
    page.goto(f"{live_server.url}/model/{entry.pk}/release/1.0.0")
    button = page.get_by_role("button", name="Copy the server:v1 pull command snippet")
    button.click()
    assert button.inner_text() == "Selected: press Ctrl+C"
    assert "docker pull" in page.evaluate("() => window.getSelection().toString()")


# --- item 10 --------------------------------------------------------------------------------------


def test_an_untouched_yes_no_question_stays_unanswered(
    page: Any, live_server: Any, owner: Any, make_entry: Any
) -> None:
    entry = make_entry("Yes no model")
    card_from_schema(actor=Actor(user=owner), model=entry, schema_id="extended-general-v1")
    sign_in(page, live_server.url, owner.username)
    page.goto(f"{live_server.url}/model/{entry.pk}/card/edit")
    question = page.locator("fieldset.yes-no").first
    assert question.get_by_label("Not answered").is_checked()
    page.locator('[name="card.overview.modelSummary"]').fill("Reads digits.")
    page.locator('[name="card.performance.accuracy"]').fill("0.9")
    with page.expect_navigation():
        page.get_by_role("button", name="Save card").click()
    entry.refresh_from_db()
    assert entry.card.metadata["performance"]["accuracy"] == 0.9
    assert "biasReviewed" not in entry.card.metadata["performance"]
    page.goto(f"{live_server.url}/model/{entry.pk}/card/edit")
    question = page.locator("fieldset.yes-no").first
    question.get_by_label("No", exact=True).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save card").click()
    entry.refresh_from_db()
    assert entry.card.metadata["performance"]["biasReviewed"] is False


def test_schema_usage_counts_access_requests(
    page: Any, live_server: Any, reviewed: dict[str, Any], site_admin: Any
) -> None:
    sign_in(page, live_server.url, site_admin.username)
    page.goto(f"{live_server.url}/administration/")
    assert page.get_by_role("link", name="1 access request use").count() == 1


def test_the_django_admin_tables_fit_1280_px(
    page: Any, live_server: Any, reviewed: dict[str, Any], site_admin: Any
) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server.url, site_admin.username)
    page.goto(f"{live_server.url}/admin/")
    links = page.eval_on_selector_all(
        "#content-main a[href$='/']", "els => [...new Set(els.map(e => e.getAttribute('href')))]"
    )
    changelists = [link for link in links if link.count("/") == 4 and "add" not in link]
    assert changelists
    wide = []
    for link in ["/admin/", *changelists]:
        page.goto(live_server.url + link)
        problem = no_sideways_scroll(page, 1280)
        if problem:
            wide.append(problem)
    assert not wide, wide


def test_an_unknown_url_shows_the_sites_own_404_even_with_debug_on(
    page: Any, live_server: Any, owner: Any, settings: Any
) -> None:
    settings.DEBUG = True
    sign_in(page, live_server.url, owner.username)
    response = page.goto(f"{live_server.url}/no/such/page")
    assert response is not None and response.status == 404
    assert page.get_by_role("heading", name="Not found").is_visible()
    assert "Using the URLconf" not in page.content()


def test_the_touched_pages_do_not_scroll_sideways_at_390_px_nor_fail_axe(
    page: Any, live_server: Any, reviewed: dict[str, Any], reviewer: Any, owner: Any
) -> None:
    entry = reviewed["entry"]
    page.set_viewport_size({"width": 390, "height": 800})
    wide = []
    for user, paths in (
        (
            reviewer,
            [
                f"/model/{entry.pk}/release/1.0.0",
                f"/model/{entry.pk}/access-request/{reviewed['request'].pk}",
            ],
        ),
        (
            owner,
            [
                f"/model/{entry.pk}/releases",
                f"/model/{entry.pk}/release/1.0.0",
                f"/model/{entry.pk}/release/new",
                f"/model/{entry.pk}/release/1.0.0/edit",
                f"/model/{entry.pk}/card/edit",
                f"/model/{entry.pk}/registry",
                "/no/such/page",
            ],
        ),
    ):
        page.context.clear_cookies()
        sign_in(page, live_server.url, user.username)
        for path in paths:
            page.goto(live_server.url + path)
            problem = no_sideways_scroll(page, 390)
            if problem:
                wide.append(problem)
            page.evaluate(AXE)
            wide.extend(f"{path}: {violation}" for violation in page.evaluate(RUN))
    assert not wide, wide
