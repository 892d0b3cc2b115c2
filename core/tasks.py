"""Tasks of the core app, and the beat schedule every app contributes to.

Periodic tasks are declared beside their domain (a ``PERIODIC`` mapping in the app's tasks
module) and added to ``BEAT_SCHEDULE`` from the app's ``AppConfig.ready()``; the Celery
application (``bailo_site.celery``) hands this one mapping to beat.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

# Celery beat entries by name: {"task": ..., "schedule": seconds, "options": {"queue": ...}}.
BEAT_SCHEDULE: dict[str, dict[str, Any]] = {}


def periodic(task: str, *, every_seconds: float, queue: str = "default") -> dict[str, Any]:
    """One beat entry: run ``task`` every ``every_seconds`` on ``queue``."""
    return {"task": task, "schedule": every_seconds, "options": {"queue": queue}}


@shared_task(name="core.ping", acks_late=True, time_limit=10, ignore_result=False)
def ping() -> str:
    """Answers ``pong``: proves a worker is consuming the default queue."""
    return "pong"
