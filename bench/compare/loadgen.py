"""A small closed-loop load generator: ``concurrency`` threads, each with its own keep-alive
connection (``requests.Session``), sending the next request as soon as the last one answered,
for a fixed time. wrk is not installed on the development machine; this is what it measures with.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# One request: given the thread's session and a sequence number, send it and return the status.
Send = Callable[[Any, int], int]


@dataclass
class Sample:
    """Latencies (seconds) and errors of one or more timed runs of the same request."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)

    def add(self, other: Sample) -> None:
        self.latencies += other.latencies
        self.errors += other.errors
        self.elapsed += other.elapsed
        for status, n in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + n

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.count / self.elapsed if self.elapsed else 0.0

    def percentile(self, fraction: float) -> float:
        """In milliseconds (nearest rank)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else float("nan")

    @property
    def p99(self) -> float:
        return self.percentile(0.99)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.latencies) * 1000 if self.latencies else float("nan")


def run_load(
    make_session: Callable[[], Any],
    send: Send,
    *,
    concurrency: int,
    seconds: float,
    max_requests: int | None = None,
    ok: Callable[[int], bool] = lambda status: 200 <= status < 300,
) -> Sample:
    """Send requests from ``concurrency`` threads for ``seconds`` (or ``max_requests`` in all)."""
    import requests

    lock = threading.Lock()
    sample = Sample()
    counter = iter(range(max_requests if max_requests is not None else 1 << 62))
    sessions = [make_session() for _ in range(concurrency)]
    deadline = 0.0

    def worker(session: Any) -> None:
        while time.monotonic() < deadline:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            started = time.perf_counter()
            try:
                status = send(session, n)
            except requests.RequestException:
                status = 0
            took = time.perf_counter() - started
            with lock:
                sample.latencies.append(took)
                sample.statuses[status] = sample.statuses.get(status, 0) + 1
                if not ok(status):
                    sample.errors += 1

    threads = [threading.Thread(target=worker, args=(s,), daemon=True) for s in sessions]
    started = time.monotonic()
    deadline = started + seconds
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sample.elapsed = time.monotonic() - started
    for session in sessions:
        session.close()
    return sample
