"""Mirroring between two running instances of the app (``tests/two_instances.py``).

Instance A is this test process (its test database, the stack's uploads and exports buckets);
instance B is a second app under gunicorn with its own database, buckets and Celery worker,
sharing the stack's SeaweedFS and registry. Between them, this test plays the external transfer
system: it copies A's export objects, with their signature metadata, into B's exports bucket and
calls B's import route once per tarball.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from typing import Any

import pytest
from django.conf import settings

from core.ports import registry
from core.ports.storage import blob_store
from mirroring import tarballs
from mirroring.models import Export
from models_app.models import Model, ModelCardRevision
from models_app.policy import Actor
from models_app.services import model_update
from tests.conftest import stack_required
from tests.releases.release_helpers import make_file, make_release, with_card
from tests.two_instances import Instance, _s3, second_instance

pytestmark = [pytest.mark.django_db(transaction=True)]

MIB = 1024 * 1024


def _need_stack() -> None:
    if not (settings.S3_ENDPOINT and registry.is_configured()):
        if stack_required():
            pytest.fail("the stack is required")
        pytest.skip("needs the stack (S3, registry, PostgreSQL)")


def push_multiplatform_image(model_id: str, name: str, tag: str) -> tuple[str, list[str]]:
    """An OCI index of two platform images (amd64, arm64), each a config and a layer, pushed
    through the registry port; the index digest and the blobs' digests."""
    repository = registry.repository_name(model_id, name)
    children = []
    blobs = []
    for arch in ("amd64", "arm64"):
        layer = random.Random(arch).randbytes(300_000)
        config = json.dumps(
            {"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
        ).encode()
        descriptors = []
        for data, media_type in (
            (config, "application/vnd.oci.image.config.v1+json"),
            (layer, "application/vnd.oci.image.layer.v1.tar+gzip"),
        ):
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            registry.push_blob(repository, digest, [data])
            blobs.append(digest)
            descriptors.append({"mediaType": media_type, "digest": digest, "size": len(data)})
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": descriptors[0],
                "layers": descriptors[1:],
            }
        ).encode()
        digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        registry.put_manifest(
            repository, digest, manifest, "application/vnd.oci.image.manifest.v1+json"
        )
        children.append(
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": digest,
                "size": len(manifest),
                "platform": {"os": "linux", "architecture": arch},
            }
        )
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": children,
        }
    ).encode()
    registry.put_manifest(repository, tag, index, "application/vnd.oci.image.index.v1+json")
    return "sha256:" + hashlib.sha256(index).hexdigest(), blobs


def _transfer_objects(export: Export, b: Instance) -> list[str]:
    """The transfer system: copy an export's objects, metadata included, from A to B."""
    client = _s3()
    keys = []
    for artefact in export.artefacts:
        key = artefact["objectKey"]
        client.copy_object(
            CopySource={"Bucket": settings.S3_BUCKET_EXPORTS, "Key": key},
            Bucket=b.buckets["exports"],
            Key=key,
            MetadataDirective="COPY",
        )
        keys.append(key)
    return keys


