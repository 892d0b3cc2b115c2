"""What happens when a transfer finishes: one e-mail to the mirrored model's owners and the
``importModel`` webhook (``webhooks.events.model_imported``). Sent after commit; a failure is
logged and never undoes the import."""

from __future__ import annotations

import logging
from typing import Any

from django.urls import reverse

from models_app.models import Model, SystemRole
from reviews.notifications import role_holders, send_emails
from webhooks.events import model_imported

log = logging.getLogger(__name__)


def transfer_finished(model_id: str, transfer: dict[str, Any]) -> None:
    model = Model.objects.filter(pk=model_id).first()
    if model is None:
        return
    failed = [a for a in transfer["artefactStatus"] if a["status"] == "failed"]
    done = [a for a in transfer["artefactStatus"] if a["status"] == "completed"]
    from django.conf import settings

    subject = (
        f"Import into {model.name} completed"
        if not failed
        else f"Import into {model.name} finished with problems"
    )
    send_emails(
        role_holders(model_id, SystemRole.OWNER),
        subject,
        "mirroring/email/import_finished.txt",
        {
            "model": model,
            "transfer": transfer,
            "failed": failed,
            "done": done,
            "url": settings.BAILO_PUBLIC_URL + reverse("entry-transfers", args=[model_id]),
        },
    )
    try:
        model_imported(model_id, transfer)
    except Exception:
        log.exception("importModel webhook for %s could not be queued", model_id)
