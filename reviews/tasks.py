"""Celery tasks of the reviews feature: the periodic sweep that sends the lifecycle reminders
that are due (``PERIODIC``, on the default queue; ``reviews.lifecycle.reminders``)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from core.tasks import periodic
from reviews.lifecycle.reminders import lifecycle_reminders_send


@shared_task(
    name="reviews.send_lifecycle_reminders",
    acks_late=True,
    soft_time_limit=300,
    time_limit=360,
    ignore_result=True,
)
def send_lifecycle_reminders() -> int:
    """Send the lifecycle reminders due now; how many. Safe to run twice: each reminder is
    recorded on its review before its e-mail leaves."""
    return lifecycle_reminders_send()


PERIODIC = {
    "reviews-lifecycle-reminders": periodic(
        "reviews.send_lifecycle_reminders",
        every_seconds=settings.LIFECYCLE_REMINDER_SWEEP_EVERY.total_seconds(),
    ),
}
