"""``POST /api/v2/model/import/s3`` and the transfer routes on one instance: where a payload may
come from, who may import, what a documents import writes, retries, and deletion."""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from core.ports.signing import LocalKeySigner
from core.ports.storage import FilesystemBlobStore, blob_store
from mirroring import tarballs
from mirroring.models import ModelTransfer
from models_app.models import Model, ModelCardRevision
from models_app.policy import Actor
from models_app.services import model_create
from releases.models import File, Release
from tests.conftest import basic, create_entry
from tests.stub_http import close, serve

pytestmark = pytest.mark.django_db

SOURCE = "digits-src001"


@pytest.fixture
def mirrored(mirror_on: None, owner: Any, contributor: Any, consumer: Any, reviewer: Any) -> Model:
    return create_entry(
        owner,
        contributor,
        consumer,
        reviewer,
        "Digits mirror",
        kind="mirrored-model",
        settings_={"mirror": {"sourceModelId": SOURCE}},
    )


def documents_tarball(
    model_id: str,
    *,
    export_id: str = "exp001",
    source: str = SOURCE,
    versions: int = 2,
    with_file: bool = True,
) -> bytes:
    """The bytes of a documents tarball as an export writes it."""
    with tempfile.TemporaryDirectory() as folder:
        store = FilesystemBlobStore(Path(folder), "t")
        sink = tarballs.MultipartSink(store, "x")
        writer = tarballs.TarballWriter(
            sink,
            {
                "schemaVersion": 1,
                "exporter": "someone",
                "sourceModelId": source,
                "mirroredModelId": model_id,
                "exportId": export_id,
                "importKind": "documents",
            },
        )
        for version in range(1, versions + 1):
            writer.add_json(
                f"content/{version}.json",
                {
                    "schemaId": "minimal-general-v10",
                    "version": version,
                    "metadata": {"overview": {"modelSummary": f"v{version}"}},
                },
            )
        file_ids = []
        if with_file:
            writer.add_json(
                "content/files/f00000000000000000000001.json",
                {
                    "id": "f00000000000000000000001",
                    "name": "weights.bin",
                    "size": 5,
                    "mime": "application/octet-stream",
                    "sha256": hashlib.sha256(b"bytes").hexdigest(),
                    "tags": [],
                },
            )
            file_ids.append("f00000000000000000000001")
        writer.add_json(
            "content/releases/1.0.0.json",
            {"semver": "1.0.0", "notes": "first", "modelCardVersion": 2, "fileIds": file_ids},
        )
        writer.close()
        sink.finish()
        return b"".join(store.open("x"))


def put_payload(key: str, data: bytes, *, sign_with: str | None) -> str:
    """Store ``data`` in the exports bucket (signed with the key file ``sign_with``); its
    ``s3://`` URL."""
    store = blob_store(settings.S3_BUCKET_EXPORTS)
    store.put(f"staging/{key}", [data])
    metadata = {}
    if sign_with:
        metadata = (
            LocalKeySigner(sign_with).sign_digest(hashlib.sha256(data).digest()).as_metadata()
        )
    store.copy(f"staging/{key}", key, metadata)
    store.delete(f"staging/{key}")
    return f"s3://{settings.S3_BUCKET_EXPORTS}/{key}"


def _import(client: Any, url: Any, **extra: Any) -> Any:
    return client.post(
        "/api/v2/model/import/s3",
        data=json.dumps({"payloadUrl": url}),
        content_type="application/json",
        **extra,
    )


@pytest.fixture
def payload(mirrored: Model, signing_keys: tuple[str, str]) -> str:
    return put_payload(
        f"{mirrored.pk}.tar.gz", documents_tarball(mirrored.pk), sign_with=signing_keys[0]
    )


# --- where a payload may come from -----------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/exports/x.tar.gz",
        "https://example.org/x.tar.gz",
        "s3://uploads/beta/model/x",
        "file:///etc/passwd",
        "ftp://127.0.0.1/x",
        "s3://exports/",
        "s3://exports/../uploads/x",
        5,
        None,
        "",
    ],
)
def test_payloads_outside_the_exports_bucket_and_allowed_hosts_are_refused(
    mirrored: Model, owner: Any, client_for: Any, url: Any
) -> None:
    response = _import(client_for(owner), url)
    assert response.status_code == 400
    assert not ModelTransfer.objects.exists()


