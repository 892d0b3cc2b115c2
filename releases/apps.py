from __future__ import annotations

from django.apps import AppConfig


class ReleasesConfig(AppConfig):
    name = "releases"

    def ready(self) -> None:
        # Registers the scan tasks, their beat entry, the upload hook and the download rule in
        # every process (web, worker, beat), not only where the URLs happen to load.
        from releases import scan_tasks  # noqa: F401
