"""Django's Redis cache backend, with one Redis client object per connection pool.

Django's ``RedisCacheClient`` builds a new ``redis.Redis`` for every cache call; building one
copies redis-py's table of about 170 response callbacks, which costs more CPU than the call
itself (about 0.1 ms each, several times a request on the marketplace and on every entry write).
A ``redis.Redis`` holds no state of its own beyond that table and its pool (connections come from
the pool for each command), and redis-py documents it as safe to share between threads, so one per
pool is kept and reused. The pool is Django's, so connections, options and forking behave as before.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class ReusedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, servers: list[str], **options: Any) -> None:
        super().__init__(servers, **options)
        # Pool -> its client. Two threads racing on the first call may each build one: harmless.
        self._clients: dict[Any, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class RedisCache(DjangoRedisCache):
    """``django.core.cache.backends.redis.RedisCache`` reusing its clients (see above)."""

    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient
