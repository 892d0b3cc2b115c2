"""The navigation's Reviews badge, kept in the cache: every signed-in page shows it, and counting
it (``selectors.open_review_count``) costs a query that is mostly Python to build (3-4 ms a page).

A person's count is kept with two *generations*, random tokens in the cache:

- the reviews generation, renewed (``reviews_changed``, once the transaction commits) by every
  write that can change anyone's count: a review opened, answered, closed or removed, a lifecycle
  review's due date set, an access request withdrawn, a release deleted, a deletion restored;
- the entries generation of ``models_app.listing_cache``, renewed by the writes to entries and
  their collaborators (an entry created, changed, deleted or restored; roles given or taken, a
  review role's default holders added or the role deleted).

A count kept under older tokens is counted again. Lifecycle reviews enter the badge by the clock
(``LIFECYCLE_BADGE_AHEAD`` before they are due), so a count is kept no later than the moment the
next one enters. Writes that renew neither token (group membership, rows edited in the Django
admin) show once the count expires:
``REVIEW_BADGE_CACHE_SECONDS``.

A reader that counted before a write committed keeps its count under the token it read, which the
write's renewal replaces: a stale count is never read back. The key names the person.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, transaction
from django.utils import timezone
from redis.exceptions import RedisError

from models_app.listing_cache import (
    cache_add,
    cache_get_many,
    cache_set_many,
    entries_generation_key,
    entries_generation_start,
)
from reviews.selectors import open_review_count_until

logger = logging.getLogger(__name__)
# The token outlives any count kept under it; when it expires a new one starts.
GENERATION_SECONDS = 24 * 3600


def _key(name: str) -> str:
    # The marketplace's namespace: tests give each case its own, as for the listing's figures.
    return f"reviews-badge:{settings.MARKETPLACE_CACHE_NAMESPACE}:{name}"


def open_review_badge(user: Any) -> int:
    """``selectors.open_review_count`` for ``user``, from the cache when it is still right."""
    seconds = settings.REVIEW_BADGE_CACHE_SECONDS
    if seconds <= 0:
        return open_review_count_until(user)[0]
    reviews_key, entries_key, own_key = (
        _key("generation"),
        entries_generation_key(),
        _key(f"user:{user.pk}"),
    )
    found = cache_get_many([reviews_key, entries_key, own_key])
    tokens = (found.get(reviews_key), found.get(entries_key))
    kept = found.get(own_key)
    if None not in tokens and isinstance(kept, tuple) and kept[:2] == tokens:
        return int(kept[2])
    if None in tokens:
        # No token yet (or the cache lost one): start it and read back the one that stands
        # (another process may have started it first), before counting: a write that commits
        # after this renews it, so the count below is never kept past such a write.
        if tokens[0] is None:
            cache_add(reviews_key, uuid.uuid4().hex, GENERATION_SECONDS)
        if tokens[1] is None:
            entries_generation_start()
        again = cache_get_many([reviews_key, entries_key])
        tokens = (again.get(reviews_key), again.get(entries_key))
    count, changes_at = open_review_count_until(user)
    if None in tokens:
        return count  # the cache cannot be reached
    if changes_at is not None:
        seconds = min(seconds, int((changes_at - timezone.now()).total_seconds()))
    if seconds > 0:
        cache_set_many({own_key: (*tokens, count)}, seconds)
    return count


def _renew() -> None:
    try:
        # A fresh random token, never one seen before: every count kept so far is stale.
        cache.set(_key("generation"), uuid.uuid4().hex, GENERATION_SECONDS)
    except (RedisError, OSError) as exc:
        logger.warning("cache unavailable, review badges not cleared: %s", exc)


def reviews_changed() -> None:
    """Make every kept badge count stale, now and again once the current transaction commits.

    A reader between the two may count without this transaction's write and keep that count
    under the token renewed first; the renewal at the commit makes it stale. (Renewing only at
    the commit would be enough for other readers; the first renewal is for the enclosing code,
    a bulk step or a test, that reads a badge before it commits.)"""
    if transaction.get_connection(DEFAULT_DB_ALIAS).in_atomic_block:
        _renew()
    transaction.on_commit(_renew, robust=True)
