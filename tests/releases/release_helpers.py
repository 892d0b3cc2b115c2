"""Helpers for the release tests: a card for an entry, files written straight to the database
(the upload endpoints are tested on their own), and releases made through the service."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from core.ports.storage import blob_store
from models_app.models import Model
from models_app.policy import Actor
from models_app.services import card_from_schema, card_update
from releases.models import File, Release
from releases.services import release_create

SUMMARY = {"overview": {"modelSummary": "Reads handwritten digits."}}


def with_card(model: Model, user: Any, *, versions: int = 1) -> Model:
    """Give ``model`` a card with ``versions`` revisions; returns the reloaded entry."""
    actor = Actor(user=user)
    card_from_schema(actor=actor, model=model, schema_id="minimal-general-v10")
    for n in range(2, versions + 1):
        card_update(actor=actor, model=model, metadata={"overview": {"modelSummary": f"v{n}"}})
    return Model.objects.get(pk=model.pk)


def make_file(
    model: Model,
    name: str = "weights.bin",
    data: bytes = b"model weights",
    *,
    complete: bool = True,
    store: bool = False,
) -> File:
    """A file row of ``model``; with ``store`` its bytes are really written to blob storage."""
    key = f"beta/model/{model.pk}/files/{uuid.uuid4()}"
    if store:
        blob_store().put(key, [data])
    return File.objects.create(
        id=uuid.uuid4().hex[:24],
        model=model,
        name=name,
        size=len(data),
        mime="application/octet-stream",
        storage_key=key,
        complete=complete,
        sha256=hashlib.sha256(data).hexdigest() if complete else "",
    )


def make_release(model: Model, user: Any, semver: str = "1.0.0", **fields: Any) -> Release:
    fields.setdefault("notes", f"Release {semver}")
    return release_create(actor=Actor(user=user), model=model, semver=semver, **fields)


def push_tiny_image(model_id: str, name: str, tag: str) -> str:
    """Push a one-layer OCI image to ``<model_id>/<name>:<tag>`` through the registry's HTTP API
    (with an internal token); returns the manifest digest, for ``registry.delete_manifest``."""
    import gzip
    import io
    import json
    import tarfile

    import requests
    from django.conf import settings

    from core.ports import registry

    repository = f"{model_id}/{name}"
    headers = {
        "Authorization": "Bearer " + registry.admin_token(f"repository:{repository}:pull,push")
    }
    base = f"{settings.REGISTRY_URL}/v2/{repository}"

    def upload(data: bytes) -> dict[str, Any]:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        started = requests.post(f"{base}/blobs/uploads/", headers=headers, timeout=10)
        started.raise_for_status()
        location = started.headers["Location"]
        if location.startswith("/"):
            location = settings.REGISTRY_URL + location
        joiner = "&" if "?" in location else "?"
        put = requests.put(
            f"{location}{joiner}digest={digest}",
            data=data,
            headers={**headers, "Content-Type": "application/octet-stream"},
            timeout=10,
        )
        put.raise_for_status()
        return {"digest": digest, "size": len(data)}

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        content = f"{name}:{tag}".encode()
        info = tarfile.TarInfo("app/tag.txt")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    layer_tar = raw.getvalue()
    layer = upload(gzip.compress(layer_tar, mtime=0))
    config = upload(
        json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "rootfs": {
                    "type": "layers",
                    "diff_ids": ["sha256:" + hashlib.sha256(layer_tar).hexdigest()],
                },
            }
        ).encode()
    )
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}],
        }
    ).encode()
    response = requests.put(
        f"{base}/manifests/{tag}",
        data=manifest,
        headers={**headers, "Content-Type": "application/vnd.oci.image.manifest.v1+json"},
        timeout=10,
    )
    response.raise_for_status()
    return "sha256:" + hashlib.sha256(manifest).hexdigest()
