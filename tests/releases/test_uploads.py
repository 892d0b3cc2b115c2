"""Uploads through the API: simple (one streamed body) and multipart (start, parts, finish),
metadata changes, the abandoned-upload sweep, and every refusal leaving nothing behind."""

from __future__ import annotations

import json
import os
import tracemalloc
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from core.errors import BadRequest
from core.models import AuditEvent
from core.ports.storage import MAX_PARTS, MIN_PART_SIZE, blob_store
from releases.files import services as file_services
from releases.files.tasks import ABANDONED_SWEEP_EVERY
from releases.models import File, FilePart
from tests.conftest import basic
from tests.releases.files_support import (  # noqa: F401
    api,
    blobs,
    finish,
    make_release,
    multipart_upload,
    send_part,
    sha256,
    simple_upload,
    start,
    stored_bytes,
    stored_keys,
)

pytestmark = pytest.mark.django_db


def error(response: Any) -> str:
    return str(response.json()["error"]["message"])


# --- simple upload ----------------------------------------------------------------------------


def test_an_owner_uploads_a_file_in_one_request_and_gets_it_complete_with_its_sha256(
    client_for: Any, owner: Any, entry: Any
) -> None:
    data = os.urandom(300_000)
    response = simple_upload(
        client_for(owner), entry.pk, data, name="model.onnx", mime="application/onnx", tags="a,b"
    )
    assert response.status_code == 200, response.content
    body = response.json()["file"]
    assert body["name"] == "model.onnx"
    assert body["size"] == len(data)
    assert body["mime"] == "application/onnx"
    assert body["tags"] == ["a", "b"]
    assert body["sha256"] == sha256(data)
    assert body["complete"] is True
    assert body["id"] == body["_id"] and len(body["id"]) == 24
    file = File.objects.get(pk=body["id"])
    assert file.storage_key.startswith(f"beta/model/{entry.pk}/files/")
    assert stored_bytes(file) == data
    assert AuditEvent.objects.filter(action="file:upload", subject=f"{entry.pk}/{file.pk}").exists()


