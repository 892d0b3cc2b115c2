"""E-mails about reviews. Sent after commit; a mail failure is logged and never undoes a review."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def notify_review_requested(review_id: int) -> None:
    """Tell the holders of a review's role that a review is waiting (written with the reviews
    pages)."""
    log.info("review %s requested", review_id)


def notify_response(response_id: int) -> None:
    log.info("response %s recorded", response_id)
