"""Checks behind ``GET /api/v2/system/health``: is each component we depend on answering?

Each check returns ``ok``, ``error`` (with the reason) or ``disabled`` (not configured: the embedded
default runs without it). Checks use short timeouts so a dead component cannot hang the page.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from core.ports import registry
from core.ports.scanners import ClamAVScanner
from core.ports.storage import blob_store

TIMEOUT = 2.0


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    state: str  # ok | error | disabled
    detail: str
    millis: float


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return f"{connection.vendor}"


def _redis() -> str | None:
    if not settings.REDIS_URL:
        return None
    import redis

    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT
    )
    try:
        client.ping()
    finally:
        client.close()
    return "PONG"


def _s3() -> str | None:
    if settings.BLOB_STORAGE != "s3":
        return None
    return blob_store().check()


def _registry() -> str | None:
    if not settings.REGISTRY_URL:
        return None
    return registry.ping()


def _clamd() -> str | None:
    if not settings.CLAMD_HOST:
        return None
    return ClamAVScanner(settings.CLAMD_HOST, settings.CLAMD_PORT, timeout=TIMEOUT).version()


CHECKS: dict[str, Callable[[], str | None]] = {
    "database": _database,
    "redis": _redis,
    "s3": _s3,
    "registry": _registry,
    "clamd": _clamd,
}


def system_status() -> list[ComponentStatus]:
    results = []
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            detail = check()
            state = "disabled" if detail is None else "ok"
            detail = detail or "not configured"
        except Exception as exc:  # a health check reports every failure instead of raising
            # A port's own "unavailable" error keeps the cause in ``detail``: show that.
            cause = getattr(exc, "detail", "") or exc
            state, detail = "error", f"{type(exc).__name__}: {cause}"[:300]
        results.append(
            ComponentStatus(
                name=name,
                state=state,
                detail=detail,
                millis=round((time.perf_counter() - started) * 1000, 1),
            )
        )
    return results
