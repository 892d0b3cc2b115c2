from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from core import signals  # noqa: F401  (connects the sign-in audit receivers)
