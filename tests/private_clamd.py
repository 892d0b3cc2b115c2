"""A throwaway clamd for fault tests: its own port, directory and the project's test signatures,
so a test can kill it by its PID (and start it again) without touching the shared stack's."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import clamd
from django.conf import settings

SIGNATURES = Path(settings.BASE_DIR) / "scripts" / "clamav-signatures"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateClamd:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        (directory / "db").mkdir(parents=True)
        (directory / "tmp").mkdir()
        for signature in SIGNATURES.iterdir():
            shutil.copy(signature, directory / "db")
        self.config = directory / "clamd.conf"
        self.config.write_text(
            "\n".join(
                [
                    "Foreground yes",
                    f"DatabaseDirectory {directory / 'db'}",
                    f"TemporaryDirectory {directory / 'tmp'}",
                    f"TCPSocket {self.port}",
                    "TCPAddr 127.0.0.1",
                    f"LogFile {directory / 'clamd.log'}",
                    "MaxThreads 2",
                    "SelfCheck 0",
                    "",
                ]
            )
        )

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["clamd", f"--config-file={self.config}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                clamd.ClamdNetworkSocket("127.0.0.1", self.port, timeout=1).ping()
                return
            except clamd.ClamdError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the private clamd did not start") from None
                time.sleep(0.1)

    def kill(self) -> None:
        """clamd dies: its port refuses connections."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@contextmanager
def private_clamd(directory: Path) -> Iterator[PrivateClamd]:
    server = PrivateClamd(directory)
    server.start()
    try:
        yield server
    finally:
        server.kill()
