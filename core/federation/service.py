"""Asking the peers: their status and their search results, all at once, each within its time.

Requests to peers run on a small shared thread pool; the caller starts them (``peer_search_start``,
``peer_status_start``), does its own work (the local search) meanwhile, then collects. Collecting
waits for each peer no longer than that peer's ``timeout`` counted from the start, so however slow
a peer is, the page waits at most the longest timeout (plus a little), and a late peer is reported
as an error for that peer alone. The connectors bound their own requests by the same timeout, so a
thread given up on is freed soon after.

Search results are cached in the Django cache (Redis on the stack) per peer, user and query for the
peer's ``cache.query`` seconds; errors are not cached. Statuses are cached for ``STATUS_CACHE``
seconds, so the marketplace can mark unreachable peers without asking them on every page.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.conf import settings
from django.core.cache import cache

from core.errors import BadRequest
from core.federation.config import FederationState, PeerConfig
from core.ports.peers import PeerConnector, PeerError, PeerQuery, connector_for, peer_link

logger = logging.getLogger(__name__)

STATUS_CACHE = 20
# Time given beyond a peer's timeout for the thread to hand its answer over.
GRACE = 0.25
NOT_ENABLED = "Federated search is not enabled"

# Per web process. A call still queued when its peer's time is up counts as that peer's timeout,
# so the pool is sized for several pages each asking a few slow peers at once.
_pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="peer")


def federation_state() -> FederationState:
    return FederationState(settings.BAILO_FEDERATION_STATE)


def configured_peers() -> dict[str, PeerConfig]:
    """The peers, by id; none while federation is disabled (Bailo loads none then either)."""
    if federation_state() == FederationState.DISABLED:
        return {}
    peers: dict[str, PeerConfig] = settings.BAILO_FEDERATION_PEERS
    return peers


def connector(peer: PeerConfig) -> PeerConnector:
    return connector_for(
        peer,
        own_id=settings.BAILO_FEDERATION_ID,
        escalation=settings.BAILO_FEDERATION_ESCALATION,
    )


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def _peer_key(peer: PeerConfig) -> str:
    # The address is part of every key: re-pointing a peer id must not serve the old answers.
    return _digest(peer.id, peer.base_url, peer.kind.value)


def peer_error(peer_id: str, message: str, code: int) -> dict[str, Any]:
    """One entry of a search's ``errors`` (keyed by peer id), in Bailo's error fields."""
    return {"peerId": peer_id, "message": message, "code": code}


@dataclass
class _Pending:
    """Calls running on the pool, one per peer, each to be waited for until its deadline."""

    started: float
    calls: dict[str, tuple[PeerConfig, Future[Any]]] = field(default_factory=dict)
    done: dict[str, Any] = field(default_factory=dict)

    def submit(self, peer: PeerConfig, call: Callable[[], Any]) -> None:
        self.calls[peer.id] = (peer, _pool.submit(call))

    def collect(self) -> dict[str, Any | PeerError]:
        """Each peer's answer or its ``PeerError``, by peer id."""
        answers: dict[str, Any | PeerError] = dict(self.done)
        for peer_id, (peer, future) in self.calls.items():
            remaining = self.started + peer.timeout + GRACE - time.monotonic()
            try:
                answers[peer_id] = future.result(timeout=max(0.0, remaining))
            except FutureTimeout:
                future.cancel()
                answers[peer_id] = PeerError(
                    f"{peer.label} did not answer within {peer.timeout:g} s", 504
                )
            except PeerError as exc:
                answers[peer_id] = exc
            except Exception:
                # Whatever a peer provokes stays that peer's error: the page must still answer.
                logger.exception("Peer %s: unexpected failure", peer_id)
                answers[peer_id] = PeerError(f"{peer.label} could not be asked")
        return answers


@dataclass
class PeerResults:
    rows: list[dict[str, Any]]
    errors: dict[str, dict[str, Any]]