def test_our_s3_endpoint_is_refused_for_other_buckets(
    mirrored: Model, owner: Any, client_for: Any
) -> None:
    if not settings.S3_ENDPOINT:
        pytest.skip("no S3 endpoint")
    url = f"{settings.S3_ENDPOINT}/{settings.S3_BUCKET_UPLOADS}/beta/model/x"
    assert _import(client_for(owner), url).status_code == 400


def test_import_is_refused_while_import_is_not_enabled(
    payload: str, owner: Any, client_for: Any, settings: Any
) -> None:
    settings.MIRROR_IMPORT_ENABLED = False
    assert _import(client_for(owner), payload).status_code == 400
    assert not ModelTransfer.objects.exists()


def test_a_payload_that_is_not_a_tarball_is_refused(
    mirrored: Model, owner: Any, client_for: Any, signing_keys: tuple[str, str]
) -> None:
    url = put_payload("garbage.tar.gz", b"<html>no</html>", sign_with=signing_keys[0])
    response = _import(client_for(owner), url)
    assert response.status_code == 400
    assert not ModelTransfer.objects.exists()


def test_a_missing_object_is_refused(mirrored: Model, owner: Any, client_for: Any) -> None:
    url = f"s3://{settings.S3_BUCKET_EXPORTS}/no-such-object.tar.gz"
    assert _import(client_for(owner), url).status_code == 400


# --- who may import ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("contributor", 403),
        ("consumer", 403),
        ("reviewer", 403),
        ("outsider", 404),
        ("site_admin", 403),
        ("anonymous", 401),
    ],
)
def test_only_the_mirrored_models_owners_import(
    payload: str, personas: dict[str, Any], client_for: Any, persona: str, status: int
) -> None:
    assert _import(client_for(personas[persona]), payload).status_code == status
    assert not ModelTransfer.objects.exists()


def test_token_without_model_write_cannot_import(
    payload: str, owner: Any, make_token: Any, client: Any
) -> None:
    token, secret = make_token(owner, actions=["model:read", "model:export"])
    response = _import(client, payload, **basic(token.access_key, secret))
    assert response.status_code == 403
    assert not ModelTransfer.objects.exists()


def test_a_tarball_for_a_model_that_does_not_exist_is_404(
    mirror_on: None, owner: Any, client_for: Any, signing_keys: tuple[str, str]
) -> None:
    url = put_payload(
        "nobody.tar.gz", documents_tarball("nobody-000000"), sign_with=signing_keys[0]
    )
    assert _import(client_for(owner), url).status_code == 404


def test_a_tarball_from_another_source_is_refused(
    mirrored: Model, owner: Any, client_for: Any, signing_keys: tuple[str, str]
) -> None:
    data = documents_tarball(mirrored.pk, source="other-src002")
    url = put_payload("other.tar.gz", data, sign_with=signing_keys[0])
    response = _import(client_for(owner), url)
    assert response.status_code == 400
    assert "mirrors" in response.json()["error"]["message"]


def test_a_tarball_naming_an_ordinary_model_is_refused(
    mirror_on: None, entry: Model, owner: Any, client_for: Any, signing_keys: tuple[str, str]
) -> None:
    url = put_payload("plain.tar.gz", documents_tarball(entry.pk), sign_with=signing_keys[0])
    assert _import(client_for(owner), url).status_code == 400


# --- what an import does ------------------------------------------------------------------------


def test_documents_import_adds_mirrored_revisions_releases_and_file_records(
    payload: str, mirrored: Model, owner: Any, client_for: Any, run_queued: Any
) -> None:
    with run_queued():
        response = _import(client_for(owner), payload)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["mirroredModelId"] == mirrored.pk
    assert body["sourceModelId"] == SOURCE
    assert body["exportId"] == "exp001"
    revisions = ModelCardRevision.objects.filter(model=mirrored, mirrored=True)
    assert sorted(revisions.values_list("version", flat=True)) == [1, 2]
    assert not ModelCardRevision.objects.filter(model=mirrored, mirrored=False).exists()
    release = Release.objects.get(model=mirrored)
    assert release.semver == "1.0.0" and list(release.files.values_list("pk", flat=True)) == [
        "f00000000000000000000001"
    ]
    file = File.objects.get(pk="f00000000000000000000001")
    assert file.model_id == mirrored.pk and not file.complete
    transfer = client_for(owner).get("/api/v2/transfer/exp001").json()["transfer"]
    assert transfer["status"] == "in_progress" and transfer["completed"] is False
    assert {(a["kind"], a["status"]) for a in transfer["artefactStatus"]} == {
        ("documents", "completed"),
        ("file", "in_progress"),
    }


