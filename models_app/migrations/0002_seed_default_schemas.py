from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.db import migrations

FOLDER = Path(__file__).resolve().parent.parent / "default_schemas"
DEFAULTS = [
    (
        "minimal-general-v10",
        "Minimal general schema",
        "model",
        ["msro", "mtr"],
        "A short model card: overview, intended use and performance.",
    ),
    (
        "minimal-data-card-v10",
        "Minimal data card schema",
        "dataCard",
        [],
        "Where a data set lives, what it holds and how sensitive it is.",
    ),
    (
        "minimal-access-request-general-v10",
        "General access request",
        "accessRequest",
        ["msro"],
        "Who needs access to a model, until when, and why.",
    ),
]


def seed(apps: Any, schema_editor: Any) -> None:
    Schema = apps.get_model("models_app", "Schema")
    for schema_id, name, kind, roles, description in DEFAULTS:
        body = json.loads((FOLDER / f"{schema_id}.json").read_text(encoding="utf-8"))
        Schema.objects.update_or_create(
            id=schema_id,
            defaults={
                "name": name,
                "kind": kind,
                "review_roles": roles,
                "description": description,
                "json_schema": body,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("models_app", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
