"""Reminder e-mails for lifecycle reviews, sent by a periodic sweep on the default queue.

What is due is worked out from the database alone, so nothing is lost when a worker or beat
restarts, and a sweep that runs twice (or late) sends each reminder once:

- before the due date, one reminder at ``due_date - interval`` for each of
  ``LIFECYCLE_PRE_REMINDER_INTERVALS`` whose moment came after the review was opened (as Bailo
  schedules only the reminders still in the future). When a sweep finds several due at once (the
  sweep was stopped for weeks), it sends the nearest to the due date and counts the others as
  sent;
- from the due date, one reminder every ``LIFECYCLE_POST_REMINDER_INTERVAL`` until the owners
  answer.

Each sent reminder is recorded in ``Review.reminders_sent`` (``pre:<seconds>``, ``post:<n>``) in
the same transaction that decides to send it, with the review row locked; the e-mail leaves after
that commits. Answering the review (``completed_at``) or deleting the entry (the review is hidden
with it) stops them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from reviews.lifecycle.services import due_in_words
from reviews.models import Review, ReviewKind
from reviews.notifications import entry_owners, send_emails

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reminder:
    """One reminder a review is owed now: its key, the keys it settles, and whether it is
    overdue."""

    key: str
    settles: tuple[str, ...]
    overdue: bool


def reminder_due(review: Review, now: datetime) -> Reminder | None:
    """The reminder ``review`` is owed at ``now`` and has not had, if any."""
    assert review.due_date is not None
    due, sent = review.due_date, set(review.reminders_sent or [])
    if now >= due:
        step = settings.LIFECYCLE_POST_REMINDER_INTERVAL
        key = f"post:{int((now - due) / step)}"
        return None if key in sent else Reminder(key, (key,), overdue=True)
    owed = [
        (due - interval, f"pre:{int(interval.total_seconds())}")
        for interval in settings.LIFECYCLE_PRE_REMINDER_INTERVALS
        if review.created_at <= due - interval <= now
    ]
    owed = [(at, key) for at, key in owed if key not in sent]
    if not owed:
        return None
    owed.sort()
    return Reminder(owed[-1][1], tuple(key for _, key in owed), overdue=False)


def _open_reviews() -> list[int]:
    return list(
        Review.objects.filter(
            kind=ReviewKind.LIFECYCLE,
            completed_at__isnull=True,
            model__deleted_at__isnull=True,
        ).values_list("pk", flat=True)
    )


def lifecycle_reminders_send(*, now: datetime | None = None) -> int:
    """Send the lifecycle reminders due at ``now`` (default: the current time); how many reviews
    got one. Safe to run twice and in parallel (each review row is locked while deciding)."""
    now = now or timezone.now()
    sent = 0
    for review_id in _open_reviews():
        with transaction.atomic():
            review = (
                Review.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk=review_id, completed_at__isnull=True, model__deleted_at__isnull=True)
                .select_related("model")
                .first()
            )
            if review is None:
                continue
            reminder = reminder_due(review, now)
            if reminder is None:
                continue
            review.reminders_sent = [*(review.reminders_sent or []), *reminder.settles]
            Review.objects.filter(pk=review.pk).update(reminders_sent=review.reminders_sent)
            transaction.on_commit(partial(_email_owners, review, reminder, now))
            sent += 1
    return sent


def _absolute(path: str) -> str:
    return f"{settings.BAILO_PUBLIC_URL}{path}"


def _email_owners(review: Review, reminder: Reminder, now: datetime) -> None:
    assert review.due_date is not None
    model = review.model
    when = due_in_words(review.due_date, now)
    if reminder.overdue:
        subject = f"[Bailo] The model card review of {model.name} is past its due date"
    else:
        subject = f"[Bailo] The model card review of {model.name} is due {when}"
    context = {
        "model": model,
        "review": review,
        "overdue": reminder.overdue,
        "when": when,
        "due": review.due_date,
        "model_url": _absolute(reverse("entry-overview", kwargs={"model_id": model.pk})),
        "review_url": _absolute(
            reverse("lifecycle-review", kwargs={"model_id": model.pk, "review_pk": review.pk})
        ),
    }
    owners = entry_owners(model.pk)
    if not owners:
        log.warning(
            "Lifecycle review %s of %s: no owner has an e-mail address", review.pk, model.pk
        )
    send_emails(owners, subject, "reviews/email/lifecycle_reminder.txt", context)
