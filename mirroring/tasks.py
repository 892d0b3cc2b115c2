"""Celery tasks for mirroring, on the ``mirroring`` queue so a long export or import never holds
up scans, purges or webhook deliveries. Both are safe to run twice: an export writes only the
tarballs still in progress, an import only an artefact still in progress (and re-importing an
artefact changes nothing that is already there)."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from mirroring import exports, imports
from mirroring.models import ModelTransfer
from models_app.policy import Actor

QUEUE = "mirroring"
# A 100 GiB export at 50 MiB/s is about 35 minutes; leave room.
EXPORT_SOFT_LIMIT = 6 * 3600


def queue_export(export_id: str) -> None:
    """Queue the export once the current transaction (if any) commits."""
    transaction.on_commit(lambda: export_run.apply_async((export_id,), queue=QUEUE))


def queue_import(transfer_id: int, key: str, kind: str) -> None:
    transaction.on_commit(lambda: import_run.apply_async((transfer_id, key, kind), queue=QUEUE))


def retry_failed(*, actor: Actor, transfer: ModelTransfer, key: str | None) -> ModelTransfer:
    """Mark a transfer's failed artefacts (or only ``key``) in progress again and queue their
    imports: the one retry step the API and the transfers page share."""
    transfer, again = imports.transfer_retry(actor=actor, transfer=transfer, key=key)
    for artefact_key, kind in again:
        queue_import(transfer.pk, artefact_key, kind)
    return transfer


@shared_task(
    name="mirroring.export_run",
    acks_late=True,
    soft_time_limit=EXPORT_SOFT_LIMIT,
    time_limit=EXPORT_SOFT_LIMIT + 300,
    ignore_result=True,
)
def export_run(export_id: str) -> str:
    return exports.export_run(export_id=export_id)


@shared_task(
    name="mirroring.import_run",
    acks_late=True,
    soft_time_limit=EXPORT_SOFT_LIMIT,
    time_limit=EXPORT_SOFT_LIMIT + 300,
    ignore_result=True,
)
def import_run(transfer_id: int, key: str, kind: str) -> str:
    return imports.import_run(transfer_id=transfer_id, key=key, kind=kind)
