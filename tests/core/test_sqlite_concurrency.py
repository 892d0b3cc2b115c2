"""The embedded default (SQLite, files on disk, ``make run``'s runserver) takes parallel
multipart part uploads without "database is locked": SQLite in WAL mode with immediate
transactions and a busy timeout. A real server on a real SQLite file, parts sent from threads."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from tests.core.server_helpers import http_server
from tests.template_db import migrated_sqlite

PARTS = 12
THREADS = 6


def embedded_environment(tmp_path: Path) -> dict[str, str]:
    """Nothing of the stack: SQLite in ``tmp_path``, blobs on disk, eager tasks."""
    stack = ("REDIS_URL", "S3_", "REGISTRY_", "CLAMD_", "DATABASE_URL", "CELERY_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(stack)}
    env |= {
        "BAILO_ENV_FILE": "none",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "BLOB_ROOT": str(tmp_path / "blobs"),
        "DEBUG": "1",
        "BAILO_AUTH_MODE": "dev",
    }
    return env


def test_parallel_part_uploads_on_sqlite_never_fail(tmp_path: Path) -> None:
    env = embedded_environment(tmp_path)
    # Migrated from nothing once per set of migrations, then copied (tests/template_db.py).
    migrated_sqlite(tmp_path / "db.sqlite3", env)
    with http_server("runserver", replace_env=env) as port:
        base = f"http://127.0.0.1:{port}/api/v2"
        session = requests.Session()
        created = session.post(
            f"{base}/models", json={"name": "Parallel", "description": "d"}, timeout=30
        )
        assert created.status_code == 200, created.text
        model_id = created.json()["model"]["id"]
        part_size = 5 * 1024 * 1024  # the smallest part size
        payload = b"".join(bytes([n]) * part_size for n in range(PARTS))
        started = session.post(
            f"{base}/model/{model_id}/files/upload/multipart/start",
            json={"name": "weights.bin", "mime": "application/octet-stream", "size": len(payload)},
            timeout=30,
        ).json()
        assert len(started["chunks"]) == PARTS, started["chunks"]

        def send(n: int) -> Any:
            chunk = started["chunks"][n]
            return requests.post(
                f"{base}/model/{model_id}/files/upload/multipart/part",
                params={
                    "fileId": started["file"]["id"],
                    "uploadId": started["uploadId"],
                    "partNumber": n + 1,
                },
                data=payload[chunk["startByte"] : chunk["endByte"] + 1],
                headers={"Content-Type": "application/octet-stream"},
                timeout=60,
            )

        with ThreadPoolExecutor(THREADS) as pool:
            answers = list(pool.map(send, range(PARTS)))
        failures = [(a.status_code, a.text[:200]) for a in answers if a.status_code != 200]
        assert not failures, failures

        finished = session.post(
            f"{base}/model/{model_id}/files/upload/multipart/finish",
            json={
                "fileId": started["file"]["id"],
                "uploadId": started["uploadId"],
                "parts": [
                    {"PartNumber": n + 1, "ETag": a.json()["ETag"]} for n, a in enumerate(answers)
                ],
            },
            timeout=60,
        )
        assert finished.status_code == 200, finished.text
        file_id = started["file"]["id"]
        download = session.get(f"{base}/model/{model_id}/file/{file_id}/download", timeout=60)
        assert download.status_code == 200
        assert hashlib.sha256(download.content).digest() == hashlib.sha256(payload).digest()
