"""Counting failed secrets (passwords, token secrets) and locking out whoever keeps guessing.

One mechanism serves sign-in and HTTP Basic token checks. Failures are counted in the cache
(Redis with the stack, so every web process shares the counts) per *subject*: an account name, an
access key or a client address, each under its own limit. When a subject reaches its limit within
the window, it is locked for the lockout period: every check for it is refused at once, before
any password hash is computed, and a correct secret is refused like a wrong one until the lock
ends. The subject's value is hashed into the key, so the cache holds no user names, and nothing is
looked up in the database, so a lock looks the same whether or not the account or key exists.

A limit of 0 switches that counter off.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from core.errors import BailoError


@dataclass(frozen=True)
class Limit:
    """``failures`` failed attempts within ``window`` seconds lock the subject for ``lockout``."""

    failures: int
    window: int
    lockout: int


class TooManyFailures(BailoError):
    """A subject is locked out; ``retry_after`` is the whole seconds until the lock ends."""

    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _limit(name: str) -> Limit:
    failures, window, lockout = settings.FAILURE_LIMITS[name]
    return Limit(failures=failures, window=window, lockout=lockout)


def _keys(kind: str, subject: str) -> tuple[str, str]:
    digest = hashlib.sha256(subject.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    # The namespace lets tests start each case with fresh counters on the shared Redis.
    base = f"failures:{settings.FAILURE_LIMIT_NAMESPACE}:{kind}:{digest}"
    return f"{base}:count", f"{base}:locked-until"


def locked_for(kind: str, subject: str) -> int:
    """Seconds left on this subject's lock, 0 when it is not locked."""
    if _limit(kind).failures <= 0:
        return 0
    _, lock_key = _keys(kind, subject)
    until = cache.get(lock_key)
    if until is None:
        return 0
    return max(0, math.ceil(float(until) - time.time()))


def record_failure(kind: str, subject: str) -> None:
    """Count one failed attempt; the attempt that reaches the limit starts the lock."""
    limit = _limit(kind)
    if limit.failures <= 0:
        return
    count_key, lock_key = _keys(kind, subject)
    # add() starts the window only if no count exists, so the window runs from the first failure.
    cache.add(count_key, 0, timeout=limit.window)
    try:
        count = cache.incr(count_key)
    except ValueError:  # the count expired between add() and incr()
        cache.add(count_key, 1, timeout=limit.window)
        count = 1
    if count >= limit.failures:
        cache.set(lock_key, time.time() + limit.lockout, timeout=limit.lockout)
        cache.delete(count_key)


def clear(kind: str, subject: str) -> None:
    """Forget a subject's failures (an account after a successful sign-in)."""
    count_key, _ = _keys(kind, subject)
    cache.delete(count_key)


def check_all(subjects: list[tuple[str, str]], message: str) -> None:
    """Raise ``TooManyFailures`` if any of the ``(kind, subject)`` pairs is locked."""
    wait = max((locked_for(kind, subject) for kind, subject in subjects), default=0)
    if wait > 0:
        raise TooManyFailures(message, wait)


def client_address(request: HttpRequest) -> str:
    """The client's address as the throttle counts it.

    ``REMOTE_ADDR`` unless ``CLIENT_ADDRESS_HEADER`` names a header set by a trusted reverse proxy,
    whose last value (the address the proxy itself saw) is used. IPv6 clients are counted per /64,
    since one host usually holds a whole /64.
    """
    raw = ""
    if settings.CLIENT_ADDRESS_HEADER:
        meta_name = "HTTP_" + settings.CLIENT_ADDRESS_HEADER.upper().replace("-", "_")
        values = [v.strip() for v in request.META.get(meta_name, "").split(",") if v.strip()]
        raw = values[-1] if values else ""
    raw = raw or str(request.META.get("REMOTE_ADDR") or "")
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw or "unknown"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
