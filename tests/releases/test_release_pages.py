"""The release pages: the Releases tab, a release, and the create and edit forms."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core.ports import registry
from models_app.policy import Actor
from models_app.services import model_create
from releases.models import Release, ScanResult
from releases.selectors import release_files
from tests.conftest import stack_required
from tests.releases.release_helpers import make_file, make_release, push_tiny_image, with_card

pytestmark = pytest.mark.django_db


@pytest.fixture
def carded(entry: Any, owner: Any) -> Any:
    return with_card(entry, owner, versions=2)


@pytest.fixture
def as_owner(client_for: Any, owner: Any) -> Client:
    client: Client = client_for(owner)
    return client


def page(client: Client, path: str, status: int = 200, **data: Any) -> str:
    response = client.get(path, data)
    assert response.status_code == status, response.content[:2000]
    return response.content.decode()


def post(client: Client, path: str, data: dict[str, Any], status: int) -> Any:
    response = client.post(path, data)
    assert response.status_code == status, response.content[:3000]
    return response


# --- the tab ------------------------------------------------------------------------------------


def test_models_have_a_releases_tab_and_data_cards_do_not(carded: Any, as_owner: Client) -> None:
    overview = page(as_owner, f"/model/{carded.pk}")
    assert f'href="/model/{carded.pk}/releases">Releases</a>' in overview
    data_card = model_create(
        actor=Actor(user=carded.created_by), name="Digits", description="d", kind="data-card"
    )
    assert ">Releases</a>" not in page(as_owner, f"/model/{data_card.pk}")


def test_the_releases_tab_lists_releases_with_badges_and_file_counts(
    carded: Any, as_owner: Client
) -> None:
    files = [make_file(carded, "a.bin").pk, make_file(carded, "b.bin").pk]
    make_release(carded, carded.created_by, "1.9.0", file_ids=files, notes="Nine " * 80)
    make_release(carded, carded.created_by, "1.10.0", draft=True, minor=True)
    html = page(as_owner, f"/model/{carded.pk}/releases")
    assert 'aria-current="page">Releases</a>' in html
    assert html.index(">1.10.0</a>") < html.index(">1.9.0</a>")
    assert 'class="chip chip-draft">Draft' in html
    assert 'class="chip chip-minor">Minor' in html
    assert "<td>2</td>" in html
    assert "Nine Nine" in html and "…" in html  # notes cut to an excerpt
    assert f'href="/model/{carded.pk}/release/new"' in html


def test_consumers_see_published_releases_only_and_no_create_button(
    carded: Any, client_for: Any, consumer: Any
) -> None:
    make_release(carded, carded.created_by, "1.0.0")
    make_release(carded, carded.created_by, "2.0.0", draft=True)
    html = page(client_for(consumer), f"/model/{carded.pk}/releases")
    assert ">1.0.0</a>" in html and ">2.0.0</a>" not in html
    assert "/release/new" not in html


def test_the_tab_filters_by_an_npm_range_and_explains_a_bad_one(
    carded: Any, as_owner: Client
) -> None:
    for semver in ("1.0.0", "1.5.0", "2.0.0"):
        make_release(carded, carded.created_by, semver)
    html = page(as_owner, f"/model/{carded.pk}/releases", querySemver="^1.2")
    assert ">1.5.0</a>" in html and ">1.0.0</a>" not in html and ">2.0.0</a>" not in html
    html = page(as_owner, f"/model/{carded.pk}/releases", 400, querySemver=">>1")
    assert 'aria-invalid="true"' in html and "not a valid version range" in html


def test_an_entry_without_a_card_asks_for_the_card_first(entry: Any, as_owner: Client) -> None:
    html = page(as_owner, f"/model/{entry.pk}/releases")
    assert "needs a card before its" in html and "/release/new" not in html


@pytest.mark.parametrize(("persona", "status"), [("outsider", 404)])
def test_invisible_entries_have_no_releases_page(
    carded: Any, client_for: Any, personas: Any, persona: str, status: int
) -> None:
    page(client_for(personas[persona]), f"/model/{carded.pk}/releases", status)


def test_signed_out_visitors_are_sent_to_sign_in(carded: Any) -> None:
    response = Client().get(f"/model/{carded.pk}/releases")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_tab_costs_the_same_queries_for_more_releases(carded: Any, as_owner: Client) -> None:
    def count() -> int:
        page(as_owner, f"/model/{carded.pk}/releases")  # the navigation's review badge, counted
        with CaptureQueriesContext(connection) as queries:
            page(as_owner, f"/model/{carded.pk}/releases")
        return len(queries)

    make_release(carded, carded.created_by, "1.0.0", file_ids=[make_file(carded, "a").pk])
    few = count()
    for n in range(2, 6):
        make_release(carded, carded.created_by, f"{n}.0.0", file_ids=[make_file(carded, f"{n}").pk])
    assert count() == few


# --- creating -----------------------------------------------------------------------------------


def test_the_new_release_form_offers_complete_files_card_versions_and_images(
    carded: Any, as_owner: Client
) -> None:
    done = make_file(carded, "done.bin", b"x" * 2048)
    make_file(carded, "uploading.bin", complete=False)
    html = page(as_owner, f"/model/{carded.pk}/release/new")
    assert f'value="{done.pk}"' in html and "done.bin (2.0\xa0KB)" in html
    assert "uploading.bin" not in html
    assert "Version 2 (current)" in html and "Version 1<" in html
    assert 'name="semver"' in html and 'name="minor"' in html and 'name="draft"' in html
    assert "Files page" in html
    if registry.is_configured():  # the stack's registry holds nothing for this new entry
        assert "no images in the registry yet" in html
    else:
        assert 'name="images"' not in html and "no Docker registry" in html


def test_creating_a_release_from_the_form_shows_it(carded: Any, as_owner: Client) -> None:
    weights = make_file(carded, "weights.bin")
    response = post(
        as_owner,
        f"/model/{carded.pk}/release/new",
        {
            "semver": "v1.0.0",
            "notes": "First **release**",
            "model_card_version": "1",
            "file_ids": [weights.pk],
            "minor": "",
        },
        302,
    )
    assert response["Location"] == f"/model/{carded.pk}/release/1.0.0"
    release = Release.objects.get()
    assert (release.semver, release.model_card_version, release.draft) == ("1.0.0", 1, False)
    assert [f.pk for f in release_files(release)] == [weights.pk]


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"semver": "1.0"}, 400, "not a valid semantic version"),
        ({"semver": "1.0.0", "notes": ""}, 400, "This field is required"),
        ({"semver": "1.0.0", "file_ids": ["someone-elses"]}, 400, "Select a valid choice"),
    ],
)
def test_bad_input_on_the_form_is_shown_on_the_field_and_nothing_is_stored(
    carded: Any, as_owner: Client, settings: Any, data: dict[str, Any], status: int, message: str
) -> None:
    settings.REGISTRY_URL = ""  # without a registry, the form has no images to choose
    fields = {"notes": "n", "model_card_version": "2", **data}
    html = post(as_owner, f"/model/{carded.pk}/release/new", fields, status).content.decode()
    assert message in html
    assert 'class="field-error"' in html
    if "file_ids" not in data:  # checkbox groups carry no aria-invalid of their own
        assert 'aria-invalid="true"' in html
    assert not Release.all_objects.exists()


def test_a_taken_semver_is_a_409_on_the_form(carded: Any, as_owner: Client) -> None:
    make_release(carded, carded.created_by, "1.0.0")
    data = {"semver": "1.0.0", "notes": "again", "model_card_version": "2"}
    html = post(as_owner, f"/model/{carded.pk}/release/new", data, 409).content.decode()
    assert "already has a release 1.0.0" in html and 'aria-invalid="true"' in html
    assert Release.objects.count() == 1


def test_the_form_explains_that_a_card_is_needed(entry: Any, as_owner: Client) -> None:
    assert "no model card yet" in page(as_owner, f"/model/{entry.pk}/release/new")
    data = {"semver": "1.0.0", "notes": "n"}
    html = post(as_owner, f"/model/{entry.pk}/release/new", data, 400).content.decode()
    assert "has no model card yet" in html
    assert not Release.objects.exists()


@pytest.mark.parametrize(("persona", "status"), [("consumer", 403), ("outsider", 404)])
def test_people_who_cannot_create_releases_do_not_get_the_form(
    carded: Any, client_for: Any, personas: Any, persona: str, status: int
) -> None:
    client = client_for(personas[persona])
    page(client, f"/model/{carded.pk}/release/new", status)
    data = {"semver": "1.0.0", "notes": "n", "model_card_version": "2"}
    post(client, f"/model/{carded.pk}/release/new", data, status)
    assert not Release.objects.exists()


# --- a release ----------------------------------------------------------------------------------


def test_the_release_page_shows_notes_files_scans_images_and_card_version(
    carded: Any, as_owner: Client, settings: Any
) -> None:
    settings.REGISTRY_HOST = "registry.example:5000"
    weights = make_file(carded, "my weights.bin", b"x" * 3000)
    ScanResult.objects.create(file=weights, tool_name="Clam AV", state="complete")
    clean = make_file(carded, "clean.txt")
    ScanResult.objects.create(
        file=clean, tool_name="Clam AV", state="complete", summary=[{"virus": "Eicar"}]
    )
    release = make_release(
        carded,
        carded.created_by,
        "1.0.0",
        notes="Use **carefully**",
        model_card_version=1,
        file_ids=[weights.pk, clean.pk],
    )
    # Images are checked against the registry on create; here the row is set directly.
    Release.objects.filter(pk=release.pk).update(
        images=[{"repository": carded.pk, "name": "server", "tag": "v1"}]
    )
    html = page(as_owner, f"/model/{carded.pk}/release/v1.0.0")
    assert "<strong>carefully</strong>" in html
    assert "my weights.bin" in html and "2.9\xa0KB" in html
    assert "chip-scan-complete" in html and ">Clean<" in html
    assert "chip-scan-findings" in html and ">1 finding<" in html
    assert f'href="/api/v2/model/{carded.pk}/release/1.0.0/file/my%20weights.bin/download"' in html
    assert f"docker pull registry.example:5000/{carded.pk}/server:v1" in html
    assert f"/model/{carded.pk}/card/compare?a=1&amp;b=2" in html
    assert "model card version 1</a>" in html
    assert f'href="/model/{carded.pk}/release/1.0.0/edit"' in html


def test_a_file_with_no_scan_yet_shows_not_scanned(carded: Any, as_owner: Client) -> None:
    make_release(carded, carded.created_by, "1.0.0", file_ids=[make_file(carded).pk])
    assert "Not scanned" in page(as_owner, f"/model/{carded.pk}/release/1.0.0")


def test_consumers_see_no_edit_link_and_no_download_without_access(
    carded: Any, client_for: Any, consumer: Any
) -> None:
    make_release(carded, carded.created_by, "1.0.0", file_ids=[make_file(carded).pk])
    html = page(client_for(consumer), f"/model/{carded.pk}/release/1.0.0")
    assert "/edit" not in html and "/download" not in html and "Needs access" in html


def test_drafts_and_unknown_versions_are_404_and_nonsense_versions_400(
    carded: Any, client_for: Any, consumer: Any, contributor: Any
) -> None:
    make_release(carded, carded.created_by, "2.0.0", draft=True)
    page(client_for(consumer), f"/model/{carded.pk}/release/2.0.0", 404)
    page(client_for(contributor), f"/model/{carded.pk}/release/2.0.0")
    page(client_for(contributor), f"/model/{carded.pk}/release/3.0.0", 404)
    assert "not a valid semantic version" in page(
        client_for(contributor), f"/model/{carded.pk}/release/banana", 400
    )


# --- editing ------------------------------------------------------------------------------------


def test_an_owner_edits_notes_and_files_and_publishes_a_draft(
    carded: Any, as_owner: Client
) -> None:
    old, new = make_file(carded, "old.bin"), make_file(carded, "new.bin")
    make_release(carded, carded.created_by, "1.0.0", file_ids=[old.pk], draft=True)
    html = page(as_owner, f"/model/{carded.pk}/release/1.0.0/edit")
    assert "Release 1.0.0</textarea>" in html.replace("\n", "")
    assert "Keep as a draft" in html and 'name="semver"' not in html
    data = {"notes": "Edited", "model_card_version": "2", "file_ids": [new.pk]}
    response = post(as_owner, f"/model/{carded.pk}/release/1.0.0/edit", data, 302)
    assert response["Location"] == f"/model/{carded.pk}/release/1.0.0"
    release = Release.objects.get()
    assert (release.notes, release.model_card_version, release.draft) == ("Edited", 2, False)
    assert [f.pk for f in release_files(release)] == [new.pk]
    html = page(as_owner, f"/model/{carded.pk}/release/1.0.0/edit")
    assert "Keep as a draft" not in html and "cannot go back to draft" in html


def test_a_bad_edit_is_shown_with_its_status_and_stores_nothing(
    carded: Any, as_owner: Client
) -> None:
    make_release(carded, carded.created_by, "1.0.0")
    data = {"notes": "", "model_card_version": "2"}
    html = post(as_owner, f"/model/{carded.pk}/release/1.0.0/edit", data, 400).content.decode()
    assert "This field is required" in html
    assert Release.objects.get().notes == "Release 1.0.0"


@pytest.mark.parametrize(("persona", "status"), [("contributor", 403), ("outsider", 404)])
def test_only_owners_get_the_edit_form(
    carded: Any, client_for: Any, personas: Any, persona: str, status: int
) -> None:
    make_release(carded, carded.created_by, "1.0.0")
    client = client_for(personas[persona])
    page(client, f"/model/{carded.pk}/release/1.0.0/edit", status)
    post(client, f"/model/{carded.pk}/release/1.0.0/edit", {"notes": "x"}, status)
    assert Release.objects.get().notes == "Release 1.0.0"


def test_the_form_offers_the_entrys_pushed_image_tags(
    carded: Any, as_owner: Client, settings: Any
) -> None:
    if not registry.is_configured():
        if stack_required():
            pytest.fail("the registry is not configured but the stack is required")
        pytest.skip("no registry configured (scripts/test.sh uses the running stack)")
    digest = push_tiny_image(carded.pk, "server", "v1")
    try:
        html = page(as_owner, f"/model/{carded.pk}/release/new")
        assert 'value="server:v1"' in html and f"{carded.pk}/server:v1" in html
        data = {"semver": "1.0.0", "notes": "n", "model_card_version": "2", "images": ["server:v1"]}
        post(as_owner, f"/model/{carded.pk}/release/new", data, 302)
        assert Release.objects.get().images == [
            {"repository": carded.pk, "name": "server", "tag": "v1"}
        ]
        html = page(as_owner, f"/model/{carded.pk}/release/1.0.0")
        assert f"docker pull {settings.REGISTRY_HOST}/{carded.pk}/server:v1" in html
    finally:
        registry.delete_manifest(f"{carded.pk}/server", digest)


def test_the_guide_to_creating_a_release_is_published_and_linked(
    carded: Any, as_owner: Client
) -> None:
    assert 'href="/docs/users/creating-a-release"' in page(as_owner, f"/model/{carded.pk}/releases")
    guide = Client().get("/docs/users/creating-a-release")
    assert guide.status_code == 200
    assert "never reused, even after its release is deleted" in guide.content.decode()