def test_reimporting_the_documents_changes_nothing(
    payload: str, mirrored: Model, owner: Any, client_for: Any, run_queued: Any
) -> None:
    for _ in range(2):
        with run_queued():
            assert _import(client_for(owner), payload).status_code == 200
    assert ModelCardRevision.objects.filter(model=mirrored, mirrored=True).count() == 2
    assert Release.objects.filter(model=mirrored).count() == 1


def test_an_unsigned_tarball_fails_and_imports_nothing(
    mirrored: Model, owner: Any, client_for: Any, run_queued: Any
) -> None:
    url = put_payload("unsigned.tar.gz", documents_tarball(mirrored.pk), sign_with=None)
    with run_queued():
        assert _import(client_for(owner), url).status_code == 200
    transfer = ModelTransfer.objects.get()
    [artefact] = transfer.artefacts
    assert artefact["status"] == "failed" and "not signed" in artefact["error"]
    assert not ModelCardRevision.objects.filter(model=mirrored).exists()
    assert not Release.objects.filter(model=mirrored).exists()


def test_a_tarball_signed_by_an_untrusted_key_fails(
    mirrored: Model, owner: Any, client_for: Any, run_queued: Any, other_keys: tuple[str, str]
) -> None:
    url = put_payload("other-key.tar.gz", documents_tarball(mirrored.pk), sign_with=other_keys[0])
    with run_queued():
        _import(client_for(owner), url)
    [artefact] = ModelTransfer.objects.get().artefacts
    assert artefact["status"] == "failed" and "signature" in artefact["error"]
    assert not ModelCardRevision.objects.filter(model=mirrored).exists()


def test_a_card_that_does_not_follow_its_schema_fails_the_documents(
    mirrored: Model, owner: Any, client_for: Any, run_queued: Any, signing_keys: tuple[str, str]
) -> None:
    url = put_payload(
        "bad-schema.tar.gz", _with_schema(mirrored.pk, "no-such-schema"), sign_with=signing_keys[0]
    )
    with run_queued():
        _import(client_for(owner), url)
    [artefact] = ModelTransfer.objects.get().artefacts
    assert artefact["status"] == "failed" and "no-such-schema" in artefact["error"]
    assert not ModelCardRevision.objects.filter(model=mirrored).exists()


def _with_schema(model_id: str, schema_id: str) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        store = FilesystemBlobStore(Path(folder), "t")
        sink = tarballs.MultipartSink(store, "x")
        writer = tarballs.TarballWriter(
            sink,
            {
                "sourceModelId": SOURCE,
                "mirroredModelId": model_id,
                "exportId": "exp009",
                "importKind": "documents",
            },
        )
        writer.add_json("content/1.json", {"schemaId": schema_id, "version": 1, "metadata": {}})
        writer.close()
        sink.finish()
        return b"".join(store.open("x"))


# --- payloads on an allowed host -----------------------------------------------------------------


