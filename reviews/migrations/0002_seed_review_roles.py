from __future__ import annotations

from typing import Any

from django.db import migrations

DEFAULT_ROLES = [
    (
        "msro",
        "Model Senior Responsible Officer",
        "Accountable for the model's use: approves releases and grants access.",
    ),
    (
        "mtr",
        "Model Technical Reviewer",
        "Checks the technical quality of each release before it is approved.",
    ),
]


def seed(apps: Any, schema_editor: Any) -> None:
    ReviewRole = apps.get_model("reviews", "ReviewRole")
    for short_name, name, description in DEFAULT_ROLES:
        ReviewRole.objects.get_or_create(
            short_name=short_name, defaults={"name": name, "description": description}
        )


class Migration(migrations.Migration):
    dependencies = [("reviews", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
