"""Reviews: review roles, the reviews they owe releases and access requests, the lifecycle reviews
of model cards, and responses.
Everything reviews plug into lower layers is registered here."""

from __future__ import annotations

from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"

    def ready(self) -> None:
        from core.tasks import BEAT_SCHEDULE
        from models_app.frame import OVERVIEW_PANELS
        from models_app.policy import REVIEWER_DOWNLOAD_GRANTS
        from models_app.roles import REVIEW_ROLE_SOURCES
        from models_app.services import SCHEMA_REVIEW_ROLES_CHANGED
        from releases.pages import (
            RELEASE_CREATED_WARNINGS,
            RELEASE_LIST_STATES,
            RELEASE_PAGE_BANNERS,
            RELEASE_PAGE_PANELS,
        )
        from releases.services import RELEASE_PUBLISHED
        from reviews import tasks
        from reviews.lifecycle.views import overview_panel
        from reviews.panels import release_page_banner, release_page_panel
        from reviews.roles.services import review_role_infos, reviews_backfill_for_schema
        from reviews.selectors import (
            release_review_states,
            release_unheld_roles_warnings,
            reviewer_may_download,
        )
        from reviews.services import release_published

        REVIEW_ROLE_SOURCES.register(review_role_infos)
        SCHEMA_REVIEW_ROLES_CHANGED.register(reviews_backfill_for_schema)
        RELEASE_PUBLISHED.register(release_published)
        RELEASE_PAGE_PANELS.register(release_page_panel)
        RELEASE_PAGE_BANNERS.register(release_page_banner)
        RELEASE_LIST_STATES.register(release_review_states)
        RELEASE_CREATED_WARNINGS.register(release_unheld_roles_warnings)
        # Reviewers download the files of the releases they are asked to review.
        REVIEWER_DOWNLOAD_GRANTS.register(reviewer_may_download)
        # The Overview's "Model card review" panel, and the sweep sending lifecycle reminders.
        OVERVIEW_PANELS.register(overview_panel)
        BEAT_SCHEDULE.update(tasks.PERIODIC)
