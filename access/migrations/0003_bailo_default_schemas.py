"""Access requests written against our earlier default access-request schema follow its
questions to ``extended-access-request-v1`` (see models_app 0005), so none becomes invalid."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def forwards(apps: Any, schema_editor: Any) -> None:
    AccessRequest = apps.get_model("access", "AccessRequest")
    AccessRequest._base_manager.filter(schema_id="minimal-access-request-general-v10").update(
        schema_id="extended-access-request-v1"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("access", "0002_access_requests"),
        ("models_app", "0005_bailo_default_schemas"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
