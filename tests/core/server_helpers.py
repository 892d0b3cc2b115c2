"""A real HTTP server (gunicorn or Django's runserver) on the test database, for what only a
real server shows: chunked bodies, keep-alive connections and their framing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(settings.BASE_DIR)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor != "postgresql":
        raise RuntimeError("these tests need PostgreSQL (the stack)")
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def http_server(
    kind: str, replace_env: dict[str, str] | None = None, port: int | None = None
) -> Iterator[int]:
    """Serve the app on ``port`` (else a free one) with ``kind`` ("gunicorn" or "runserver") in
    dev auth mode (requests without credentials act as ``user``), against this test's database,
    or with exactly the environment ``replace_env``."""
    port = port or free_port()
    env = replace_env or {
        **os.environ,
        "DEBUG": "1",
        "BAILO_AUTH_MODE": "dev",
        "DATABASE_URL": database_url(),
    }
    if kind == "gunicorn":
        command = [
            str(Path(sys.executable).with_name("gunicorn")),
            "bailo_site.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-class",
            "gthread",
            "--threads",
            "2",
            "--keep-alive",
            "5",
        ]
    else:
        command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_until_answering(port, process, kind)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_answering(
    port: int, process: subprocess.Popen[bytes], what: str, seconds: float = 60
) -> None:
    """Return once ``port`` answers HTTP; kill ``process`` and raise with its stderr if it exits
    or ``seconds`` pass first."""
    # Ready means answering HTTP, not only listening: gunicorn's master takes the port well
    # before its worker has imported the app, and on a busy machine that gap is seconds.
    deadline = time.monotonic() + seconds
    while not _answers(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"{what} did not start: {process.stderr.read()!r}")  # type: ignore[union-attr]
        time.sleep(0.1)


def _answers(port: int) -> bool:
    try:
        reply = exchange(
            port, b"GET /favicon.ico HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 5
        )
    except OSError:
        return False
    return reply.startswith(b"HTTP/")


def exchange(port: int, raw: bytes, timeout: float = 30) -> bytes:
    """Send raw bytes on a new connection and return everything the server sends back."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(raw)
        received = b""
        try:
            while chunk := conn.recv(65536):
                received += chunk
        except TimeoutError:
            pass
        return received
