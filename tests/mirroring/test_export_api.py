"""``POST /api/v2/model/{id}/export/s3``: every precondition and refusal, and what an export
writes to the exports bucket."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from typing import Any

import pytest
from django.conf import settings

from core.ports.signing import Signature, verify
from core.ports.storage import blob_store
from mirroring.models import Export
from models_app.models import Model
from models_app.policy import Actor
from models_app.services import model_create
from releases.models import ScanResult
from tests.conftest import basic
from tests.mirroring.conftest import exportable
from tests.releases.release_helpers import make_file, make_release, with_card

pytestmark = pytest.mark.django_db


def _export(client: Any, model_id: str, body: dict[str, Any] | None = None, **extra: Any) -> Any:
    return client.post(
        f"/api/v2/model/{model_id}/export/s3",
        data=json.dumps(body if body is not None else {"disclaimerAgreement": True}),
        content_type="application/json",
        **extra,
    )


@pytest.fixture
def source(mirror_on: None, entry: Model, owner: Any) -> Model:
    return exportable(entry, owner)


def _message(response: Any) -> str:
    return str(response.json()["error"]["message"])


def test_owner_export_answers_at_once_with_the_export_id(
    source: Model, owner: Any, client_for: Any, run_queued: Any
) -> None:
    with run_queued():
        response = _export(
            client_for(owner), source.pk, {"disclaimerAgreement": True, "semvers": ["1.0.0"]}
        )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["message"] == "Successfully started export upload."
    export = Export.objects.get(pk=body["exportId"])
    assert export.model_id == source.pk and export.semvers == ["1.0.0"]
    assert export.status == "completed", export.artefacts
    kinds = sorted(a["kind"] for a in export.artefacts)
    assert kinds == ["documents", "file"]


def test_export_writes_signed_tarballs_in_bailos_layout(
    source: Model, owner: Any, client_for: Any, run_queued: Any, signing_keys: tuple[str, str]
) -> None:
    with run_queued():
        response = _export(
            client_for(owner), source.pk, {"disclaimerAgreement": True, "semvers": ["1.0.0"]}
        )
    export_id = response.json()["exportId"]
    store = blob_store(settings.S3_BUCKET_EXPORTS)
    raw = b"".join(store.open(f"{source.pk}.tar.gz"))
    signature = Signature.from_metadata(store.metadata(f"{source.pk}.tar.gz"))
    assert signature is not None
    assert verify(hashlib.sha256(raw).digest(), signature, [signing_keys[1]])
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(raw))) as tar:
        names = tar.getnames()
        metadata = json.loads(tar.extractfile("metadata.json").read())  # type: ignore[union-attr]
        card = json.loads(tar.extractfile("content/3.json").read())  # type: ignore[union-attr]
    file = source.files.get()
    assert names[0] == "metadata.json"
    assert set(names[1:]) == {
        "content/1.json",
        "content/2.json",
        "content/3.json",
        "content/releases/1.0.0.json",
        f"content/files/{file.pk}.json",
    }
    assert metadata == {
        "schemaVersion": 1,
        "exporter": owner.username,
        "sourceModelId": source.pk,
        "mirroredModelId": "mirror-abc123",
        "exportId": export_id,
        "importKind": "documents",
    }
    assert card["version"] == 3 and card["metadata"]["overview"]["modelSummary"] == "v3"
    raw_file = b"".join(store.open(f"{file.pk}.tar.gz"))
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(raw_file))) as tar:
        assert tar.getnames() == ["metadata.json", f"content/{file.pk}"]
        content = tar.extractfile(f"content/{file.pk}").read()  # type: ignore[union-attr]
        file_meta = json.loads(tar.extractfile("metadata.json").read())  # type: ignore[union-attr]
    assert hashlib.sha256(content).hexdigest() == file.sha256
    assert file_meta["importKind"] == "file" and file_meta["filePath"] == file.pk
    # The staging copies are gone.
    assert not list(store.list_keys(f"exportQueue/{export_id}"))


def test_export_without_releases_ships_only_the_documents(
    source: Model, owner: Any, client_for: Any, run_queued: Any
) -> None:
    with run_queued():
        response = _export(client_for(owner), source.pk)
    assert response.status_code == 200
    export = Export.objects.get(pk=response.json()["exportId"])
    assert [a["kind"] for a in export.artefacts] == ["documents"]


def test_export_is_refused_while_export_is_not_enabled(
    source: Model, owner: Any, client_for: Any, settings: Any
) -> None:
    settings.MIRROR_EXPORT_ENABLED = False
    response = _export(client_for(owner), source.pk)
    assert response.status_code == 400
    assert not Export.objects.exists()


@pytest.mark.parametrize("agreement", [False, None, "true"])
def test_export_needs_the_disclaimer_agreed(
    source: Model, owner: Any, client_for: Any, agreement: Any
) -> None:
    body = {} if agreement is None else {"disclaimerAgreement": agreement}
    response = _export(client_for(owner), source.pk, body)
    assert response.status_code == 400
    assert "disclaimer" in _message(response)
    assert not Export.objects.exists()


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("contributor", 403),
        ("consumer", 403),
        ("reviewer", 403),
        ("outsider", 404),
        ("site_admin", 403),
    ],
)
def test_only_owners_export(
    source: Model, personas: dict[str, Any], client_for: Any, persona: str, status: int
) -> None:
    response = _export(client_for(personas[persona]), source.pk)
    assert response.status_code == status
    assert not Export.objects.exists()


def test_anonymous_cannot_export(source: Model, client_for: Any) -> None:
    assert _export(client_for(None), source.pk).status_code == 401


def test_token_without_model_export_cannot_export(
    source: Model, owner: Any, make_token: Any, client: Any
) -> None:
    token, secret = make_token(owner, actions=["model:read", "model:write", "release:export"])
    response = _export(client, source.pk, **basic(token.access_key, secret))
    assert response.status_code == 403
    assert "model:export" in _message(response)


def test_token_without_release_export_cannot_export_releases(
    source: Model, owner: Any, make_token: Any, client: Any
) -> None:
    token, secret = make_token(owner, actions=["model:read", "model:export"])
    body = {"disclaimerAgreement": True, "semvers": ["1.0.0"]}
    response = _export(client, source.pk, body, **basic(token.access_key, secret))
    assert response.status_code == 403
    assert "release:export" in _message(response)
    assert not Export.objects.exists()


def test_token_with_model_export_exports_the_card_alone(
    source: Model, owner: Any, make_token: Any, client: Any
) -> None:
    token, secret = make_token(owner, actions=["model:read", "model:export"])
    response = _export(client, source.pk, **basic(token.access_key, secret))
    assert response.status_code == 200, response.content


def test_export_needs_a_destination_model_id(
    mirror_on: None, entry: Model, owner: Any, client_for: Any
) -> None:
    with_card(entry, owner, versions=2)
    response = _export(client_for(owner), entry.pk)
    assert response.status_code == 400
    assert "Destination Model ID" in _message(response)


def test_export_needs_a_card_saved_at_least_once(
    mirror_on: None, make_entry: Any, owner: Any, client_for: Any
) -> None:
    model = make_entry("Fresh", settings_={"mirror": {"destinationModelId": "m-000001"}})
    with_card(model, owner, versions=1)
    response = _export(client_for(owner), model.pk)
    assert response.status_code == 400
    assert "card" in _message(response)


def test_export_of_unknown_releases_lists_them(source: Model, owner: Any, client_for: Any) -> None:
    body = {"disclaimerAgreement": True, "semvers": ["1.0.0", "9.9.9", "8.0.0"]}
    response = _export(client_for(owner), source.pk, body)
    assert response.status_code == 404
    assert response.json()["error"]["context"]["semvers"] == ["9.9.9", "8.0.0"]


def test_export_refuses_semvers_that_are_not_a_list(
    source: Model, owner: Any, client_for: Any
) -> None:
    response = _export(
        client_for(owner), source.pk, {"disclaimerAgreement": True, "semvers": "1.0.0"}
    )
    assert response.status_code == 400


def test_export_refuses_files_over_the_size_limit(
    source: Model, owner: Any, client_for: Any, settings: Any
) -> None:
    settings.MIRROR_EXPORT_MAX_SIZE = 100
    body = {"disclaimerAgreement": True, "semvers": ["1.0.0"]}
    response = _export(client_for(owner), source.pk, body)
    assert response.status_code == 400
    assert "larger than the export limit" in _message(response)


def test_export_refuses_releases_whose_files_together_exceed_the_limit(
    source: Model, owner: Any, client_for: Any, settings: Any
) -> None:
    second = make_file(source, "more.bin", b"m" * 6000, store=True)
    make_release(source, owner, "2.0.0", file_ids=[second.pk])
    settings.MIRROR_EXPORT_MAX_SIZE = 10_000  # each file fits, both together do not
    body = {"disclaimerAgreement": True, "semvers": ["1.0.0", "2.0.0"]}
    response = _export(client_for(owner), source.pk, body)
    assert response.status_code == 400
    assert "chosen releases" in _message(response)


def test_export_refuses_unscanned_files_when_scanners_are_on(
    source: Model, owner: Any, client_for: Any, settings: Any
) -> None:
    settings.FILE_SCANNERS = ["modelScan"]
    body = {"disclaimerAgreement": True, "semvers": ["1.0.0"]}
    response = _export(client_for(owner), source.pk, body)
    assert response.status_code == 400
    assert "scan" in _message(response)


def test_export_refuses_files_with_findings(
    source: Model, owner: Any, client_for: Any, settings: Any
) -> None:
    settings.FILE_SCANNERS = ["modelScan"]
    file = source.files.get()
    ScanResult.objects.create(
        file=file, tool_name="modelScan", state="complete", summary=[{"severity": "HIGH"}]
    )
    body = {"disclaimerAgreement": True, "semvers": ["1.0.0"]}
    response = _export(client_for(owner), source.pk, body)
    assert response.status_code == 400
    assert "failed" in _message(response)


def test_export_accepts_files_scanned_clean(
    source: Model, owner: Any, client_for: Any, settings: Any
) -> None:
    settings.FILE_SCANNERS = ["modelScan"]
    file = source.files.get()
    ScanResult.objects.create(file=file, tool_name="modelScan", state="complete", summary=[])
    body = {"disclaimerAgreement": True, "semvers": ["1.0.0"]}
    assert _export(client_for(owner), source.pk, body).status_code == 200


def test_mirrored_models_cannot_be_exported(mirror_on: None, owner: Any, client_for: Any) -> None:
    mirrored = model_create(
        actor=Actor(user=owner),
        name="Mirror",
        description="m",
        kind="mirrored-model",
        settings_={"mirror": {"sourceModelId": "src-000001"}},
        collaborators=[{"entity": f"user:{owner.username}", "roles": ["owner"]}],
    )
    response = _export(client_for(owner), mirrored.pk)
    assert response.status_code == 400
    assert not Export.objects.exists()


def test_export_records_the_bytes_each_tarball_has_sent(
    source: Model, owner: Any, client_for: Any, run_queued: Any, monkeypatch: Any
) -> None:
    from mirroring import exports

    monkeypatch.setattr(exports, "PROGRESS_EVERY", 1)
    with run_queued():
        response = _export(
            client_for(owner), source.pk, {"disclaimerAgreement": True, "semvers": ["1.0.0"]}
        )
    export = Export.objects.get(pk=response.json()["exportId"])
    [artefact] = [a for a in export.artefacts if a["kind"] == "file"]
    stored = blob_store(settings.S3_BUCKET_EXPORTS).info(artefact["objectKey"])
    assert artefact["bytesWritten"] == stored.size > 0