class PendingSearch:
    """A search put to peers and not yet collected."""

    def __init__(
        self,
        pending: _Pending,
        store: dict[str, tuple[str, int]],
        errors: dict[str, dict[str, Any]],
    ) -> None:
        self._pending = pending
        self._store = store
        self._errors = errors

    def collect(self) -> PeerResults:
        rows: list[dict[str, Any]] = []
        errors = dict(self._errors)
        for peer_id, answer in self._pending.collect().items():
            if isinstance(answer, PeerError):
                logger.warning("Peer %s search failed: %s", peer_id, answer.message)
                errors[peer_id] = peer_error(peer_id, answer.message, answer.code)
                continue
            if peer_id in self._store:
                key, seconds = self._store[peer_id]
                cache.set(key, answer, seconds)
            rows.extend(answer)
        return PeerResults(rows=rows, errors=errors)


def check_peer_ids(peer_ids: Sequence[str]) -> None:
    """400 for a peer id that is not configured (Bailo answers 500). While federation is
    disabled every id is answered with a per-peer error instead, so nothing is refused."""
    if federation_state() == FederationState.DISABLED:
        return
    peers = configured_peers()
    unknown = [p for p in peer_ids if p not in peers]
    if unknown:
        known = ", ".join(sorted(peers)) or "none are configured"
        raise BadRequest(
            f"'{unknown[0][:64]}' is not a peer of this instance (peers: {known})",
            {"peers": unknown[0][:64]},
        )


def peer_search_start(*, user: str, query: PeerQuery, peer_ids: Sequence[str]) -> PendingSearch:
    """Put ``query`` to each of ``peer_ids`` as ``user`` (their user name); raises
    ``BadRequest`` for an unknown id before asking anyone."""
    check_peer_ids(peer_ids)
    pending = _Pending(started=time.monotonic())
    errors: dict[str, dict[str, Any]] = {}
    store: dict[str, tuple[str, int]] = {}
    if federation_state() == FederationState.DISABLED:
        for peer_id in peer_ids:
            errors[peer_id] = peer_error(peer_id, NOT_ENABLED, 400)
        return PendingSearch(pending, store, errors)
    peers = configured_peers()
    for peer_id in dict.fromkeys(peer_ids):
        peer = peers[peer_id]
        if peer.disabled:
            errors[peer_id] = peer_error(peer_id, f"{peer.label} is disabled", 400)
            continue
        key = f"federation:search:{_peer_key(peer)}:{_digest(user)}:{_digest(query.key())}"
        if peer.query_cache_seconds:
            cached = cache.get(key)
            if cached is not None:
                pending.done[peer_id] = cached
                continue
            store[peer_id] = (key, peer.query_cache_seconds)
        pending.submit(peer, partial(connector(peer).search, query, user=user))
    return PendingSearch(pending, store, errors)


class PendingStatus:
    def __init__(self, pending: _Pending, peers: dict[str, PeerConfig]) -> None:
        self._pending = pending
        self._peers = peers

    def collect(self) -> dict[str, dict[str, Any]]:
        """``{peerId: {config, status}}`` as ``GET /system/peers`` answers."""
        answers = self._pending.collect()
        found: dict[str, dict[str, Any]] = {}
        for peer_id, peer in self._peers.items():
            answer = answers[peer_id]
            if isinstance(answer, PeerError):
                status: dict[str, Any] = {
                    "ping": "",
                    "error": {"message": answer.message, "code": answer.code},
                }
            else:
                status = answer
            if peer_id in self._pending.calls:
                # Failures too: an unreachable peer would otherwise cost every page its timeout.
                cache.set(f"federation:status:{_peer_key(peer)}", status, STATUS_CACHE)
            found[peer_id] = {"config": peer.public(), "status": status}
        return found


def peer_status_start() -> PendingStatus:
    """Ask every configured peer whether it answers (a disabled peer is not asked)."""
    peers = configured_peers()
    pending = _Pending(started=time.monotonic())
    for peer_id, peer in peers.items():
        if peer.disabled:
            pending.done[peer_id] = PeerError(f"{peer.label} is disabled", 400)
            continue
        cached = cache.get(f"federation:status:{_peer_key(peer)}")
        if cached is not None:
            pending.done[peer_id] = (
                PeerError(cached["error"]["message"], cached["error"]["code"])
                if cached.get("error")
                else cached
            )
            continue
        pending.submit(peer, connector(peer).status)
    return PendingStatus(pending, peers)


def peer_link_for(row: dict[str, Any]) -> str:
    """The address of a peer's result on that peer (empty if the peer is no longer set up)."""
    peer = configured_peers().get(row.get("peerId", ""))
    return peer_link(peer, row) if peer else ""
