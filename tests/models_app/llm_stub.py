"""A tiny OpenAI-compatible chat completions server on 127.0.0.1, for the card-import adapter.

It answers ``POST /v1/chat/completions`` with whatever the test sets: ``reply(content)`` for a
well-formed completion whose message content is ``content``, ``raw(status, body)`` for anything
else, ``delay`` seconds before answering. Every request body it received is in ``requests``.
"""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.stub_http import close, serve


class ChatStub:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.status = 200
        self.body = b"{}"
        self.delay = 0.0
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1/chat/completions"

    def reply(self, content: str) -> None:
        completion = {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
        }
        self.raw(200, json.dumps(completion).encode())

    def raw(self, status: int, body: bytes) -> None:
        self.status, self.body = status, body

    def start(self) -> ChatStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                payload = self.rfile.read(length)
                stub.requests.append(json.loads(payload or b"{}"))
                stub.headers.append(dict(self.headers.items()))
                if stub.delay:
                    time.sleep(stub.delay)
                self.send_response(stub.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(stub.body)))
                self.end_headers()
                self.wfile.write(stub.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = serve(Handler)
        return self

    def stop(self) -> None:
        close(self._server)
