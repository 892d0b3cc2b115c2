"""The settings sections of mirroring: what they list is loaded here, so the entry's settings
page knows nothing of exports or transfers."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings

from mirroring import selectors
from releases.models import Release

register = template.Library()


@register.inclusion_tag("mirroring/_export_section_body.html", takes_context=True)
def export_section(context: template.Context) -> dict[str, Any]:
    model = context["model"]
    enabled = settings.MIRROR_EXPORT_ENABLED
    return {
        "model": model,
        "enabled": enabled,
        "disclaimer": settings.MIRROR_EXPORT_DISCLAIMER,
        "releases": list(Release.objects.filter(model=model).values_list("semver", flat=True))
        if enabled
        else [],
        "exports": [_shown(e) for e in selectors.export_list(model=model)] if enabled else [],
        "csrf_token": context.get("csrf_token"),
    }


def _shown(export: Any) -> dict[str, Any]:
    body = selectors.export_json(export)
    artefacts = body["artefactStatus"]
    body["started"] = export.created_at
    body["done"] = sum(1 for a in artefacts if a["status"] == "completed")
    body["failed"] = [a for a in artefacts if a["status"] == "failed"]
    body["total"] = len(artefacts)
    body["uploading"] = [
        a for a in artefacts if a["status"] == "in_progress" and a.get("bytesWritten")
    ]
    return body


@register.inclusion_tag("mirroring/_transfer_list.html", takes_context=True)
def transfer_list(context: template.Context, limit: int = 5) -> dict[str, Any]:
    model = context["model"]
    transfers = list(selectors.transfer_list(model=model)[:limit])
    return {
        "model": model,
        "transfers": [{**selectors.transfer_json(t), "started": t.created_at} for t in transfers],
        "can_retry": False,
    }
