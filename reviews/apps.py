"""Reviews: review roles, the reviews they owe releases and access requests, and responses.
Everything reviews plug into lower layers is registered here."""

from __future__ import annotations

from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"

    def ready(self) -> None:
        from models_app.roles import REVIEW_ROLE_SOURCES
        from models_app.services import SCHEMA_REVIEW_ROLES_CHANGED
        from releases.pages import RELEASE_PAGE_PANELS
        from releases.services import RELEASE_PUBLISHED
        from reviews.panels import release_page_panel
        from reviews.roles.services import review_role_infos, reviews_backfill_for_schema
        from reviews.services import release_published

        REVIEW_ROLE_SOURCES.register(review_role_infos)
        SCHEMA_REVIEW_ROLES_CHANGED.register(reviews_backfill_for_schema)
        RELEASE_PUBLISHED.register(release_published)
        RELEASE_PAGE_PANELS.register(release_page_panel)
