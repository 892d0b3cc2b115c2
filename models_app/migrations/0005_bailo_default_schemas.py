"""The schemas under Bailo's ids accept exactly what Bailo's schemas of those ids accept.

Until now those ids held richer schemas of our own. They move to ids of our own (``extended-*``)
with their questions unchanged, and every card revision and schema migration plan written
against them follows, so no answer is lost or becomes invalid. The Bailo ids then receive
Bailo's questions. Access requests follow in ``access`` (its migration runs after this one).

``seed`` writes all six schemas as they are now; the tests call it again after flushing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.db import migrations

FOLDER = Path(__file__).resolve().parent.parent / "default_schemas"

# (id, name, kind, review roles, description); the JSON is default_schemas/<id>.json.
SCHEMAS = [
    (
        "minimal-general-v10",
        "Minimal Schema v10",
        "model",
        ["msro", "mtr"],
        "Bailo's default model card: a summary, related data cards and metrics, and a second "
        "page of example questions.",
    ),
    (
        "minimal-data-card-v10",
        "Minimal Data Card Schema v10",
        "dataCard",
        [],
        "Bailo's default data card: where the data is stored, and tags.",
    ),
    (
        "minimal-access-request-general-v10",
        "Minimal Access Request Schema v10",
        "accessRequest",
        ["msro"],
        "Bailo's default access request: a name, who needs access and until when.",
    ),
    (
        "extended-general-v1",
        "Extended general model card",
        "model",
        ["msro", "mtr"],
        "A fuller model card: overview, intended use and performance.",
    ),
    (
        "extended-data-card-v1",
        "Extended data card",
        "dataCard",
        [],
        "Where a data set lives, what it holds and how sensitive it is.",
    ),
    (
        "extended-access-request-v1",
        "Extended access request",
        "accessRequest",
        ["msro"],
        "Who needs access to a model, until when, and why.",
    ),
]

# Bailo's id -> the id of our own that its earlier (richer) questions move to.
MOVED = {
    "minimal-general-v10": "extended-general-v1",
    "minimal-data-card-v10": "extended-data-card-v1",
    "minimal-access-request-general-v10": "extended-access-request-v1",
}


def _write(Schema: Any, schema_id: str) -> None:
    name, kind, roles, description = next(
        (n, k, r, d) for i, n, k, r, d in SCHEMAS if i == schema_id
    )
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


def seed(apps: Any, schema_editor: Any) -> None:
    Schema = apps.get_model("models_app", "Schema")
    for schema_id, *_ in SCHEMAS:
        _write(Schema, schema_id)


def forwards(apps: Any, schema_editor: Any) -> None:
    Schema = apps.get_model("models_app", "Schema")
    ModelCardRevision = apps.get_model("models_app", "ModelCardRevision")
    SchemaMigration = apps.get_model("models_app", "SchemaMigration")
    for bailo_id, own_id in MOVED.items():
        _write(Schema, own_id)
        # The base manager: deleted revisions (restorable until purged) move too.
        revisions = ModelCardRevision._base_manager
        revisions.filter(schema_id=bailo_id).update(schema_id=own_id)
        plans = SchemaMigration._base_manager
        plans.filter(source_schema_id=bailo_id).update(source_schema_id=own_id)
        plans.filter(target_schema_id=bailo_id).update(target_schema_id=own_id)
    seed(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("models_app", "0004_recent_first_index")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
