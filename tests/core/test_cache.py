"""The Redis cache backend (core.cache): one client object per connection pool, reused by every
call, and the cache still reads back what it keeps."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import caches

from core.cache import RedisCache


def redis_cache() -> RedisCache:
    used = caches["default"]
    if not isinstance(used, RedisCache):
        pytest.skip("the cache is not Redis here (REDIS_URL is unset)")
    return used


def test_every_call_uses_the_same_client_for_the_same_pool() -> None:
    backend = redis_cache()._cache
    assert backend.get_client(write=True) is backend.get_client(write=True)
    assert backend.get_client() is backend.get_client()


def test_the_reused_client_reads_back_writes_and_deletes() -> None:
    used = redis_cache()
    key = f"test-cache-{uuid.uuid4().hex}"
    used.set(key, {"n": 1}, 30)
    assert used.get(key) == {"n": 1}
    used.delete_many([key])
    assert used.get(key) is None
