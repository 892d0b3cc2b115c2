"""An image tarball imported on one instance (the registry is shared, the repositories are not):
a genuine one is pushed under the mirrored model, every platform with it; a tampered one leaves
no manifest behind."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from typing import Any

import pytest
from django.conf import settings

from core.ports import registry
from core.ports.storage import blob_store
from mirroring import tarballs
from mirroring.models import Export, ModelTransfer
from models_app.models import Model
from models_app.policy import Actor
from models_app.services import model_update
from tests.conftest import create_entry
from tests.mirroring.test_two_instances import _need_stack, push_multiplatform_image
from tests.releases.release_helpers import make_release, with_card

pytestmark = pytest.mark.django_db


def _retar_with_extra_member(raw: bytes) -> bytes:
    """The same tarball with one more member: still well-formed, no longer what was signed."""
    out = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(gzip.decompress(raw))) as source,
        tarfile.open(fileobj=out, mode="w") as target,
    ):
        for member in source.getmembers():
            target.addfile(member, source.extractfile(member))
        extra = tarfile.TarInfo("content/extra")
        extra.size = 3
        target.addfile(extra, io.BytesIO(b"bad"))
    return gzip.compress(out.getvalue())


def test_image_import_pushes_every_platform_and_a_tampered_one_pushes_nothing(
    mirror_on: None,
    owner: Any,
    contributor: Any,
    consumer: Any,
    reviewer: Any,
    client_for: Any,
    run_queued: Any,
) -> None:
    _need_stack()
    source = with_card(
        create_entry(owner, contributor, consumer, reviewer, "Image source"), owner, versions=2
    )
    mirrored = create_entry(
        owner,
        contributor,
        consumer,
        reviewer,
        "Image mirror",
        kind="mirrored-model",
        settings_={"mirror": {"sourceModelId": source.pk}},
    )
    model_update(
        actor=Actor(user=owner),
        model=source,
        changes={"settings": {"mirror": {"destinationModelId": mirrored.pk}}},
    )
    index_digest, blobs = push_multiplatform_image(source.pk, "app", "v1")
    make_release(
        Model.objects.get(pk=source.pk),
        owner,
        "1.0.0",
        images=[{"repository": source.pk, "name": "app", "tag": "v1"}],
    )
    client = client_for(owner)
    with run_queued():
        exported = client.post(
            f"/api/v2/model/{source.pk}/export/s3",
            data=json.dumps({"disclaimerAgreement": True, "semvers": ["1.0.0"]}),
            content_type="application/json",
        )
    export = Export.objects.get(pk=exported.json()["exportId"])
    assert export.status == "completed", export.artefacts
    key = tarballs.image_object(source.pk, "app", "v1")
    store = blob_store(settings.S3_BUCKET_EXPORTS)
    raw = b"".join(store.open(key))
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(raw))) as tar:
        names = tar.getnames()
    assert names[:2] == ["metadata.json", "content/manifest.json"]
    assert len([n for n in names if n.startswith("content/blobs/manifests/")]) == 2
    assert sorted(n.rsplit("/", 1)[1] for n in names if "/blobs/sha256/" in n) == sorted(
        b.split(":")[1] for b in blobs
    )

    repository = registry.repository_name(mirrored.pk, "app")
    tampered = "tampered-image.tar.gz"
    store.put(f"staging/{tampered}", [_retar_with_extra_member(raw)])
    store.copy(f"staging/{tampered}", tampered, store.metadata(key))

    def load(object_key: str) -> Any:
        with run_queued():
            return client.post(
                "/api/v2/model/import/s3",
                data=json.dumps({"payloadUrl": f"s3://{settings.S3_BUCKET_EXPORTS}/{object_key}"}),
                content_type="application/json",
            )

    assert load(tampered).status_code == 200
    [artefact] = ModelTransfer.objects.get().artefacts
    assert artefact["status"] == "failed" and "signature" in artefact["error"]
    assert registry.manifest_digest(repository, "v1") is None

    assert load(key).status_code == 200
    [artefact] = ModelTransfer.objects.get().artefacts
    assert artefact["status"] == "completed", artefact
    assert registry.manifest_digest(repository, "v1") == index_digest
    assert all(registry.blob_exists(repository, blob) for blob in blobs)
