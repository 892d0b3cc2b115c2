from __future__ import annotations

from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "access"

    def ready(self) -> None:
        # An approved, unexpired access request grants download and pull (models_app.policy).
        from access.access_requests import access_granted
        from models_app.policy import DOWNLOAD_GRANTS

        if access_granted not in DOWNLOAD_GRANTS:
            DOWNLOAD_GRANTS.append(access_granted)