def test_a_simple_upload_far_above_the_json_body_limit_streams_through(
    client_for: Any, contributor: Any, entry: Any
) -> None:
    data = os.urandom(20 * settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    response = simple_upload(client_for(contributor), entry.pk, data)
    assert response.status_code == 200, response.content
    assert stored_bytes(File.objects.get(pk=response.json()["file"]["id"])) == data


def test_a_browser_session_uploads_a_large_raw_body_with_the_csrf_header(
    owner: Any, entry: Any
) -> None:
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    client.get(f"/model/{entry.pk}/files")  # sets the CSRF cookie, as the page does
    token = client.cookies["csrftoken"].value
    data = os.urandom(2 * 1024 * 1024)
    url = api(f"/model/{entry.pk}/files/upload/simple?name=browser.bin")
    refused = client.post(url, data=data, content_type="application/octet-stream")
    assert refused.status_code == 401
    assert "CSRF" in error(refused)
    response = client.post(
        url, data=data, content_type="application/octet-stream", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 200, response.content
    assert response.json()["file"]["sha256"] == sha256(data)


@pytest.mark.parametrize("with_length", [True, False], ids=["content-length", "chunked"])
def test_a_simple_upload_holds_a_few_parts_in_memory_not_the_whole_file(
    owner: Any, entry: Any, with_length: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a Content-Length each part streams through (less than a part held); without one,
    a few parts are held while they are stored."""
    from models_app.policy import Actor

    part = 8 * 2**20
    data = os.urandom(6 * part)
    if with_length:
        # Parts of the usual size would make this one part; six stream through one by one.
        monkeypatch.setattr(file_services, "SIMPLE_UPLOAD_STREAMED_PART", part)
        limit = part // 2
    else:
        # Parts of the usual size for a file of unknown length would make this test 100 MiB.
        monkeypatch.setattr(file_services, "SIMPLE_UPLOAD_UNKNOWN_LENGTH_PART", part)
        held = file_services.SIMPLE_UPLOAD_IN_FLIGHT + 2  # being stored, being read, and slack
        limit = held * part
    # The body is already in memory (as a server's socket buffer would not be): only what the
    # upload itself allocates is traced, chunk by chunk as a request stream gives it.
    chunks = (data[i : i + 2**20] for i in range(0, len(data), 2**20))
    blob_store()  # the storage client (and its service description) exists before tracing
    tracemalloc.start()
    try:
        file = file_services.file_upload_simple(
            actor=Actor(user=owner),
            model=entry,
            name="big.bin",
            mime="",
            tags=None,
            stream=chunks,
            length=len(data) if with_length else None,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < limit, f"peak {peak / 2**20:.1f} MiB for a {len(data) / 2**20:.0f} MiB file"
    assert file.sha256 == sha256(data)


def test_a_simple_upload_of_several_parts_keeps_their_order(
    client_for: Any, owner: Any, entry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(file_services, "SIMPLE_UPLOAD_STREAMED_PART", MIN_PART_SIZE)
    data = os.urandom(2 * MIN_PART_SIZE + 12345)
    response = simple_upload(client_for(owner), entry.pk, data)
    assert response.status_code == 200, response.content
    assert stored_bytes(File.objects.get(pk=response.json()["file"]["id"])) == data


@pytest.mark.parametrize(
    "name",
    [
        "dir/file.bin",
        "dir\\file.bin",
        "..",
        "up..down",
        "line\nbreak",
        "nul\x00",
        "bell\x07",
        "",
        "   ",
        "x" * 256,
        "\u202eexe.txt",
    ],
)
def test_file_names_with_separators_dots_control_characters_or_bad_lengths_are_refused(
    client_for: Any, owner: Any, entry: Any, name: str
) -> None:
    from urllib.parse import quote

    response = simple_upload(client_for(owner), entry.pk, b"data", name=quote(name, safe=""))
    assert response.status_code == 400
    assert "name" in error(response).lower()
    assert not File.all_objects.filter(model=entry).exists()
    assert stored_keys(entry.pk) == []


def test_a_name_of_255_characters_is_accepted(client_for: Any, owner: Any, entry: Any) -> None:
    response = simple_upload(client_for(owner), entry.pk, b"data", name="n" * 255)
    assert response.status_code == 200


def test_an_empty_simple_upload_is_refused(client_for: Any, owner: Any, entry: Any) -> None:
    response = simple_upload(client_for(owner), entry.pk, b"")
    assert response.status_code == 400
    assert "empty" in error(response).lower()
    assert not File.all_objects.filter(model=entry).exists()


def test_a_malformed_media_type_is_refused(client_for: Any, owner: Any, entry: Any) -> None:
    response = simple_upload(client_for(owner), entry.pk, b"data", mime="not a type")
    assert response.status_code == 400
    assert "mime" in error(response)


def test_a_data_card_takes_no_files(client_for: Any, owner: Any, make_entry: Any) -> None:
    card = make_entry("A data card", kind="data-card")
    response = simple_upload(client_for(owner), card.pk, b"data")
    assert response.status_code == 400
    assert "Data cards have no files" in error(response)
    assert start(client_for(owner), card.pk, 10).status_code == 400
    assert not File.all_objects.filter(model=card).exists()


def test_a_consumer_cannot_upload(client_for: Any, consumer: Any, entry: Any) -> None:
    response = simple_upload(client_for(consumer), entry.pk, b"data")
    assert response.status_code == 403
    assert "permission" in error(response)
    assert not File.all_objects.filter(model=entry).exists()


def test_an_outsider_cannot_tell_a_private_entry_exists(
    client_for: Any, outsider: Any, entry: Any
) -> None:
    assert simple_upload(client_for(outsider), entry.pk, b"data").status_code == 404
    assert start(client_for(outsider), entry.pk, 10).status_code == 404


def test_anonymous_uploads_are_refused(client_for: Any, entry: Any) -> None:
    assert simple_upload(client_for(None), entry.pk, b"data").status_code == 401


def test_a_token_without_file_write_cannot_upload(
    client: Any, owner: Any, entry: Any, make_token: Any
) -> None:
    token, secret = make_token(owner, actions=["file:read", "model:read"])
    response = client.post(
        api(f"/model/{entry.pk}/files/upload/simple?name=x.bin"),
        data=b"data",
        content_type="application/octet-stream",
        **basic(token.access_key, secret),
    )
    assert response.status_code == 403
    assert "file:write" in error(response)


def test_a_token_with_file_write_can_upload(
    client: Any, owner: Any, entry: Any, make_token: Any
) -> None:
    token, secret = make_token(owner, actions=["file:write"])
    response = client.post(
        api(f"/model/{entry.pk}/files/upload/simple?name=x.bin"),
        data=b"data",
        content_type="application/octet-stream",
        **basic(token.access_key, secret),
    )
    assert response.status_code == 200, response.content


# --- multipart upload -------------------------------------------------------------------------


def test_a_multipart_upload_plans_parts_with_inclusive_end_bytes(
    client_for: Any, owner: Any, entry: Any
) -> None:
    size = 2 * MIN_PART_SIZE + 10
    response = start(client_for(owner), entry.pk, size, tags=["raw"])
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["chunks"] == [
        {"startByte": 0, "endByte": MIN_PART_SIZE - 1},
        {"startByte": MIN_PART_SIZE, "endByte": 2 * MIN_PART_SIZE - 1},
        {"startByte": 2 * MIN_PART_SIZE, "endByte": size - 1},
    ]
    assert body["uploadId"]
    assert body["file"]["complete"] is False
    assert body["file"]["tags"] == ["raw"]
    # Invisible until complete.
    listed = client_for(owner).get(api(f"/model/{entry.pk}/files")).json()["files"]
    assert listed == []


def test_the_part_size_grows_so_no_file_needs_more_than_ten_thousand_parts(
    client_for: Any, owner: Any, entry: Any
) -> None:
    size = 200 * 1024**3
    body = start(client_for(owner), entry.pk, size).json()
    chunks = body["chunks"]
    assert len(chunks) <= MAX_PARTS
    assert chunks[-1]["endByte"] == size - 1
    assert all(c["endByte"] - c["startByte"] + 1 >= MIN_PART_SIZE for c in chunks[:-1])
    file_services.abort_abandoned_uploads(older_than=timedelta(seconds=-1))


def test_a_multipart_upload_stores_the_file_and_records_its_sha256(
    client_for: Any, owner: Any, entry: Any, django_capture_on_commit_callbacks: Any
) -> None:
    data = os.urandom(MIN_PART_SIZE + 1000)
    with django_capture_on_commit_callbacks(execute=True):
        file = multipart_upload(client_for(owner), entry.pk, data)
    file.refresh_from_db()
    assert file.complete and file.upload_id == ""
    assert file.size == len(data)
    assert file.sha256 == sha256(data)
    assert stored_bytes(file) == data
    assert not FilePart.objects.filter(file=file).exists()
    listed = client_for(owner).get(api(f"/model/{entry.pk}/files")).json()["files"]
    assert [f["id"] for f in listed] == [file.pk]


def test_a_part_with_the_wrong_length_is_refused_and_nothing_is_stored(
    client_for: Any, owner: Any, entry: Any
) -> None:
    client = client_for(owner)
    body = start(client, entry.pk, MIN_PART_SIZE + 5).json()
    file_id, upload_id = body["file"]["id"], body["uploadId"]
    response = send_part(client, entry.pk, file_id, upload_id, 2, b"123456")
    assert response.status_code == 400
    assert "exactly 5 bytes" in error(response)
    assert not FilePart.objects.filter(file_id=file_id).exists()


@pytest.mark.parametrize("number", ["0", "3", "-1", "x"])
def test_a_part_number_outside_the_plan_is_refused(
    client_for: Any, owner: Any, entry: Any, number: str
) -> None:
    client = client_for(owner)
    body = start(client, entry.pk, MIN_PART_SIZE + 5).json()
    response = client.post(
        api(
            f"/model/{entry.pk}/files/upload/multipart/part?fileId={body['file']['id']}"
            f"&uploadId={body['uploadId']}&partNumber={number}"
        ),
        data=b"12345",
        content_type="application/octet-stream",
    )
    assert response.status_code == 400
    assert "partNumber" in error(response)


def test_finishing_with_a_missing_part_names_it_then_succeeds_once_it_is_sent(
    client_for: Any, owner: Any, entry: Any
) -> None:
    client = client_for(owner)
    data = os.urandom(2 * MIN_PART_SIZE + 7)
    body = start(client, entry.pk, len(data)).json()
    file_id, upload_id, chunks = body["file"]["id"], body["uploadId"], body["chunks"]
    pieces = [data[c["startByte"] : c["endByte"] + 1] for c in chunks]
    etags = {}
    for number in (1, 3):
        etags[number] = send_part(client, entry.pk, file_id, upload_id, number, pieces[number - 1])
        etags[number] = etags[number].json()["ETag"]
    parts = [{"PartNumber": n, "ETag": e} for n, e in etags.items()]
    response = finish(client, entry.pk, file_id, upload_id, parts)
    assert response.status_code == 400
    assert error(response) == "Parts not uploaded yet: 2"
    assert response.json()["error"]["context"]["missingParts"] == [2]
    assert not File.objects.get(pk=file_id).complete

    etags[2] = send_part(client, entry.pk, file_id, upload_id, 2, pieces[1]).json()["ETag"]
    parts = [{"PartNumber": n, "ETag": etags[n]} for n in (1, 2, 3)]
    response = finish(client, entry.pk, file_id, upload_id, parts)
    assert response.status_code == 200, response.content
    assert stored_bytes(File.objects.get(pk=file_id)) == data


def test_finishing_with_a_parts_list_that_leaves_one_out_is_refused(
    client_for: Any, owner: Any, entry: Any
) -> None:
    client = client_for(owner)
    data = os.urandom(MIN_PART_SIZE + 3)
    body = start(client, entry.pk, len(data)).json()
    file_id, upload_id = body["file"]["id"], body["uploadId"]
    first = send_part(client, entry.pk, file_id, upload_id, 1, data[:MIN_PART_SIZE]).json()
    send_part(client, entry.pk, file_id, upload_id, 2, data[MIN_PART_SIZE:])
    response = finish(client, entry.pk, file_id, upload_id, [{"PartNumber": 1, **first}])
    assert response.status_code == 400
    assert "missing: 2" in error(response)
    response = finish(
        client,
        entry.pk,
        file_id,
        upload_id,
        [{"PartNumber": 1, "ETag": first["ETag"]}, {"PartNumber": 2, "ETag": '"0000"'}],
    )
    assert response.status_code == 400
    assert "does not match" in error(response)
    assert not File.objects.get(pk=file_id).complete


def test_an_unknown_upload_id_is_refused(client_for: Any, owner: Any, entry: Any) -> None:
    client = client_for(owner)
    body = start(client, entry.pk, 10).json()
    response = send_part(client, entry.pk, body["file"]["id"], "not-the-upload", 1, b"0123456789")
    assert response.status_code == 404
    assert "uploadId" in error(response)
    response = finish(
        client, entry.pk, body["file"]["id"], "not-the-upload", [{"PartNumber": 1, "ETag": "x"}]
    )
    assert response.status_code == 404


def test_a_part_for_another_entrys_file_is_refused(
    client_for: Any, owner: Any, entry: Any, make_entry: Any
) -> None:
    client = client_for(owner)
    other = make_entry("Other model")
    body = start(client, entry.pk, 10).json()
    response = send_part(client, other.pk, body["file"]["id"], body["uploadId"], 1, b"0123456789")
    assert response.status_code == 404
    assert not FilePart.objects.exists()


def test_a_consumer_cannot_send_parts_to_an_upload(
    client_for: Any, owner: Any, consumer: Any, entry: Any
) -> None:
    body = start(client_for(owner), entry.pk, 10).json()
    response = send_part(
        client_for(consumer), entry.pk, body["file"]["id"], body["uploadId"], 1, b"0123456789"
    )
    assert response.status_code == 403
    assert not FilePart.objects.exists()


def test_sending_a_part_again_replaces_it(client_for: Any, owner: Any, entry: Any) -> None:
    client = client_for(owner)
    body = start(client, entry.pk, 4).json()
    file_id, upload_id = body["file"]["id"], body["uploadId"]
    send_part(client, entry.pk, file_id, upload_id, 1, b"aaaa")
    etag = send_part(client, entry.pk, file_id, upload_id, 1, b"bbbb").json()["ETag"]
    assert FilePart.objects.filter(file_id=file_id).count() == 1
    response = finish(client, entry.pk, file_id, upload_id, [{"PartNumber": 1, "ETag": etag}])
    assert response.status_code == 200
    assert stored_bytes(File.objects.get(pk=file_id)) == b"bbbb"


def test_the_parts_already_stored_can_be_listed_to_resume(
    client_for: Any, owner: Any, entry: Any
) -> None:
    client = client_for(owner)
    body = start(client, entry.pk, MIN_PART_SIZE + 1).json()
    file_id, upload_id = body["file"]["id"], body["uploadId"]
    etag = send_part(client, entry.pk, file_id, upload_id, 2, b"z").json()["ETag"]
    response = client.get(
        api(f"/model/{entry.pk}/files/upload/multipart/parts?fileId={file_id}&uploadId={upload_id}")
    )
    assert response.status_code == 200
    assert response.json()["parts"] == [{"PartNumber": 2, "ETag": etag, "size": 1}]
    assert response.json()["chunks"] == body["chunks"]


def test_finishing_twice_answers_the_same_file(client_for: Any, owner: Any, entry: Any) -> None:
    client = client_for(owner)
    body = start(client, entry.pk, 3).json()
    file_id, upload_id = body["file"]["id"], body["uploadId"]
    etag = send_part(client, entry.pk, file_id, upload_id, 1, b"abc").json()["ETag"]
    parts = [{"PartNumber": 1, "ETag": etag}]
    first = finish(client, entry.pk, file_id, upload_id, parts)
    again = finish(client, entry.pk, file_id, upload_id, parts)
    assert first.status_code == again.status_code == 200
    assert first.json()["file"]["id"] == again.json()["file"]["id"]
    assert send_part(client, entry.pk, file_id, upload_id, 1, b"abc").status_code == 409


@pytest.mark.parametrize(
    "body",
    [
        {"size": 10},
        {"name": "a", "size": 0},
        {"name": "a", "size": "10"},
        {"name": "a/b", "size": 1},
        {"name": "a", "size": 1, "tags": "x" * 101},
    ],
)
def test_a_bad_multipart_start_is_refused_and_opens_nothing(
    client_for: Any, owner: Any, entry: Any, body: dict[str, Any]
) -> None:
    response = client_for(owner).post(
        api(f"/model/{entry.pk}/files/upload/multipart/start"),
        data=json.dumps(body),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert not File.all_objects.filter(model=entry).exists()


def test_completed_hooks_run_once_for_each_completed_file(
    client_for: Any, owner: Any, entry: Any, django_capture_on_commit_callbacks: Any
) -> None:
    seen: list[str] = []

    def probe(file: File) -> None:
        seen.append(file.pk)

    file_services.FILE_COMPLETED.register(probe)
    try:
        client = client_for(owner)
        with django_capture_on_commit_callbacks(execute=True):
            simple = simple_upload(client, entry.pk, b"one").json()["file"]["id"]
            multi = multipart_upload(client, entry.pk, b"two").pk
    finally:
        file_services.FILE_COMPLETED.unregister(probe)
    assert seen == [simple, multi]


# --- abandoned uploads ------------------------------------------------------------------------


def test_uploads_idle_for_a_day_are_aborted_and_forgotten(
    client_for: Any, owner: Any, entry: Any
) -> None:
    client = client_for(owner)
    old = start(client, entry.pk, 10, name="old.bin").json()
    send_part(client, entry.pk, old["file"]["id"], old["uploadId"], 1, b"0123456789")
    recent = start(client, entry.pk, 10, name="recent.bin").json()
    File.objects.filter(pk=old["file"]["id"]).update(
        updated_at=timezone.now() - timedelta(hours=25)
    )
    assert file_services.abort_abandoned_uploads() == 1
    assert not File.all_objects.filter(pk=old["file"]["id"]).exists()
    assert not FilePart.objects.filter(file_id=old["file"]["id"]).exists()
    assert File.all_objects.filter(pk=recent["file"]["id"]).exists()
    # The storage upload is gone: its parts can no longer be sent.
    store = blob_store()
    with pytest.raises(Exception):  # each adapter raises its own "no such upload"
        store.multipart_complete(f"beta/model/{entry.pk}/x", old["uploadId"], [])
    assert file_services.abort_abandoned_uploads() == 0


def test_the_abandoned_upload_sweep_runs_every_hour() -> None:
    from bailo_site.celery import app

    entry = app.conf.beat_schedule["releases-abort-abandoned-uploads"]
    assert entry["task"] == "releases.abort_abandoned_uploads"
    assert entry["schedule"] == ABANDONED_SWEEP_EVERY.total_seconds()


# --- metadata ---------------------------------------------------------------------------------


def test_an_uploader_renames_and_retags_a_file(
    client_for: Any, owner: Any, contributor: Any, entry: Any
) -> None:
    file_id = simple_upload(client_for(owner), entry.pk, b"abc").json()["file"]["id"]
    response = client_for(contributor).patch(
        api(f"/model/{entry.pk}/file/{file_id}"),
        data=json.dumps({"name": "renamed.bin", "tags": ["x"], "mime": "text/plain"}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()["file"]
    assert (body["name"], body["tags"], body["mime"]) == ("renamed.bin", ["x"], "text/plain")


def test_a_consumer_cannot_rename_a_file(
    client_for: Any, owner: Any, consumer: Any, entry: Any
) -> None:
    file_id = simple_upload(client_for(owner), entry.pk, b"abc").json()["file"]["id"]
    response = client_for(consumer).patch(
        api(f"/model/{entry.pk}/file/{file_id}"),
        data=json.dumps({"name": "renamed.bin"}),
        content_type="application/json",
    )
    assert response.status_code == 403
    assert File.objects.get(pk=file_id).name == "weights.bin"


def test_a_rename_to_a_bad_name_is_refused(client_for: Any, owner: Any, entry: Any) -> None:
    file_id = simple_upload(client_for(owner), entry.pk, b"abc").json()["file"]["id"]
    response = client_for(owner).patch(
        api(f"/model/{entry.pk}/file/{file_id}"),
        data=json.dumps({"name": "../etc/passwd"}),
        content_type="application/json",
    )
    assert response.status_code == 400


def test_a_rename_that_would_clash_inside_a_release_is_refused(
    client_for: Any, owner: Any, entry: Any
) -> None:
    client = client_for(owner)
    first = File.objects.get(
        pk=simple_upload(client, entry.pk, b"1", name="a.bin").json()["file"]["id"]
    )
    second = File.objects.get(
        pk=simple_upload(client, entry.pk, b"2", name="b.bin").json()["file"]["id"]
    )
    make_release(entry, "1.0.0", [first, second])
    response = client.patch(
        api(f"/model/{entry.pk}/file/{second.pk}"),
        data=json.dumps({"name": "a.bin"}),
        content_type="application/json",
    )
    assert response.status_code == 409
    assert "1.0.0" in error(response)


def test_only_uploaders_may_delete_a_file_and_a_deleted_file_is_no_longer_listed(
    client_for: Any, owner: Any, consumer: Any, entry: Any
) -> None:
    file_id = simple_upload(client_for(owner), entry.pk, b"abc").json()["file"]["id"]
    assert client_for(consumer).delete(api(f"/model/{entry.pk}/file/{file_id}")).status_code == 403
    assert client_for(owner).delete(api(f"/model/{entry.pk}/file/unknown")).status_code == 404
    assert client_for(owner).delete(api(f"/model/{entry.pk}/file/{file_id}")).status_code == 200
    assert client_for(owner).get(api(f"/model/{entry.pk}/files")).json()["files"] == []


def test_listing_files_costs_the_same_queries_for_one_file_or_many(
    client_for: Any, owner: Any, entry: Any, django_assert_max_num_queries: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(owner)
    simple_upload(client, entry.pk, b"1")
    with CaptureQueriesContext(connection) as one:
        client.get(api(f"/model/{entry.pk}/files"))
    queries_for_one = len(one)
    for n in range(4):
        simple_upload(client, entry.pk, str(n).encode(), name=f"f{n}.bin")
    with django_assert_max_num_queries(queries_for_one):
        response = client.get(api(f"/model/{entry.pk}/files"))
    assert len(response.json()["files"]) == 5


def test_a_chunked_body_is_read_to_its_end_when_the_server_decodes_it() -> None:
    import io

    from django.test import RequestFactory

    from releases.files.api import request_body
    from releases.files.services import LengthRequired

    data = os.urandom(3 * 1024 * 1024 + 5)
    request = RequestFactory().generic(
        "POST", "/", HTTP_TRANSFER_ENCODING="chunked", content_type="application/octet-stream"
    )
    request.META.pop("CONTENT_LENGTH", None)
    request.META["wsgi.input"] = io.BytesIO(data)
    request.META["wsgi.input_terminated"] = True
    stream, length = request_body(request)
    assert length is None
    assert b"".join(stream) == data

    request.META["wsgi.input_terminated"] = False
    with pytest.raises(LengthRequired):
        request_body(request)


def test_a_body_shorter_than_its_content_length_is_refused_and_nothing_is_kept(
    owner: Any, entry: Any
) -> None:
    import io

    from models_app.policy import Actor
    from releases.files.services import body_chunks

    with pytest.raises(BadRequest) as refused:
        file_services.file_upload_simple(
            actor=Actor(user=owner),
            model=entry,
            name="short.bin",
            mime=None,
            tags=None,
            stream=body_chunks(io.BytesIO(b"x" * 100).read, 1000),
            length=1000,
        )
    assert "ended after 100 of 1000 bytes" in refused.value.message
    assert not File.all_objects.filter(model=entry).exists()
    assert stored_keys(entry.pk) == []


def test_a_large_file_is_planned_in_fewer_larger_parts(
    client_for: Any, owner: Any, entry: Any
) -> None:
    """Each part request pays for authentication and bookkeeping, and storage for each part:
    1 GiB is 16 parts of 64 MiB, not 205 of 5 MiB; small files keep S3's smallest part size."""
    gib = 1024**3
    target = file_services.MULTIPART_TARGET_PARTS
    assert file_services.multipart_part_size(gib) == 64 * 1024 * 1024
    assert file_services.multipart_part_size(10 * 1024 * 1024) == MIN_PART_SIZE
    assert file_services.multipart_part_size(target * MIN_PART_SIZE) == MIN_PART_SIZE
    assert file_services.multipart_part_size(target * MIN_PART_SIZE + 1) == MIN_PART_SIZE + 1024**2
    assert file_services.multipart_part_size(1024 * gib) > file_services.MULTIPART_MAX_PART
    chunks = start(client_for(owner), entry.pk, gib).json()["chunks"]
    assert len(chunks) == 16
    assert {c["endByte"] - c["startByte"] + 1 for c in chunks} == {64 * 1024 * 1024}
    file_services.abort_abandoned_uploads(older_than=timedelta(seconds=-1))


def test_a_part_sent_again_replaces_the_first_at_the_same_cost_in_queries(
    client_for: Any, owner: Any, entry: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(owner)
    data = os.urandom(MIN_PART_SIZE + 3)
    body = start(client, entry.pk, len(data)).json()
    file_id, upload_id = body["file"]["id"], body["uploadId"]
    with CaptureQueriesContext(connection) as first:
        send_part(client, entry.pk, file_id, upload_id, 1, data[:MIN_PART_SIZE])
    other = os.urandom(MIN_PART_SIZE)
    with CaptureQueriesContext(connection) as again:
        etag = send_part(client, entry.pk, file_id, upload_id, 1, other).json()["ETag"]
    assert len(again) == len(first)
    stored = FilePart.objects.get(file_id=file_id, part_number=1)
    assert stored.etag == etag and FilePart.objects.filter(file_id=file_id).count() == 1
    send_part(client, entry.pk, file_id, upload_id, 2, data[MIN_PART_SIZE:])
    response = finish(
        client,
        entry.pk,
        file_id,
        upload_id,
        [
            {"PartNumber": p.part_number, "ETag": p.etag}
            for p in FilePart.objects.filter(file_id=file_id)
        ],
    )
    assert response.status_code == 200, response.content
    assert stored_bytes(File.objects.get(pk=file_id)) == other + data[MIN_PART_SIZE:]
