"""Downloads: streamed whole or by range, conditional requests, who may download, by file id and
by release and name, and Bailo's /token twins."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import Any

import pytest

from core.models import AuditEvent
from models_app import policy
from releases.files import downloads
from releases.files.downloads import ByteRange, Unsatisfiable, parse_range
from releases.models import File
from tests.conftest import basic
from tests.releases.files_support import (  # noqa: F401
    api,
    blobs,
    make_release,
    send_part,
    simple_upload,
    start,
)

pytestmark = pytest.mark.django_db

DATA = os.urandom(3 * 1024 * 1024 + 333)


class Grant:
    """A download grant for the test: ``rule(user, model)`` says yes or no."""

    def __init__(self, rule: Callable[[Any, Any], bool]) -> None:
        self.rule = rule

    def allows(self, user: Any, model: Any) -> bool:
        return self.rule(user, model)

    def entry_ids(self, user: Any) -> list[str]:
        return []


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


@pytest.fixture
def stored(client_for: Any, owner: Any, entry: Any) -> File:
    response = simple_upload(
        client_for(owner), entry.pk, DATA, name="weights.bin", mime="application/x-weights"
    )
    assert response.status_code == 200, response.content
    return File.objects.get(pk=response.json()["file"]["id"])


def url(file: File) -> str:
    return api(f"/model/{file.model_id}/file/{file.pk}/download")


def test_a_contributor_downloads_the_whole_file_with_its_headers(
    client_for: Any, contributor: Any, stored: File
) -> None:
    response = client_for(contributor).get(url(stored))
    assert response.status_code == 200
    assert body(response) == DATA
    assert response["Content-Length"] == str(len(DATA))
    assert response["Content-Type"] == "application/x-weights"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Cache-Control"] == "no-store"
    assert response["ETag"] == f'"{stored.pk}-{stored.sha256[:16]}"'
    assert response["X-Content-SHA256"] == hashlib.sha256(DATA).hexdigest()
    assert response["Content-Disposition"] == (
        "attachment; filename=\"weights.bin\"; filename*=UTF-8''weights.bin"
    )
    event = AuditEvent.objects.get(action="file:download")
    assert event.subject == f"{stored.model_id}/{stored.pk}"
    assert event.actor == f"user:{contributor.username}"


def test_a_name_outside_ascii_keeps_its_exact_form_in_the_disposition(
    client_for: Any, owner: Any, entry: Any
) -> None:
    response = simple_upload(client_for(owner), entry.pk, b"x", name="mod%C3%A8le%20%22v1%22.bin")
    file = File.objects.get(pk=response.json()["file"]["id"])
    assert file.name == 'modèle "v1".bin'
    download = client_for(owner).get(url(file))
    assert download["Content-Disposition"] == (
        "attachment; filename=\"mod_le _v1_.bin\"; filename*=UTF-8''mod%C3%A8le%20%22v1%22.bin"
    )


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, len(DATA) - 1),
        ("bytes=-50", len(DATA) - 50, len(DATA) - 1),
        ("bytes=10-99999999", 10, len(DATA) - 1),
    ],
)
def test_a_range_answers_206_with_just_those_bytes(
    client_for: Any, owner: Any, stored: File, header: str, start: int, end: int
) -> None:
    response = client_for(owner).get(url(stored), HTTP_RANGE=header)
    assert response.status_code == 206
    assert body(response) == DATA[start : end + 1]
    assert response["Content-Range"] == f"bytes {start}-{end}/{len(DATA)}"
    assert response["Content-Length"] == str(end - start + 1)
    assert AuditEvent.objects.get(action="file:download").detail["range"] == f"{start}-{end}"


def test_a_range_past_the_end_answers_416_with_the_size(
    client_for: Any, owner: Any, stored: File
) -> None:
    response = client_for(owner).get(url(stored), HTTP_RANGE=f"bytes={len(DATA)}-")
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(DATA)}"
    assert "outside the file" in response.json()["error"]["message"]
    assert not AuditEvent.objects.filter(action="file:download").exists()


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "bytes=abc", "items=0-1", "bytes=9-3"])
def test_several_ranges_or_a_malformed_range_get_the_whole_file(
    client_for: Any, owner: Any, stored: File, header: str
) -> None:
    response = client_for(owner).get(url(stored), HTTP_RANGE=header)
    assert response.status_code == 200
    assert body(response) == DATA


def test_a_matching_if_none_match_answers_304_without_a_body(
    client_for: Any, owner: Any, stored: File
) -> None:
    client = client_for(owner)
    etag = client.get(url(stored))["ETag"]
    response = client.get(url(stored), HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304
    assert response["ETag"] == etag
    assert response.content == b""
    assert client.get(url(stored), HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_if_range_with_another_etag_sends_the_whole_file(
    client_for: Any, owner: Any, stored: File
) -> None:
    client = client_for(owner)
    response = client.get(url(stored), HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"stale"')
    assert response.status_code == 200
    etag = response["ETag"]
    assert client.get(url(stored), HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=etag).status_code == 206


def test_a_consumer_without_an_access_request_is_told_why_they_cannot_download(
    client_for: Any, consumer: Any, stored: File
) -> None:
    response = client_for(consumer).get(url(stored))
    assert response.status_code == 403
    assert "access request" in response.json()["error"]["message"]


def test_a_download_grant_lets_a_consumer_download(
    client_for: Any, consumer: Any, stored: File
) -> None:
    grant = Grant(lambda user, model: user == consumer)
    policy.DOWNLOAD_GRANTS.register(grant)
    try:
        response = client_for(consumer).get(url(stored))
    finally:
        policy.DOWNLOAD_GRANTS.unregister(grant)
    assert response.status_code == 200


def test_ungoverned_access_lets_anyone_who_can_see_the_entry_download(
    client_for: Any, owner: Any, outsider: Any, make_entry: Any
) -> None:
    public = make_entry("Open model", visibility="public")
    public.ungoverned_access = True
    public.save()
    file_id = simple_upload(client_for(owner), public.pk, b"open").json()["file"]["id"]
    response = client_for(outsider).get(api(f"/model/{public.pk}/file/{file_id}/download"))
    assert response.status_code == 200
    assert body(response) == b"open"


def test_an_outsider_gets_404_on_a_private_entry_and_403_on_a_public_one(
    client_for: Any, owner: Any, outsider: Any, stored: File, public_entry: Any
) -> None:
    assert client_for(outsider).get(url(stored)).status_code == 404
    file_id = simple_upload(client_for(owner), public_entry.pk, b"p").json()["file"]["id"]
    response = client_for(outsider).get(api(f"/model/{public_entry.pk}/file/{file_id}/download"))
    assert response.status_code == 403


def test_a_download_blocker_refuses_with_its_reason(
    client_for: Any, owner: Any, stored: File
) -> None:
    def blocker(file: File) -> str:
        return "A virus was found in this file"

    downloads.DOWNLOAD_BLOCKERS.register(blocker)
    try:
        response = client_for(owner).get(url(stored))
    finally:
        downloads.DOWNLOAD_BLOCKERS.unregister(blocker)
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "A virus was found in this file"


def test_a_file_still_uploading_cannot_be_downloaded(
    client_for: Any, owner: Any, entry: Any
) -> None:
    client = client_for(owner)
    started = start(client, entry.pk, 10).json()
    response = client.get(api(f"/model/{entry.pk}/file/{started['file']['id']}/download"))
    assert response.status_code == 409
    assert "has not finished" in response.json()["error"]["message"]


def test_an_unknown_file_or_a_file_of_another_entry_is_404(
    client_for: Any, owner: Any, stored: File, make_entry: Any
) -> None:
    client = client_for(owner)
    assert client.get(api(f"/model/{stored.model_id}/file/nope/download")).status_code == 404
    other = make_entry("Other model")
    assert client.get(api(f"/model/{other.pk}/file/{stored.pk}/download")).status_code == 404


def test_a_release_file_downloads_by_name_and_drafts_only_for_those_who_see_drafts(
    client_for: Any, owner: Any, consumer: Any, stored: File
) -> None:
    make_release(stored.model, "1.2.0", [stored])
    make_release(stored.model, "2.0.0", [stored], draft=True)
    grant = Grant(lambda user, model: True)
    policy.DOWNLOAD_GRANTS.register(grant)
    try:
        by_name = api(f"/model/{stored.model_id}/release/v1.2.0/file/weights.bin/download")
        response = client_for(consumer).get(by_name)
        assert response.status_code == 200
        assert body(response) == DATA
        draft = api(f"/model/{stored.model_id}/release/2.0.0/file/weights.bin/download")
        assert client_for(consumer).get(draft).status_code == 404
        assert client_for(owner).get(draft).status_code == 200
    finally:
        policy.DOWNLOAD_GRANTS.unregister(grant)
    missing = api(f"/model/{stored.model_id}/release/1.2.0/file/other.bin/download")
    response = client_for(owner).get(missing)
    assert response.status_code == 404
    assert "no file named" in response.json()["error"]["message"]
    unknown = api(f"/model/{stored.model_id}/release/9.9.9/file/weights.bin/download")
    assert client_for(owner).get(unknown).status_code == 404


def test_the_token_twins_download_with_a_token(
    client: Any, owner: Any, stored: File, make_token: Any
) -> None:
    make_release(stored.model, "1.0.0", [stored])
    token, secret = make_token(owner, actions=["file:read", "release:read"])
    auth = basic(token.access_key, secret)
    by_id = client.get(api(f"/token/model/{stored.model_id}/file/{stored.pk}/download"), **auth)
    assert by_id.status_code == 200
    assert body(by_id) == DATA
    by_name = client.get(
        api(f"/token/model/{stored.model_id}/release/1.0.0/file/weights.bin/download"), **auth
    )
    assert by_name.status_code == 200


def test_a_token_without_file_read_cannot_download(
    client: Any, owner: Any, stored: File, make_token: Any
) -> None:
    token, secret = make_token(owner, actions=["model:read"])
    response = client.get(
        api(f"/token/model/{stored.model_id}/file/{stored.pk}/download"),
        **basic(token.access_key, secret),
    )
    assert response.status_code == 403
    assert "file:read" in response.json()["error"]["message"]


def test_range_parsing_follows_http() -> None:
    assert parse_range(None, 10) is None
    assert parse_range("bytes=2-4", 10) == ByteRange(2, 4)
    assert parse_range("bytes=-3", 10) == ByteRange(7, 9)
    assert parse_range("bytes=-30", 10) == ByteRange(0, 9)
    assert parse_range(" bytes = 5 - ", 10) == ByteRange(5, 9)
    for unsatisfiable in ("bytes=10-", "bytes=-0", "bytes=10-20"):
        with pytest.raises(Unsatisfiable):
            parse_range(unsatisfiable, 10)


def test_a_large_file_streams_in_order_across_storage_segments(
    client_for: Any, owner: Any, entry: Any
) -> None:
    big = os.urandom(2 * downloads.DOWNLOAD_SEGMENT + 4321)
    client = client_for(owner)
    file = File.objects.get(pk=simple_upload(client, entry.pk, big).json()["file"]["id"])
    whole = client.get(url(file))
    assert whole.status_code == 200
    assert body(whole) == big
    start, end = downloads.DOWNLOAD_SEGMENT - 10, 2 * downloads.DOWNLOAD_SEGMENT + 10
    part = client.get(url(file), HTTP_RANGE=f"bytes={start}-{end}")
    assert part.status_code == 206
    assert body(part) == big[start : end + 1]


def test_a_complete_file_whose_bytes_are_missing_answers_a_clear_404(
    client_for: Any, owner: Any, stored: File
) -> None:
    from core.ports.storage import blob_store

    blob_store().delete(stored.storage_key)
    response = client_for(owner).get(url(stored))
    assert response.status_code == 404
    assert "stored bytes" in response.json()["error"]["message"]
