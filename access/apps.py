"""Who gets access: personal access tokens (``access.tokens``) and access requests
(``access.access_requests``). Everything they plug into lower layers is registered here."""

from __future__ import annotations

from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "access"

    def ready(self) -> None:
        from access.access_requests.selectors import ACCESS_REQUEST_SCHEMA_USES
        from access.access_requests.services import (
            APPROVED_ACCESS_REQUESTS,
            access_requests_backfill,
        )
        from access.tokens.credentials import basic_credentials_check
        from core.authentication import CREDENTIAL_CHECKS
        from models_app.frame import ENTRY_TABS, MODEL_KINDS, EntryTab
        from models_app.policy import DOWNLOAD_GRANTS, Action
        from models_app.selectors import SCHEMA_USES
        from reviews.roles.services import SCHEMA_BACKFILLS

        # API calls and `docker login` with a token's access key and secret.
        CREDENTIAL_CHECKS.register(basic_credentials_check)
        # An approved, unexpired access request grants download and pull (models_app.policy).
        DOWNLOAD_GRANTS.register(APPROVED_ACCESS_REQUESTS)
        # Changing an access-request schema's review roles opens the reviews its requests owe.
        SCHEMA_BACKFILLS.register(access_requests_backfill)
        # The administrators' schema usage counts access requests too.
        SCHEMA_USES.register(ACCESS_REQUEST_SCHEMA_USES)
        ENTRY_TABS.add(
            EntryTab(
                "access-requests",
                "Access requests",
                "entry-access-requests",
                30,
                kinds=MODEL_KINDS,
                action=Action.ACCESS_REQUEST_VIEW,
            )
        )
