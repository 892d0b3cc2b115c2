from __future__ import annotations

from django.apps import AppConfig


class ModelsAppConfig(AppConfig):
    name = "models_app"
    verbose_name = "Models and data cards"

    def ready(self) -> None:
        from models_app.frame import ENTRY_TABS, EntryTab
        from models_app.policy import Action

        ENTRY_TABS.add(EntryTab("overview", "Overview", "entry-overview", 10))
        ENTRY_TABS.add(
            EntryTab(
                "settings", "Settings", "entry-settings", 90, action=Action.MODEL_EDIT_SETTINGS
            )
        )