@pytest.fixture
def tarball_host(mirrored: Model, signing_keys: tuple[str, str]) -> Iterator[str]:
    data = documents_tarball(mirrored.pk, export_id="exp-http")
    signature = LocalKeySigner(signing_keys[0]).sign_digest(hashlib.sha256(data).digest())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            for name, value in signature.as_metadata().items():
                self.send_header(f"x-amz-meta-{name}", value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = serve(Handler)
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        close(server)


def test_a_payload_on_an_allowed_host_is_fetched_and_verified(
    tarball_host: str,
    mirrored: Model,
    owner: Any,
    client_for: Any,
    run_queued: Any,
    settings: Any,
) -> None:
    url = f"http://{tarball_host}/exports/{mirrored.pk}.tar.gz"
    assert _import(client_for(owner), url).status_code == 400  # not allowed yet
    settings.MIRROR_IMPORT_ALLOWED_HOSTS = [tarball_host]
    with run_queued():
        response = _import(client_for(owner), url)
    assert response.status_code == 200, response.content
    [documents] = [a for a in ModelTransfer.objects.get().artefacts if a["kind"] == "documents"]
    assert documents["status"] == "completed", documents
    assert ModelCardRevision.objects.filter(model=mirrored, mirrored=True).count() == 2


# --- reading transfers, retrying, deleting ------------------------------------------------------


def test_transfers_are_404_before_any_import(mirrored: Model, owner: Any, client_for: Any) -> None:
    client = client_for(owner)
    assert client.get(f"/api/v2/model/{mirrored.pk}/transfers").status_code == 404
    assert client.get("/api/v2/transfer/exp001").status_code == 404


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("owner", 200),
        ("contributor", 200),
        ("consumer", 200),
        ("outsider", 404),
        ("anonymous", 401),
    ],
)
def test_anyone_who_can_view_the_mirror_reads_its_transfers(
    payload: str,
    personas: dict[str, Any],
    client_for: Any,
    owner: Any,
    persona: str,
    status: int,
    mirrored: Model,
) -> None:
    _import(client_for(owner), payload)
    client = client_for(personas[persona])
    assert client.get("/api/v2/transfer/exp001").status_code == status
    listed = client.get(f"/api/v2/model/{mirrored.pk}/transfers")
    assert listed.status_code == status
    if status == 200:
        assert [t["exportId"] for t in listed.json()["transfers"]] == ["exp001"]


def test_owner_retries_a_failed_artefact(
    mirrored: Model,
    owner: Any,
    contributor: Any,
    client_for: Any,
    run_queued: Any,
    signing_keys: tuple[str, str],
) -> None:
    key = f"{mirrored.pk}.tar.gz"
    url = put_payload(key, documents_tarball(mirrored.pk), sign_with=None)
    with run_queued():
        _import(client_for(owner), url)
    assert ModelTransfer.objects.get().artefacts[0]["status"] == "failed"
    # The transfer system puts the signed object in place; the owner retries.
    put_payload(key, documents_tarball(mirrored.pk), sign_with=signing_keys[0])
    refused = client_for(contributor).post(
        "/api/v2/transfer/exp001/retry", data="{}", content_type="application/json"
    )
    assert refused.status_code == 403
    with run_queued():
        response = client_for(owner).post(
            "/api/v2/transfer/exp001/retry", data="{}", content_type="application/json"
        )
    assert response.status_code == 200, response.content
    [documents] = [a for a in ModelTransfer.objects.get().artefacts if a["kind"] == "documents"]
    assert documents["status"] == "completed"
    nothing = client_for(owner).post(
        "/api/v2/transfer/exp001/retry",
        data=json.dumps({"key": mirrored.pk}),
        content_type="application/json",
    )
    assert nothing.status_code == 400


def test_deleting_the_mirrored_model_takes_its_transfers(
    payload: str, mirrored: Model, owner: Any, client_for: Any
) -> None:
    from deletion.services import model_delete

    _import(client_for(owner), payload)
    model_delete(actor=Actor(user=owner), model_id=mirrored.pk, confirm_name=mirrored.name)
    assert client_for(owner).get("/api/v2/transfer/exp001").status_code == 404


def test_mirrored_model_creation_is_unchanged(owner: Any) -> None:
    """Guard: mirrored models still need a source id (the import relies on it)."""
    from core.errors import BadRequest

    with pytest.raises(BadRequest):
        model_create(actor=Actor(user=owner), name="M", description="d", kind="mirrored-model")


# --- when a transfer completes ------------------------------------------------------------------


