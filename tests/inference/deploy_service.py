"""A real deploy service for tests: a small threaded HTTP server on 127.0.0.1 that plays the
external inference service. It records every request and answers from a script (a list of
statuses; the last repeats); ``hang=True`` holds each request until the test ends, for timeouts.
``closed_url()`` is an address where nothing listens, for a service that is down."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.stub_http import close, serve


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class DeployService:
    def __init__(self, statuses: tuple[int, ...] = (200,), *, hang: bool = False) -> None:
        self.statuses = list(statuses)
        self.hang = hang
        self.calls: list[Call] = []
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def answer_with(self, *statuses: int) -> None:
        """From the next call on, answer these statuses (the last repeats)."""
        with self._lock:
            self.statuses = list(statuses)
            self._answered = len(self.calls)

    _answered = 0

    def _record(self, call: Call) -> int:
        with self._lock:
            self.calls.append(call)
            index = min(len(self.calls) - self._answered, len(self.statuses)) - 1
            return self.statuses[index]

    def start(self) -> None:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                call = Call(self.command, self.path, dict(self.headers.items()), body)
                status = service._record(call)
                if service.hang:
                    service.release.wait(30)
                    return
                if 200 <= status < 300:
                    answer: dict[str, Any] = {"ok": True}
                else:
                    answer = {"error": {"message": f"scripted failure {status}"}}
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass

            do_POST = do_PATCH = do_DELETE = do_GET = _handle

            def log_message(self, *args: Any) -> None:
                pass

        self._server = serve(Handler)

    def stop(self) -> None:
        self.release.set()
        close(self._server)


@contextmanager
def running(*statuses: int, hang: bool = False) -> Iterator[DeployService]:
    service = DeployService(statuses or (200,), hang=hang)
    service.start()
    try:
        yield service
    finally:
        service.stop()


def closed_url() -> str:
    """An address on 127.0.0.1 where nothing listens (the port was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
