"""The Files tab: who sees what, the upload form without JavaScript, editing, page downloads."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from models_app.frame import ENTRY_TABS
from releases.models import File, ScanResult, ScanState
from tests.releases.files_support import blobs, simple_upload, stored_bytes  # noqa: F401

pytestmark = pytest.mark.django_db


def page_url(entry: Any) -> str:
    return reverse("entry-files", kwargs={"model_id": entry.pk})


@pytest.fixture
def uploaded(client_for: Any, owner: Any, entry: Any) -> File:
    response = simple_upload(client_for(owner), entry.pk, b"weights", name="model.pt", tags="fp16")
    return File.objects.get(pk=response.json()["file"]["id"])


def test_the_files_tab_sits_between_registry_and_settings_for_models_only() -> None:
    tab = next(t for t in ENTRY_TABS if t.key == "files")
    assert (tab.label, tab.url_name, tab.order) == ("Files", "entry-files", 50)
    assert "data-card" not in tab.kinds


def test_an_owner_sees_files_with_size_tags_scan_state_download_and_edit(
    client_for: Any, owner: Any, entry: Any, uploaded: File
) -> None:
    ScanResult.objects.create(file=uploaded, tool_name="Clam AV", state=ScanState.COMPLETE)
    response = client_for(owner).get(page_url(entry))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'aria-current="page">Files</a>' in html
    assert "model.pt" in html
    assert "7\xa0bytes" in html
    assert '<li class="chip">fp16</li>' in html
    assert "Scanned, clean" in html
    assert reverse("file-download", kwargs={"model_id": entry.pk, "file_id": uploaded.pk}) in html
    assert reverse("file-edit", kwargs={"model_id": entry.pk, "file_id": uploaded.pk}) in html
    assert 'enctype="multipart/form-data"' in html
    assert "js/uploader.js" in html
    assert '<label for="upload-files">' in html


def test_the_worst_scan_state_and_findings_show_on_the_chip(
    client_for: Any, owner: Any, entry: Any, uploaded: File
) -> None:
    ScanResult.objects.create(
        file=uploaded, tool_name="Clam AV", state=ScanState.COMPLETE, summary=[{"virus": "Eicar"}]
    )
    ScanResult.objects.create(file=uploaded, tool_name="ModelScan", state=ScanState.IN_PROGRESS)
    html = client_for(owner).get(page_url(entry)).content.decode()
    assert "1 finding" in html
    assert "scan-inProgress" in html


def test_a_consumer_sees_the_list_but_no_upload_form_or_download_link(
    client_for: Any, consumer: Any, entry: Any, uploaded: File
) -> None:
    html = client_for(consumer).get(page_url(entry)).content.decode()
    assert "model.pt" in html
    assert "Upload files" not in html
    assert 'class="file-edit"' not in html and "/edit" not in html
    assert "/download" not in html
    assert "downloads need the owner or contributor role" in html


def test_an_outsider_gets_404_and_anonymous_people_are_sent_to_sign_in(
    client_for: Any, outsider: Any, entry: Any
) -> None:
    assert client_for(outsider).get(page_url(entry)).status_code == 404
    response = client_for(None).get(page_url(entry))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_a_data_card_has_no_files_tab(client_for: Any, owner: Any, make_entry: Any) -> None:
    card = make_entry("A data card", kind="data-card")
    assert client_for(owner).get(page_url(card)).status_code == 404


def test_uploading_without_javascript_stores_each_file_with_its_tags(
    client_for: Any, contributor: Any, entry: Any
) -> None:
    client = client_for(contributor)
    files = [
        SimpleUploadedFile("a.txt", b"alpha", "text/plain"),
        SimpleUploadedFile("b.bin", b"beta" * 1000),
    ]
    response = client.post(
        reverse("files-upload", kwargs={"model_id": entry.pk}),
        {"files": files, "tags": "one, two"},
        follow=True,
    )
    assert response.status_code == 200
    assert "Uploaded a.txt, b.bin." in response.content.decode()
    stored = {f.name: f for f in File.objects.filter(model=entry)}
    assert stored_bytes(stored["a.txt"]) == b"alpha"
    assert stored["a.txt"].mime == "text/plain"
    assert stored["b.bin"].tags == ["one", "two"]
    assert all(f.complete and f.sha256 for f in stored.values())


def test_uploading_nothing_shows_the_error_on_the_form(
    client_for: Any, owner: Any, entry: Any
) -> None:
    response = client_for(owner).post(
        reverse("files-upload", kwargs={"model_id": entry.pk}), {"tags": "kept"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose at least one file to upload" in html
    assert 'aria-invalid="true"' in html
    assert 'value="kept"' in html


def test_a_consumer_cannot_upload_through_the_form(
    client_for: Any, consumer: Any, entry: Any
) -> None:
    response = client_for(consumer).post(
        reverse("files-upload", kwargs={"model_id": entry.pk}),
        {"files": [SimpleUploadedFile("a.txt", b"alpha")]},
    )
    assert response.status_code == 403
    assert not File.all_objects.filter(model=entry).exists()


def test_an_uploader_renames_and_retags_a_file_from_the_page(
    client_for: Any, contributor: Any, entry: Any, uploaded: File
) -> None:
    edit = reverse("file-edit", kwargs={"model_id": entry.pk, "file_id": uploaded.pk})
    response = client_for(contributor).post(edit, {"name": "final.pt", "tags": "a, b"}, follow=True)
    assert response.status_code == 200
    assert "Saved the changes to final.pt." in response.content.decode()
    uploaded.refresh_from_db()
    assert (uploaded.name, uploaded.tags) == ("final.pt", ["a", "b"])


def test_a_bad_new_name_is_shown_next_to_that_file(
    client_for: Any, owner: Any, entry: Any, uploaded: File
) -> None:
    edit = reverse("file-edit", kwargs={"model_id": entry.pk, "file_id": uploaded.pk})
    response = client_for(owner).post(edit, {"name": "../x", "tags": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="edit-{uploaded.pk}-error"' in html
    assert "may not contain" in html
    assert f'aria-describedby="edit-{uploaded.pk}-error"' in html
    uploaded.refresh_from_db()
    assert uploaded.name == "model.pt"


def test_a_consumer_cannot_edit_a_file(
    client_for: Any, consumer: Any, entry: Any, uploaded: File
) -> None:
    edit = reverse("file-edit", kwargs={"model_id": entry.pk, "file_id": uploaded.pk})
    assert client_for(consumer).post(edit, {"name": "x.pt"}).status_code == 403


def test_the_download_link_streams_the_file_and_refusals_are_pages(
    client_for: Any, owner: Any, consumer: Any, entry: Any, uploaded: File
) -> None:
    link = reverse("file-download", kwargs={"model_id": entry.pk, "file_id": uploaded.pk})
    response = client_for(owner).get(link, HTTP_RANGE="bytes=1-3")
    assert response.status_code == 206
    assert b"".join(response.streaming_content) == b"eig"
    refused = client_for(consumer).get(link)
    assert refused.status_code == 403
    assert "access request" in refused.content.decode()
    missing = reverse("file-download", kwargs={"model_id": entry.pk, "file_id": "nope"})
    assert client_for(owner).get(missing).status_code == 404


def test_the_page_costs_the_same_queries_for_one_file_or_many(
    client_for: Any, owner: Any, entry: Any, uploaded: File, django_assert_max_num_queries: Any
) -> None:
    client = client_for(owner)
    with CaptureQueriesContext(connection) as one:
        client.get(page_url(entry))
    queries_for_one = len(one)
    for n in range(4):
        file_id = simple_upload(client, entry.pk, b"x", name=f"f{n}").json()["file"]["id"]
        ScanResult.objects.create(file_id=file_id, tool_name="Clam AV")
    with django_assert_max_num_queries(queries_for_one):
        response = client.get(page_url(entry))
    assert response.content.decode().count('class="file-edit"') == 5
