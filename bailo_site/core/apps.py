from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "bailo_site.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from bailo_site.core import signals  # noqa: F401  (connects the sign-in audit receivers)
