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
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise RuntimeError("these tests need PostgreSQL (the stack)")
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def wait_for_port(
    port: int, process: subprocess.Popen[bytes], what: str, seconds: float = 30
) -> None:
    """Return once something listens on ``port``; raise with ``process``'s stderr if it exits or
    ``seconds`` pass first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start: {process.stderr.read()!r}")  # type: ignore[union-attr]
            time.sleep(0.1)


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
        wait_for_port(port, process, kind)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def exchange(port: int, raw: bytes, timeout: float = 10) -> bytes:
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
