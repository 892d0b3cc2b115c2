"""A card revision as one printable, self-contained HTML page (Bailo's model-card HTML export).

The page carries its own stylesheet in a ``<style>`` element and loads nothing else, so it can be
saved, e-mailed or printed to PDF as it is. Its answer therefore sets its own Content-Security-
Policy (``EXPORT_CSP``): nothing may load and no script may run; only the embedded style applies.
"""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from core.markdown import render_markdown
from models_app.card_form import build_card_form
from models_app.models import Model, ModelCardRevision
from models_app.roles import review_roles

EXPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)


def _reviewers(model: Model, revision: ModelCardRevision) -> list[dict[str, Any]]:
    """For each review role of the revision's schema, who holds it on the entry."""
    names = {r.short_name: r.name for r in review_roles()}
    holders: dict[str, list[str]] = {}
    for row in model.collaborators.all():
        holders.setdefault(row.role, []).append(row.entity)
    return [
        {
            "short_name": role,
            "name": names.get(role, role),
            "entities": sorted(holders.get(role, [])),
        }
        for role in revision.schema.review_roles
    ]


def card_html(*, model: Model, revision: ModelCardRevision, exported_by: str) -> str:
    """The page for ``revision`` of ``model``'s card. The caller has checked that the card may be
    read."""
    json_schema = revision.schema.json_schema
    form = build_card_form(json_schema, revision.metadata, state=model.state)
    return render_to_string(
        "models_app/card_export.html",
        {
            "model": model,
            "revision": revision,
            "form": form,
            "description_html": render_markdown(model.description),
            "reviewers": _reviewers(model, revision),
            "exported_at": timezone.now(),
            "exported_by": exported_by,
        },
    )