def test_a_completed_transfer_emails_the_owners_and_fires_import_model_once(
    mirrored: Model,
    owner: Any,
    client_for: Any,
    run_queued: Any,
    signing_keys: tuple[str, str],
    settings: Any,
    mailoutbox: Any,
) -> None:
    from webhooks.models import WebhookDelivery
    from webhooks.services import webhook_create

    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.mirror.test"]
    webhook_create(
        actor=Actor(user=owner),
        model=mirrored,
        fields={
            "name": "Imports",
            "uri": "https://hooks.mirror.test/in",
            "events": ["importModel"],
        },
    )
    # Documents only (no files, no images): the transfer completes with them.
    data = documents_tarball(mirrored.pk, with_file=False)
    url = put_payload(f"{mirrored.pk}.tar.gz", data, sign_with=signing_keys[0])
    with run_queued():
        assert _import(client_for(owner), url).status_code == 200
    transfer = ModelTransfer.objects.get()
    assert transfer.completed and transfer.status == "completed"
    assert transfer.completed_notification_sent
    [mail] = [m for m in mailoutbox if owner.email in m.to]
    assert "completed" in mail.subject and "exp001" in mail.body
    [delivery] = WebhookDelivery.objects.filter(event="importModel")
    body = json.loads(delivery.body)
    assert body["event"] == "importModel"
    assert body["transfer"]["exportId"] == "exp001" and body["transfer"]["status"] == "completed"
    # Importing the tarball again is a new round (the owner asked for it): one more e-mail when
    # it is done, not one per artefact.
    mailoutbox.clear()
    with run_queued():
        _import(client_for(owner), url)
    assert len([m for m in mailoutbox if owner.email in m.to]) == 1


def test_a_transfer_with_a_failure_says_so_in_the_email(
    mirrored: Model, owner: Any, client_for: Any, run_queued: Any, mailoutbox: Any
) -> None:
    data = documents_tarball(mirrored.pk, with_file=False)
    url = put_payload(f"{mirrored.pk}.tar.gz", data, sign_with=None)
    with run_queued():
        _import(client_for(owner), url)
    [mail] = [m for m in mailoutbox if owner.email in m.to]
    assert "problems" in mail.subject and "not signed" in mail.body


def file_tarball(model_id: str, file_id: str, content: bytes, export_id: str = "exp001") -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        store = FilesystemBlobStore(Path(folder), "t")
        sink = tarballs.MultipartSink(store, "x")
        writer = tarballs.TarballWriter(
            sink,
            {
                "schemaVersion": 1,
                "exporter": "someone",
                "sourceModelId": SOURCE,
                "mirroredModelId": model_id,
                "exportId": export_id,
                "importKind": "file",
                "filePath": file_id,
            },
        )
        writer.add_bytes(f"content/{file_id}", content)
        writer.close()
        sink.finish()
        return b"".join(store.open("x"))


FILE_ID = "f00000000000000000000001"


def test_a_file_arrives_after_its_documents_and_downloads_with_its_sha256(
    payload: str,
    mirrored: Model,
    owner: Any,
    client_for: Any,
    run_queued: Any,
    signing_keys: tuple[str, str],
) -> None:
    client = client_for(owner)
    url = put_payload(
        f"{FILE_ID}.tar.gz", file_tarball(mirrored.pk, FILE_ID, b"bytes"), sign_with=signing_keys[0]
    )
    # Before its documents: nothing to attach the bytes to, so it fails (and can be retried).
    with run_queued():
        assert _import(client, url).status_code == 200
    [artefact] = ModelTransfer.objects.get().artefacts
    assert artefact["status"] == "failed" and "documents" in artefact["error"]
    with run_queued():
        _import(client, payload)
    with run_queued():
        retried = client.post(
            "/api/v2/transfer/exp001/retry", data="{}", content_type="application/json"
        )
    assert retried.status_code == 200
    transfer = client.get("/api/v2/transfer/exp001").json()["transfer"]
    assert transfer["status"] == "completed" and transfer["completed"] is True
    download = client.get(f"/api/v2/model/{mirrored.pk}/file/{FILE_ID}/download")
    assert download.status_code == 200
    assert (
        hashlib.sha256(b"".join(download.streaming_content)).hexdigest()
        == hashlib.sha256(b"bytes").hexdigest()
    )


def test_a_file_whose_bytes_do_not_match_its_record_is_refused_and_removed(
    payload: str,
    mirrored: Model,
    owner: Any,
    client_for: Any,
    run_queued: Any,
    signing_keys: tuple[str, str],
) -> None:
    client = client_for(owner)
    with run_queued():
        _import(client, payload)
    url = put_payload(
        f"{FILE_ID}.tar.gz", file_tarball(mirrored.pk, FILE_ID, b"other"), sign_with=signing_keys[0]
    )
    with run_queued():
        _import(client, url)
    [artefact] = [a for a in ModelTransfer.objects.get().artefacts if a["kind"] == "file"]
    assert artefact["status"] == "failed" and "sha256" in artefact["error"]
    file = File.objects.get(pk=FILE_ID)
    assert not file.complete
    assert not blob_store().exists(file.storage_key)
