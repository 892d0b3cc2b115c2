"""A real webhook receiver for tests: a small threaded HTTP(S) server on 127.0.0.1 that records
every request and answers from a script (a list of statuses; the last repeats), optionally after
a delay. ``hang=True`` holds each request until the test ends, for timeouts."""

from __future__ import annotations

import datetime
import ipaddress
import json
import shutil
import ssl
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.stub_http import close, serve


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(
        self, statuses: tuple[int, ...] = (200,), *, hang: bool = False, tls: bool = False
    ) -> None:
        self.statuses = list(statuses)
        self.hang = hang
        self.tls = tls
        self.received: list[Received] = []
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}/hook"

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.received)

    def _record(self, item: Received) -> int:
        with self._lock:
            self.received.append(item)
            index = min(len(self.received), len(self.statuses)) - 1
            return self.statuses[index]

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status = receiver._record(Received(self.path, dict(self.headers.items()), body))
                if receiver.hang:
                    receiver.release.wait(30)
                    return
                answer = json.dumps({"received": True, "status": status}).encode()
                try:
                    self.send_response(status)
                    if 300 <= status < 400:
                        self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = serve(Handler, _self_signed_context() if self.tls else None)

    def stop(self) -> None:
        self.release.set()
        close(self._server)


@contextmanager
def running(*statuses: int, hang: bool = False, tls: bool = False) -> Iterator[Receiver]:
    receiver = Receiver(statuses or (200,), hang=hang, tls=tls)
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


def _self_signed_context() -> ssl.SSLContext:
    """A server context with a fresh self-signed certificate for 127.0.0.1 (trusted by nobody)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    folder = Path(tempfile.mkdtemp(prefix="receiver-tls-"))
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    finally:
        shutil.rmtree(folder)
    return context
