"""Model mirroring: exporting a model to the exports bucket as signed tarballs, and importing
them into a mirrored model on another instance (``bailo-upstream-features.md`` §3).

Registered here, in every process: the "Mirrored models" section of a model's settings (export,
shown to owners while ``MIRROR_EXPORT_ENABLED``), and the "Transfers" section of a mirrored
model's settings. What a deletion does with exports and transfers is declared in
``deletion/cascade.py``.
"""

from __future__ import annotations

from django.apps import AppConfig


class MirroringConfig(AppConfig):
    name = "mirroring"

    def ready(self) -> None:
        from models_app.frame import SETTINGS_SECTIONS, SettingsSection
        from models_app.models import EntryKind
        from models_app.policy import Action

        # Before "Webhooks" (80) and "Deletion" (90).
        SETTINGS_SECTIONS.add(
            SettingsSection(
                "mirrored-models",
                "Mirrored models",
                "mirroring/_export_section.html",
                70,
                kinds=frozenset({EntryKind.MODEL.value}),
                action=Action.MODEL_EXPORT,
            )
        )
        SETTINGS_SECTIONS.add(
            SettingsSection(
                "transfers",
                "Transfers",
                "mirroring/_transfers_section.html",
                70,
                kinds=frozenset({EntryKind.MIRRORED_MODEL.value}),
                action=Action.MODEL_VIEW,
            )
        )
