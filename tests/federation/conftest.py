"""Fixtures for the federation tests: a way to configure peers for one test, and peer entries
pointing at the stub servers of ``tests/federation/stubs.py``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from core.federation import service
from core.federation.config import parse_peers

Federate = Callable[..., None]


@pytest.fixture(autouse=True)
def _no_status_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Statuses are cached by peer address; a later test's stub may get an earlier one's port."""
    monkeypatch.setattr(service, "STATUS_CACHE", 0)


@pytest.fixture
def federate(settings: Any) -> Federate:
    """Configure this instance as ``east`` with these peers (raw config, as in the setting)."""

    def configure(
        peers: dict[str, dict[str, Any]], *, state: str = "enabled", escalation: bool = False
    ) -> None:
        settings.BAILO_FEDERATION_STATE = state
        settings.BAILO_FEDERATION_ID = "east"
        settings.BAILO_FEDERATION_ESCALATION = escalation
        settings.BAILO_FEDERATION_PEERS = parse_peers(peers)

    return configure


def bailo_peer(url: str, **extra: Any) -> dict[str, Any]:
    # No result cache unless a test asks: stub ports are reused across tests, cache keys too.
    return {
        "state": "enabled", "baseUrl": url, "label": "West", "kind": "bailo", "timeout": 2,
        "cache": {"query": 0}, **extra,
    }  # fmt: skip


def hub_peer(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "state": "enabled", "baseUrl": url, "label": "Hugging Face", "kind": "huggingfacehub",
        "timeout": 2, "cache": {"query": 0}, **extra,
    }  # fmt: skip
