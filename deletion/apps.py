from __future__ import annotations

from django.apps import AppConfig


class DeletionConfig(AppConfig):
    name = "deletion"

    def ready(self) -> None:
        # The entry's settings page renders registered sections in order; "Deletion" comes last.
        from models_app.policy import Action
        from models_app.views.entry import SettingsSection, register_settings_section

        register_settings_section(
            SettingsSection(
                "deletion",
                "Deletion",
                "deletion/_settings_section.html",
                90,
                action=Action.MODEL_DELETE,
            )
        )
