"""Figures the marketplace shows on every request: the popular tags of public entries and the
number of live entries of each kind (public ones, and all of them for administrators), the same
for everyone who asks; and, per person, how many non-public entries they hold a role on.

Computing them scans the entries table (about 50-100 ms each at 100,000 entries), so they are kept
in the cache for ``MARKETPLACE_CACHE_SECONDS``. Writes that change them (an entry created, deleted
or restored, its visibility or tags changed) call ``entries_changed``, which drops them when the
transaction commits, so a reader racing the write cannot keep a stale figure past the commit.
Writes elsewhere (bulk imports, group membership) are seen once the figures expire.

Every figure is kept with the *generation* it was computed in: a random token that
``entries_changed`` drops (the next read starts a new one), and a figure kept under an older token
is computed again. So a write clears them all with one key, whatever their number: the figures
for everyone, each person's own count (one per person, which could not be listed to drop them by
name) and the pages of text searches (``kept_in_generation``). A person's figures are kept under
keys that name the person: one person's count is never read for another.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Collection
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import Count
from redis.exceptions import RedisError

from models_app.models import EntryKind, Model, ModelTag, Visibility

logger = logging.getLogger(__name__)
T = TypeVar("T")
POPULAR_TAGS = 10
PUBLIC, ALL = "public", "all"
GENERATION = "generation"
# The token outlives any figure kept under it; when it expires a new one starts.
GENERATION_SECONDS = 24 * 3600


def _key(name: str) -> str:
    return f"marketplace:{settings.MARKETPLACE_CACHE_NAMESPACE}:{name}"


def _count_name(scope: str, kinds: Collection[str]) -> str:
    return f"count:{scope}:{','.join(sorted(kinds))}"


# --- the cache, when it cannot be reached, is skipped: the page is slower, not broken ------------


def cache_get_many(keys: list[str]) -> dict[str, Any]:
    try:
        return dict(cache.get_many(keys))
    except (RedisError, OSError) as exc:
        logger.warning("cache unavailable, computing instead: %s", exc)
        return {}


def cache_set_many(values: dict[str, Any], seconds: int) -> None:
    try:
        cache.set_many(values, seconds)
    except (RedisError, OSError) as exc:
        logger.warning("cache unavailable, not kept: %s", exc)


def _current(kept: Any, generation: Any) -> Any:
    """The value of ``kept``, a ``(generation, value)`` pair, if it was computed in
    ``generation``; else None."""
    if generation is None or not (isinstance(kept, tuple) and len(kept) == 2):
        return None
    return kept[1] if kept[0] == generation else None


def public_tags() -> list[str]:
    """The ten tags most used on live public entries, most used first (ties by name)."""

    def compute() -> list[str]:
        rows = (
            ModelTag.objects.filter(model__in=Model.objects.filter(visibility=Visibility.PUBLIC))
            .values("name")
            .annotate(n=Count("id"))
            .order_by("-n", "name")[:POPULAR_TAGS]
        )
        return [r["name"] for r in rows]

    return kept_in_generation("tags", compute)


def live_entry_count(kinds: Collection[str], *, public_only: bool) -> int:
    """How many live entries of ``kinds`` there are (public ones only with ``public_only``)."""
    kinds = sorted(set(kinds) or EntryKind.values)
    return kept_in_generation(
        _count_name(PUBLIC if public_only else ALL, kinds),
        lambda: _count_live(kinds, public_only=public_only),
    )


def _count_live(kinds: Collection[str], *, public_only: bool) -> int:
    rows = Model.objects.filter(kind__in=kinds)
    if public_only:
        rows = rows.filter(visibility=Visibility.PUBLIC)
    return rows.count()


def _own_name(user_id: int, kinds: Collection[str]) -> str:
    return f"own:{user_id}:{','.join(sorted(kinds))}"


def visible_entry_count(
    kinds: Collection[str], *, user_id: int, count_own: Callable[[], int]
) -> int:
    """The live public entries of ``kinds`` plus the live non-public ones that user ``user_id``
    holds a role on (``count_own`` counts those): both read from the cache in one round trip."""
    kinds = sorted(set(kinds) or EntryKind.values)
    seconds = settings.MARKETPLACE_CACHE_SECONDS
    if seconds <= 0:
        return live_entry_count(kinds, public_only=True) + count_own()
    public_key = _key(_count_name(PUBLIC, kinds))
    generation_key = _key(GENERATION)
    own_key = _key(_own_name(user_id, kinds))
    found = cache_get_many([public_key, generation_key, own_key])
    generation = found.get(generation_key)
    public, own = (
        _current(found.get(public_key), generation),
        _current(found.get(own_key), generation),
    )
    if public is not None and own is not None:
        return int(public) + int(own)
    if generation is None:
        generation = _generation_started()
    computed: dict[str, Any] = {}
    if public is None:
        public = computed[public_key] = _count_live(kinds, public_only=True)
    if own is None:
        own = computed[own_key] = count_own()
    if generation is not None:
        cache_set_many({key: (generation, value) for key, value in computed.items()}, seconds)
    return int(public) + int(own)


def kept_in_generation(name: str, compute: Callable[[], T]) -> T:
    """``compute()``, kept under ``name`` with the generation it was computed in, and computed
    again once an entry write has renewed the generation (or the figures expired). The caller
    puts in ``name`` everything the value depends on besides the entries (whose view it is)."""
    seconds = settings.MARKETPLACE_CACHE_SECONDS
    if seconds <= 0:
        return compute()
    generation_key, key = _key(GENERATION), _key(name)
    found = cache_get_many([generation_key, key])
    generation = found.get(generation_key)
    kept = _current(found.get(key), generation)
    if kept is not None:
        return kept  # type: ignore[no-any-return]
    # The generation was read before computing: a write committed meanwhile drops it, so a value
    # that missed the write is kept under the old token and never read again.
    if generation is None:
        generation = _generation_started()
    value = compute()
    if generation is not None:
        cache_set_many({key: (generation, value)}, seconds)
    return value


def _generation_started() -> Any:
    """Start a generation when there is none (a write dropped it, or the cache lost it) and read
    back the one that stands (another process may have started it first); None when the cache
    cannot be reached. Read before computing, like any token: a write that commits after this
    drops it, so what is computed next is never kept past such a write."""
    entries_generation_start()
    key = _key(GENERATION)
    return cache_get_many([key]).get(key)


def entries_generation_key() -> str:
    """The cache key of the current generation: features that keep per-person figures of their
    own which collaborator or entry writes change (the reviews badge) keep them with it too."""
    return _key(GENERATION)


def entries_generation_start() -> None:
    """Start a generation when there is none (the cache lost it, or nothing has made one yet)."""
    cache_add(_key(GENERATION), uuid.uuid4().hex, GENERATION_SECONDS)


def cache_add(key: str, value: Any, seconds: int) -> None:
    """Keep ``value`` under ``key`` unless something is already kept there."""
    try:
        cache.add(key, value, seconds)
    except (RedisError, OSError) as exc:
        logger.warning("cache unavailable, not kept: %s", exc)


def forget() -> None:
    """Drop the generation (``entries_changed`` runs it on commit): every figure kept so far is
    stale. If the cache cannot be reached it keeps them until they expire
    (``MARKETPLACE_CACHE_SECONDS``)."""
    try:
        # Without a token the next read starts a fresh random one, never one seen before.
        cache.delete(_key(GENERATION))
    except (RedisError, OSError) as exc:
        logger.warning("cache unavailable, cached marketplace figures not cleared: %s", exc)


def entries_changed() -> None:
    """Drop the cached figures once the current transaction commits (one cache call per write).

    Until the commit only this transaction sees the change, and other readers are right to keep
    the old figures. Inside an enclosing transaction (a bulk step, a test) the enclosing code may
    read the figures before it commits, so they are dropped at once as well."""
    if len(transaction.get_connection(DEFAULT_DB_ALIAS).atomic_blocks) > 1:
        forget()
    # A function, not a partial: Django names a failed robust hook in its log by __qualname__.
    transaction.on_commit(forget, robust=True)
