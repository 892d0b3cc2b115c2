from __future__ import annotations

from django.apps import AppConfig


class ReleasesConfig(AppConfig):
    name = "releases"

    def ready(self) -> None:
        # Registers the scan tasks, their beat entry, the upload hook and the download rule in
        # every process (web, worker, beat), not only where the URLs happen to load.
        from models_app.frame import ENTRY_TABS, MODEL_KINDS, EntryTab
        from releases.scanning import tasks as scan_tasks  # noqa: F401

        ENTRY_TABS.add(EntryTab("releases", "Releases", "entry-releases", 20, kinds=MODEL_KINDS))
        ENTRY_TABS.add(EntryTab("registry", "Registry", "entry-registry", 40, kinds=MODEL_KINDS))
        ENTRY_TABS.add(EntryTab("files", "Files", "entry-files", 50, kinds=MODEL_KINDS))
