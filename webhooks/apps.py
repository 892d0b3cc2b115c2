"""Webhooks: an entry's owners ask to be told, over HTTP, when things happen to it.

Everything webhooks plug into lower layers is registered here, in every process (web, worker,
beat):

- the events, each a hook its feature fires after its write commits: ``RELEASE_CREATED`` and
  ``RELEASE_UPDATED`` (releases), ``REVIEW_RESPONSE_CREATED`` (reviews),
  ``ACCESS_REQUEST_CREATED`` (access requests). Each listener (``webhooks.events``) records one
  delivery per webhook that listens and queues it on the ``webhooks`` queue;
- the periodic sweeps (``webhooks.tasks.PERIODIC``);
- the "Webhooks" section of the entry's settings page, for those who may manage webhooks.
"""

from __future__ import annotations

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self) -> None:
        from access.access_requests.services import ACCESS_REQUEST_CREATED
        from core.tasks import BEAT_SCHEDULE
        from models_app.frame import MODEL_KINDS, SETTINGS_SECTIONS, SettingsSection
        from models_app.policy import Action
        from releases.services import RELEASE_CREATED, RELEASE_UPDATED
        from reviews.services import REVIEW_RESPONSE_CREATED
        from webhooks import events, tasks

        RELEASE_CREATED.register(events.release_created)
        RELEASE_UPDATED.register(events.release_updated)
        REVIEW_RESPONSE_CREATED.register(events.review_response_created)
        ACCESS_REQUEST_CREATED.register(events.access_request_created)
        BEAT_SCHEDULE.update(tasks.PERIODIC)
        # Before "Deletion" (90), which stays last.
        SETTINGS_SECTIONS.add(
            SettingsSection(
                "webhooks",
                "Webhooks",
                "webhooks/_settings_section.html",
                80,
                kinds=MODEL_KINDS,
                action=Action.WEBHOOK_MANAGE,
            )
        )
