from __future__ import annotations

from django.apps import AppConfig


class DeletionConfig(AppConfig):
    name = "deletion"

    def ready(self) -> None:
        # The entry's settings page renders registered sections in order; "Deletion" comes last.
        from core.tasks import BEAT_SCHEDULE
        from deletion import tasks
        from deletion.api import add_routes
        from models_app.frame import SETTINGS_SECTIONS, SettingsSection
        from models_app.policy import Action

        add_routes()
        BEAT_SCHEDULE.update(tasks.PERIODIC)
        SETTINGS_SECTIONS.add(
            SettingsSection(
                "deletion",
                "Deletion",
                "deletion/_settings_section.html",
                90,
                action=Action.MODEL_DELETE,
            )
        )
