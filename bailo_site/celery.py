"""The Celery application. Queues: default, scans, purge, webhooks, mirroring. JSON only.

In the embedded default (no ``REDIS_URL``) tasks run eagerly in the calling process.
"""

from __future__ import annotations

import os

from celery import Celery
from kombu import Queue

from core.tasks import BEAT_SCHEDULE

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bailo_site.settings")

app = Celery("bailo_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [
    Queue(name) for name in ("default", "scans", "purge", "webhooks", "mirroring")
]
app.conf.task_default_queue = "default"
# The apps fill this mapping from their AppConfig.ready(); beat reads it when it starts.
app.conf.beat_schedule = BEAT_SCHEDULE
app.autodiscover_tasks()
