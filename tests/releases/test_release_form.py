"""The release form: one round of validation with a linked error summary, images chosen from the
registry (and what happens when it is down), the upload box the form offers, and copy buttons
for pull commands."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from django.test import Client

from releases.models import Release
from tests.releases.release_helpers import make_file, make_release, with_card

pytestmark = pytest.mark.django_db


@pytest.fixture
def carded(entry: Any, owner: Any) -> Any:
    return with_card(entry, owner)


@pytest.fixture
def as_owner(client_for: Any, owner: Any) -> Client:
    client: Client = client_for(owner)
    return client


@pytest.fixture
def dead_registry(settings: Any) -> None:
    """A registry configured at an address where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.REGISTRY_URL = f"http://127.0.0.1:{port}"


def test_every_problem_shows_in_one_round_in_a_summary_linking_to_its_field(
    carded: Any, as_owner: Client
) -> None:
    make_release(carded, carded.created_by, "1.0.0")
    response = as_owner.post(
        f"/model/{carded.pk}/release/new",
        {"semver": "1.0.0", "notes": "", "model_card_version": "7"},
    )
    # The taken version is the service's refusal (409), found in the same round as the form's.
    assert response.status_code == 409
    html = response.content.decode()
    summary = html.split('id="error-summary"')[1].split("</div>")[0]
    assert 'href="#id_semver"' in summary and "already has a release 1.0.0" in summary
    assert 'href="#id_notes"' in summary and "This field is required" in summary
    assert 'href="#id_model_card_version"' in summary
    assert Release.objects.count() == 1


def test_a_bad_version_and_a_missing_note_are_both_reported(carded: Any, as_owner: Client) -> None:
    response = as_owner.post(
        f"/model/{carded.pk}/release/new", {"semver": "1.0", "notes": "", "model_card_version": "1"}
    )
    assert response.status_code == 400
    summary = response.content.decode().split('id="error-summary"')[1].split("</div>")[0]
    assert "not a valid semantic version" in summary and "This field is required" in summary
    assert not Release.objects.exists()


def test_the_form_offers_an_upload_box_for_javascript_and_the_files_page_without(
    carded: Any, as_owner: Client, client_for: Any, contributor: Any
) -> None:
    html = as_owner.get(f"/model/{carded.pk}/release/new").content.decode()
    assert (
        "data-release-uploader" in html and "hidden" in html.split("data-release-uploader")[0][-80:]
    )
    assert "js/uploader.js" in html
    assert "Upload files on the Files page" in html


def test_with_the_registry_down_the_form_says_so_and_saves_without_touching_images(
    carded: Any, as_owner: Client, dead_registry: None
) -> None:
    release = make_release(carded, carded.created_by, "1.0.0")
    image = {"repository": carded.pk, "name": "server", "tag": "v1"}
    Release.objects.filter(pk=release.pk).update(images=[image])
    form = as_owner.get(f"/model/{carded.pk}/release/1.0.0/edit").content.decode()
    assert "could not be reached" in form and 'name="images"' not in form
    response = as_owner.post(
        f"/model/{carded.pk}/release/1.0.0/edit", {"notes": "Changed", "model_card_version": "1"}
    )
    assert response.status_code == 302, response.content[:2000]
    release.refresh_from_db()
    assert release.notes == "Changed" and release.images == [image]

    created = as_owner.post(
        f"/model/{carded.pk}/release/new",
        {"semver": "2.0.0", "notes": "No images", "model_card_version": "1"},
    )
    assert created.status_code == 302
    assert Release.objects.get(semver="2.0.0").images == []


def test_pull_commands_on_the_release_page_get_copy_buttons(carded: Any, as_owner: Client) -> None:
    release = make_release(carded, carded.created_by, "1.0.0", file_ids=[make_file(carded).pk])
    Release.objects.filter(pk=release.pk).update(
        images=[{"repository": carded.pk, "name": "server", "tag": "v1"}]
    )
    html = as_owner.get(f"/model/{carded.pk}/release/1.0.0").content.decode()
    assert 'class="pull-command copyable"' in html and "js/copy-snippets.js" in html
