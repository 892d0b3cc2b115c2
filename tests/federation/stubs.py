"""Real HTTP servers on 127.0.0.1 that play federated peers in tests.

- ``HubStub`` speaks the part of the Hugging Face Hub API the connector uses: ``GET /api/models``
  (``search``, ``limit``, ``expand``) and ``GET /api/models/<owner>/<name>``, over a small
  catalogue.
- ``BailoStub`` answers ``/api/v2/system/status`` and ``/api/v2/models/search`` from fixed rows.

Both record every request (path, query, headers). ``mode`` turns either into a failing peer:
``"error"`` answers 500, ``"slow"`` holds each request until ``release`` is set (or 30 s),
``"trickle"`` sends its answer one byte every ``trickle_gap`` seconds, ``"garbage"`` answers
non-JSON. ``closed_url()`` is an address where nothing listens.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.stub_http import close, serve

HUB_MODELS = [
    {
        "_id": "64a1f0c2e0b1a2b3c4d5e6f7",
        "id": "acme/sentiment-classifier",
        "author": "acme",
        "pipeline_tag": "text-classification",
        "tags": ["transformers", "sentiment"],
        "private": False,
        "createdAt": "2024-01-02T03:04:05.000Z",
        "lastModified": "2024-02-03T04:05:06.000Z",
    },
    {
        "_id": "64a1f0c2e0b1a2b3c4d5e6f8",
        "id": "someone/sentiment-tiny",
        "author": "someone",
        "pipeline_tag": "text-classification",
        "tags": ["sentiment"],
        "private": False,
        "createdAt": "2024-03-02T03:04:05.000Z",
        "lastModified": "2024-03-03T04:05:06.000Z",
    },
    {
        "_id": "64a1f0c2e0b1a2b3c4d5e6f9",
        "id": "acme/private-sentiment",
        "author": "acme",
        "private": True,
        "tags": [],
    },
    {
        "_id": "64a1f0c2e0b1a2b3c4d5e6fa",
        "id": "acme/image-segmenter",
        "author": "acme",
        "pipeline_tag": "image-segmentation",
        "tags": ["vision"],
        "private": False,
    },
]


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


class Stub:
    def __init__(self, mode: str = "ok", trickle_gap: float = 0.3) -> None:
        self.mode = mode
        self.trickle_gap = trickle_gap
        self.requests: list[Request] = []
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def searches(self) -> list[Request]:
        return [r for r in self.requests if "search" in r.path or r.path == "/api/models"]

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        raise NotImplementedError

    def start(self) -> None:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                with stub._lock:
                    stub.requests.append(Request(parts.path, query, dict(self.headers.items())))
                if stub.mode == "slow":
                    stub.release.wait(30)
                    return
                status, body = stub.answer(parts.path, query)
                if stub.mode == "error":
                    status, body = 500, {"error": {"message": "the peer broke"}}
                data = b"<html>not json</html>" if stub.mode == "garbage" else json.dumps(body)
                data = data if isinstance(data, bytes) else data.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if stub.mode == "trickle":
                        for i in range(len(data)):
                            if stub.release.is_set():
                                return
                            self.wfile.write(data[i : i + 1])
                            self.wfile.flush()
                            time.sleep(stub.trickle_gap)
                    else:
                        self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (a timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = serve(Handler)

    def stop(self) -> None:
        self.release.set()
        close(self._server)


class HubStub(Stub):
    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        if path == "/api/models":
            text = query.get("search", [""])[0].lower()
            limit = int(query.get("limit", ["1000"])[0])
            found = [m for m in HUB_MODELS if text in m["id"].lower()]
            return 200, found[:limit]
        name = path.removeprefix("/api/models/")
        for model in HUB_MODELS:
            if model["id"] == name:
                return 200, model
        return 404, {"error": "Repository not found"}


class BailoStub(Stub):
    def __init__(self, rows: list[dict[str, Any]] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rows = rows if rows is not None else [
            {"id": "remote-model-abc123", "name": "Remote sentiment", "description": "From afar",
             "tags": ["nlp"], "kind": "model", "organisation": "West", "state": "Production",
             "collaborators": [{"entity": "user:someone", "roles": ["owner"]}]},
        ]  # fmt: skip

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        if path == "/api/v2/system/status":
            return 200, {"ping": "pong", "federation": {"state": "enabled", "id": "west"}}
        if path == "/api/v2/models/search":
            text = query.get("search", [""])[0].lower()
            return 200, {
                "models": [
                    r
                    for r in self.rows
                    if not isinstance(r, dict) or text in str(r.get("name", "")).lower()
                ],
                "errors": {},
            }
        return 404, {"error": {"message": "Not found"}}


@contextmanager
def running(stub: Stub) -> Iterator[Stub]:
    stub.start()
    try:
        yield stub
    finally:
        stub.stop()


def closed_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"
