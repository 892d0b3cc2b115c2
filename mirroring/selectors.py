"""Reads of exports and transfers, and their API shapes."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from core.errors import NotFound
from mirroring.models import Export, ModelTransfer, is_finished, overall_status
from models_app.models import Model
from models_app.policy import Action, Actor, check
from models_app.selectors import iso

# What a transfer shows of each artefact (the payloadUrl it came from is kept for retries and
# shown too: the owner supplied it).
_ARTEFACT_FIELDS = ("key", "name", "kind", "status", "error", "payloadUrl", "bytesWritten")


def _artefacts(artefacts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: a[k] for k in _ARTEFACT_FIELDS if k in a} for a in artefacts]


def transfer_json(transfer: ModelTransfer) -> dict[str, Any]:
    """A transfer as Bailo stores it, with the ``status`` and ``completed`` Bailo's GET leaves
    out."""
    return {
        "exportId": transfer.export_id,
        "modelId": transfer.model_id,
        "peerId": transfer.peer_id or None,
        "artefactStatus": _artefacts(transfer.artefacts),
        "status": transfer.status,
        "completed": transfer.completed,
        "completedNotificationSent": transfer.completed_notification_sent,
        "createdBy": transfer.exported_by,
        "createdAt": iso(transfer.created_at),
        "updatedAt": iso(transfer.updated_at),
    }


def export_json(export: Export) -> dict[str, Any]:
    artefacts = export.artefacts
    return {
        "exportId": export.pk,
        "modelId": export.model_id,
        "destinationModelId": export.destination_model_id,
        "semvers": export.semvers,
        "artefactStatus": _artefacts(artefacts),
        "status": overall_status(artefacts),
        "completed": is_finished(artefacts),
        "createdBy": export.created_by.get_username() if export.created_by else "",
        "createdAt": iso(export.created_at),
        "updatedAt": iso(export.updated_at),
    }


def transfer_get(*, actor: Actor, export_id: str) -> ModelTransfer:
    """A transfer the actor may see (its mirrored model is visible to them); 404 otherwise."""
    transfer = (
        ModelTransfer.objects.filter(export_id=export_id, model__deleted_at__isnull=True)
        .select_related("model")
        .first()
    )
    if transfer is None:
        raise NotFound(f"Transfer {export_id} not found", {"exportId": export_id})
    try:
        check(actor, Action.MODEL_VIEW, transfer.model)
    except NotFound as exc:
        raise NotFound(f"Transfer {export_id} not found", {"exportId": export_id}) from exc
    return transfer


def transfer_list(*, model: Model) -> QuerySet[ModelTransfer]:
    return ModelTransfer.objects.filter(model=model).order_by("-created_at", "-id")


def export_list(*, model: Model, limit: int = 20) -> list[Export]:
    return list(
        Export.objects.filter(model=model)
        .select_related("created_by")
        .order_by("-created_at")[:limit]
    )