def _import(b: Instance, key: str) -> dict[str, Any]:
    response = b.api(
        "POST",
        "/model/import/s3",
        user="importer",
        json={"payloadUrl": f"s3://{b.buckets['exports']}/{key}"},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _wait(b: Instance, export_id: str, *, seconds: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        transfer = b.api("GET", f"/transfer/{export_id}", user="importer").json()["transfer"]
        if transfer["completed"]:
            return dict(transfer)
        assert time.monotonic() < deadline, transfer
        time.sleep(0.2)


def _wait_artefact(
    b: Instance, export_id: str, key: str, *, seconds: float = 120
) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        transfer = b.api("GET", f"/transfer/{export_id}", user="importer").json()["transfer"]
        [artefact] = [a for a in transfer["artefactStatus"] if a["key"] == key]
        if artefact["status"] != "in_progress":
            return dict(artefact)
        assert time.monotonic() < deadline, transfer
        time.sleep(0.2)


def _export(client: Any, model: Model, semvers: list[str], run_queued: Any) -> Export:
    with run_queued():
        response = client.post(
            f"/api/v2/model/{model.pk}/export/s3",
            data=json.dumps({"disclaimerAgreement": True, "semvers": semvers}),
            content_type="application/json",
        )
    assert response.status_code == 200, response.content
    export = Export.objects.get(pk=response.json()["exportId"])
    assert export.status == "completed", export.artefacts
    return export


def _signed_documents(b: Instance, key: str, metadata: dict[str, Any], sig: dict[str, str]) -> None:
    """A documents tarball for ``metadata`` with a fourth card revision, stored in B's exports
    bucket with the signature metadata ``sig`` (or none)."""
    store = blob_store(b.buckets["exports"])
    staging = f"staging/{key}"
    sink = tarballs.MultipartSink(store, staging)
    writer = tarballs.TarballWriter(sink, metadata)
    writer.add_json(
        "content/4.json",
        {
            "schemaId": "minimal-general-v10",
            "version": 4,
            "metadata": {"overview": {"modelSummary": "forged"}},
        },
    )
    writer.close()
    sink.finish()
    store.copy(staging, key, sig)
    store.delete(staging)


def test_a_model_exported_from_one_instance_is_imported_into_another(
    mirror_on: None,
    signing_keys: tuple[str, str],
    make_entry: Any,
    owner: Any,
    client_for: Any,
    run_queued: Any,
) -> None:
    _need_stack()
    source = with_card(make_entry("Digits"), owner, versions=3)
    small = make_file(source, "weights.bin", random.Random(1).randbytes(3 * MIB + 11), store=True)
    big = make_file(source, "extra.bin", random.Random(2).randbytes(5 * MIB + 3), store=True)
    index_digest, blobs = push_multiplatform_image(source.pk, "app", "v1")
    make_release(
        source,
        owner,
        "1.0.0",
        file_ids=[small.pk],
        images=[{"repository": source.pk, "name": "app", "tag": "v1"}],
    )
    b_env = {
        "MIRROR_IMPORT_ENABLED": "1",
        "MIRROR_VERIFY_PUBLIC_KEYS": signing_keys[1],
        "MIRROR_REQUIRE_SIGNATURE": "1",
        "FILE_SCANNERS": "",
    }
    with second_instance(extra_env=b_env) as b:
        b.make_user("importer")
        b.make_user("bystander")
        created = b.api(
            "POST",
            "/models",
            user="importer",
            json={
                "name": "Digits mirror",
                "description": "Mirror of Digits",
                "kind": "mirrored-model",
                "visibility": "private",
                "settings": {"mirror": {"sourceModelId": source.pk}},
            },
        )
        assert created.status_code == 200, created.text
        mirror_id = created.json()["model"]["id"]
        model_update(
            actor=Actor(user=owner),
            model=source,
            changes={"settings": {"mirror": {"destinationModelId": mirror_id}}},
        )
        source.refresh_from_db()
        client = client_for(owner)

        # --- first export: the card history and release 1.0.0 (a file and the image) ---------
        first = _export(client, source, ["1.0.0"], run_queued)
        keys = _transfer_objects(first, b)
        documents_key = tarballs.documents_object(source.pk)
        answer = _import(b, documents_key)
        assert answer["mirroredModelId"] == mirror_id
        assert answer["sourceModelId"] == source.pk
        assert answer["exportId"] == first.pk
        assert answer["transfer"]["status"] == "in_progress"
        assert _wait_artefact(b, first.pk, source.pk)["status"] == "completed"
        for key in keys:
            if key != documents_key:
                _import(b, key)
        transfer = _wait(b, first.pk)
        assert transfer["status"] == "completed", transfer
        assert sorted((a["kind"], a["key"]) for a in transfer["artefactStatus"]) == sorted(
            [("documents", source.pk), ("file", small.pk), ("image", "app:v1")]
        )

        # The card history matches, revision by revision, and is the mirrored (read-only) card.
        for version in (1, 2, 3):
            card = b.api(
                "GET",
                f"/model/{mirror_id}/model-card/{version}?mirrored=true",
                user="importer",
            )
            assert card.status_code == 200, card.text
            mine = ModelCardRevision.objects.get(model=source, version=version, mirrored=False)
            assert card.json()["modelCard"]["metadata"] == mine.metadata
            assert card.json()["modelCard"]["mirrored"] is True
        assert (
            b.api(
                "GET", f"/model/{mirror_id}/model-card/4?mirrored=true", user="importer"
            ).status_code
            == 404
        )

        # The file downloads with the same bytes.
        download = b.api(
            "GET", f"/token/model/{mirror_id}/file/{small.pk}/download", user="importer"
        )
        assert download.status_code == 200, download.text[:300]
        assert hashlib.sha256(download.content).hexdigest() == small.sha256

        # The image is there by tag and by digest, every platform and blob with it.
        repository = registry.repository_name(mirror_id, "app")
        body, _type, digest = registry.get_manifest_bytes(repository, "v1")
        assert digest == index_digest
        for child in json.loads(body)["manifests"]:
            registry.get_manifest_bytes(repository, child["digest"])
        assert registry.get_manifest_bytes(repository, index_digest)[2] == index_digest
        assert all(registry.blob_exists(repository, blob) for blob in blobs)
        images = b.api("GET", f"/model/{mirror_id}/images", user="importer").json()
        assert images["images"][0]["name"] == "app"

        # The mirrored model's content stays read-only on B.
        refused = b.api(
            "POST",
            f"/model/{mirror_id}/releases",
            user="importer",
            json={"semver": "9.0.0", "notes": "local", "fileIds": [], "images": []},
        )
        assert refused.status_code == 403
        # Whatever happens to the local card, the imported revisions stay as the source wrote them.
        b.api(
            "PUT",
            f"/model/{mirror_id}/model-cards",
            user="importer",
            json={"metadata": {"overview": {"modelSummary": "local"}}},
        )
        card = b.api("GET", f"/model/{mirror_id}/model-card/3?mirrored=true", user="importer")
        assert card.json()["modelCard"]["metadata"]["overview"]["modelSummary"] == "v3"

        # Someone who cannot see the private mirror cannot see its transfers.
        assert b.api("GET", f"/transfer/{first.pk}", user="bystander").status_code == 404
        assert b.api("GET", f"/model/{mirror_id}/transfers", user="bystander").status_code == 404

        # --- second export: only the new release arrives ----------------------------------
        make_release(source, owner, "2.0.0", file_ids=[big.pk])
        second = _export(client, source, ["2.0.0"], run_queued)
        assert sorted(a["kind"] for a in second.artefacts) == ["documents", "file"]
        for key in _transfer_objects(second, b):
            _import(b, key)
            if key == documents_key:
                _wait_artefact(b, second.pk, source.pk)
        transfer = _wait(b, second.pk)
        assert transfer["status"] == "completed", transfer
        assert sorted(a["key"] for a in transfer["artefactStatus"]) == sorted([source.pk, big.pk])
        releases = b.api("GET", f"/model/{mirror_id}/releases", user="importer").json()["releases"]
        assert sorted(r["semver"] for r in releases) == ["1.0.0", "2.0.0"]
        files = b.api("GET", f"/model/{mirror_id}/files", user="importer").json()["files"]
        assert sorted(f["id"] for f in files) == sorted([small.pk, big.pk])
        download = b.api("GET", f"/token/model/{mirror_id}/file/{big.pk}/download", user="importer")
        assert hashlib.sha256(download.content).hexdigest() == big.sha256
        revisions = b.python(
            "from models_app.models import ModelCardRevision\n"
            f"result = sorted(ModelCardRevision.objects.filter(model_id={mirror_id!r}, "
            "mirrored=True).values_list('version', flat=True))"
        )
        assert revisions == [1, 2, 3]
        listed = b.api("GET", f"/model/{mirror_id}/transfers", user="importer").json()["transfers"]
        assert [t["exportId"] for t in listed] == [second.pk, first.pk]

        # --- a tampered and an unsigned tarball are refused, importing nothing --------------
        real = blob_store(settings.S3_BUCKET_EXPORTS).metadata(documents_key)
        metadata = {
            "schemaVersion": 1,
            "exporter": owner.username,
            "sourceModelId": source.pk,
            "mirroredModelId": mirror_id,
            "exportId": second.pk,
            "importKind": "documents",
        }
        _signed_documents(b, "tampered.tar.gz", metadata, {k: real[k] for k in ("sig-r", "sig-s")})
        _import(b, "tampered.tar.gz")
        artefact = _wait_artefact(b, second.pk, source.pk)
        assert artefact["status"] == "failed"
        assert "signature does not match" in artefact["error"]

        _signed_documents(b, "unsigned.tar.gz", metadata, {})
        _import(b, "unsigned.tar.gz")
        artefact = _wait_artefact(b, second.pk, source.pk)
        assert artefact["status"] == "failed"
        assert "not signed" in artefact["error"]

        assert (
            b.api(
                "GET", f"/model/{mirror_id}/model-card/4?mirrored=true", user="importer"
            ).status_code
            == 404
        )
