"""The v2 API for mirroring: Bailo's export and import routes and its two transfer reads.

- ``POST /model/{id}/export/s3``: the model's owners (token: ``model:export``, and
  ``release:export`` when releases are chosen). Answers at once with ``exportId`` (Bailo does
  not return it); the tarballs are written by a worker.
- ``POST /model/import/s3``: the owners of the mirrored model the tarball names (token:
  ``model:write``). Answers at once with the transfer; a worker imports.
- ``GET /transfer/{exportId}``, ``GET /model/{id}/transfers``: anyone who can view the mirrored
  model, with ``status`` and ``completed`` (Bailo leaves them out). 404 when there are none.
- ``POST /transfer/{exportId}/retry``: the owners; queues the failed artefacts again.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from core.api_helpers import documented, read_json
from core.errors import NotFound
from core.openapi import TIMESTAMP, answer, array, component, obj, string
from mirroring import exports, imports, selectors, tasks
from models_app.policy import Action, Actor, get_model_for

router = Router(tags=["mirror"])

_ARTEFACT = obj(
    {
        "key": string(),
        "name": string(),
        "kind": string(enum=["documents", "file", "image"]),
        "status": string(enum=["requested", "denied", "in_progress", "failed", "completed"]),
        "error": string(),
        "payloadUrl": string(),
    },
    required=["key", "kind", "status"],
)
TRANSFER = component(
    "ModelTransfer",
    obj(
        {
            "exportId": string(),
            "modelId": string(),
            "peerId": {"type": ["string", "null"]},
            "artefactStatus": array(_ARTEFACT),
            "status": string(enum=["in_progress", "failed", "completed"]),
            "completed": {"type": "boolean"},
            "completedNotificationSent": {"type": "boolean"},
            "createdBy": string(),
            "createdAt": TIMESTAMP,
            "updatedAt": TIMESTAMP,
        },
        required=["exportId", "modelId", "artefactStatus", "status", "completed"],
    ),
)


@router.post(
    "/model/{model_id}/export/s3",
    openapi_extra=documented(
        obj({"message": string(), "exportId": string()}, required=["message", "exportId"]),
        {
            400: "export not enabled, disclaimer not agreed, not a model, no destination model "
            "id, card never saved, files too large or not scanned clean",
            403: "only the model's owners export it (token: model:export, release:export)",
            404: "unknown model, or releases that do not exist",
        },
        body=obj(
            {"disclaimerAgreement": {"type": "boolean"}, "semvers": array(string())},
            required=["disclaimerAgreement"],
        ),
    ),
)
def post_export(request: HttpRequest, model_id: str) -> dict[str, Any]:
    """Export the model's card history and, optionally, releases to the exports bucket."""
    actor = Actor.from_request(request)
    body = read_json(request)
    model = get_model_for(actor, model_id, Action.MODEL_VIEW)
    export = exports.export_start(
        actor=actor,
        model=model,
        disclaimer=body.get("disclaimerAgreement"),
        semvers=body.get("semvers"),
    )
    tasks.queue_export(export.pk)
    return {"message": "Successfully started export upload.", "exportId": export.pk}


@router.post(
    "/model/import/s3",
    openapi_extra=documented(
        obj(
            {
                "mirroredModelId": string(),
                "sourceModelId": string(),
                "exportId": string(),
                "importKind": string(),
                "transfer": TRANSFER,
            },
            required=["mirroredModelId", "sourceModelId", "exportId", "transfer"],
        ),
        {
            400: "import not enabled, payloadUrl not in the exports bucket nor on an allowed "
            "host, not a mirror tarball, or for a model that does not mirror its source",
            403: "only the mirrored model's owners import into it",
            404: "the mirrored model the tarball names does not exist here",
        },
        body=obj({"payloadUrl": string()}, required=["payloadUrl"]),
    ),
)
def post_import(request: HttpRequest) -> dict[str, Any]:
    """Import one tarball of an export (documents, a file or an image) into its mirrored model."""
    actor = Actor.from_request(request)
    body = read_json(request)
    transfer, metadata = imports.import_start(actor=actor, payload_url=body.get("payloadUrl"))
    tasks.queue_import(transfer.pk, *imports.artefact_of(metadata))
    return {
        "mirroredModelId": transfer.model_id,
        "sourceModelId": metadata["sourceModelId"],
        "exportId": transfer.export_id,
        "importKind": metadata["importKind"],
        "transfer": selectors.transfer_json(transfer),
    }


@router.get(
    "/transfer/{export_id}",
    openapi_extra=documented(answer("transfer", TRANSFER), {404: "no such transfer visible"}),
)
def get_transfer(request: HttpRequest, export_id: str) -> dict[str, Any]:
    transfer = selectors.transfer_get(actor=Actor.from_request(request), export_id=export_id)
    return {"transfer": selectors.transfer_json(transfer)}


@router.get(
    "/model/{model_id}/transfers",
    openapi_extra=documented(
        obj({"transfers": array(TRANSFER)}, required=["transfers"]),
        {404: "unknown model, or no transfers (as Bailo)"},
    ),
)
def get_transfers(request: HttpRequest, model_id: str) -> dict[str, Any]:
    model = get_model_for(Actor.from_request(request), model_id, Action.MODEL_VIEW)
    transfers = list(selectors.transfer_list(model=model))
    if not transfers:
        raise NotFound(f"No transfers found for model {model_id}", {"modelId": model_id})
    return {"transfers": [selectors.transfer_json(t) for t in transfers]}


@router.post(
    "/transfer/{export_id}/retry",
    openapi_extra=documented(
        answer("transfer", TRANSFER),
        {400: "no failed artefact to retry", 403: "only the mirrored model's owners retry"},
        body=obj({"key": string()}),
    ),
)
def post_transfer_retry(request: HttpRequest, export_id: str) -> dict[str, Any]:
    """Queue again the failed artefacts of a transfer, or only the one whose ``key`` is given."""
    actor = Actor.from_request(request)
    body = read_json(request)
    key = body.get("key")
    transfer = selectors.transfer_get(actor=actor, export_id=export_id)
    transfer = tasks.retry_failed(
        actor=actor, transfer=transfer, key=key if isinstance(key, str) else None
    )
    return {"transfer": selectors.transfer_json(transfer)}
