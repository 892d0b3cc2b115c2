"""A throwaway SeaweedFS for fault tests: started on free ports with its own directory, so a test
can stop, freeze or kill it by its PID without touching the stack everyone else's tests share."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BUCKET = "uploads"


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            probe = socket.socket()
            probe.bind(("127.0.0.1", 0))
            sockets.append(probe)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for probe in sockets:
            probe.close()


@dataclass
class PrivateSeaweed:
    process: subprocess.Popen[bytes]
    endpoint: str
    access_key: str
    secret_key: str

    @property
    def pid(self) -> int:
        return self.process.pid

    def freeze(self) -> None:
        """The server stops answering but keeps its sockets: a hung S3."""
        os.kill(self.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def kill(self) -> None:
        """The server dies: its sockets close and its address refuses connections."""
        if self.process.poll() is None:
            os.kill(self.pid, signal.SIGCONT)
            self.process.kill()
            self.process.wait(timeout=10)

    def settings(self) -> dict[str, Any]:
        return {
            "BLOB_STORAGE": "s3",
            "S3_ENDPOINT": self.endpoint,
            "S3_ACCESS_KEY": self.access_key,
            "S3_SECRET_KEY": self.secret_key,
            "S3_BUCKET_UPLOADS": BUCKET,
        }

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"max_attempts": 1},
                connect_timeout=1,
                read_timeout=5,
            ),
        )


@contextmanager
def private_seaweed(directory: Path) -> Iterator[PrivateSeaweed]:
    """Start ``weed mini`` under ``directory`` and wait until its S3 API takes a write."""
    weed = Path(sys.executable).with_name("weed")
    (directory / "data").mkdir(parents=True)
    (directory / "log").mkdir()
    access_key, secret_key = "PRIVATE" + os.urandom(6).hex().upper(), os.urandom(20).hex()
    (directory / "s3.json").write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "bailo",
                        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                    }
                ]
            }
        )
    )
    s3, s3g, m, mg, f, fg, v, vg, a, ag = _free_ports(10)
    # As scripts/stack.sh starts it: loopback only, no telemetry, every port chosen here.
    command = [
        str(weed),
        f"-logdir={directory / 'log'}",
        "mini",
        f"-dir={directory / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-master.telemetry.url=http://127.0.0.1:9/",
        "-admin.ui=false",
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3g}",
        f"-master.port={m}",
        f"-master.port.grpc={mg}",
        f"-filer.port={f}",
        f"-filer.port.grpc={fg}",
        f"-volume.port={v}",
        f"-volume.port.grpc={vg}",
        f"-admin.port={a}",
        f"-admin.port.grpc={ag}",
        f"-s3.config={directory / 's3.json'}",
        "-master.volumeSizeLimitMB=256",
    ]
    process = subprocess.Popen(
        command,
        env={**os.environ, "GOMEMLIMIT": "256MiB"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = PrivateSeaweed(process, f"http://127.0.0.1:{s3}", access_key, secret_key)
    try:
        s3_client = server.client()
        deadline = time.monotonic() + 60
        while True:
            try:
                if BUCKET not in {b["Name"] for b in s3_client.list_buckets()["Buckets"]}:
                    s3_client.create_bucket(Bucket=BUCKET)
                s3_client.put_object(Bucket=BUCKET, Key=".probe", Body=b"ok")
                s3_client.delete_object(Bucket=BUCKET, Key=".probe")
                break
            except Exception:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the private SeaweedFS did not start") from None
                time.sleep(0.3)
        yield server
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                # SeaweedFS can linger on SIGTERM, retrying its filer (stack-notes): kill it.
                process.kill()
                process.wait()
