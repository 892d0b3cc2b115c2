"""Tasks of the core app."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="core.ping", acks_late=True, time_limit=10, ignore_result=False)
def ping() -> str:
    """Answers ``pong``: proves a worker is consuming the default queue."""
    return "pong"
