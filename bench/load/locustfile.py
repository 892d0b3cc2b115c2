"""Locust users for bench/load/run.py: people browsing the marketplace and entry pages (signed in
with a session), scripts reading the API with tokens, owners editing cards, and uploads through
the multipart API whose parts land on different web processes, each later downloaded and checked
against its SHA-256.

The fixtures (entries, the demo user's password, a token) come from run.py through
``BAILO_LOAD_FIXTURES`` (a JSON file). Every finished upload is appended to the file named by
``BAILO_LOAD_UPLOADS`` (one JSON line: model, file id, sha256), for run.py to check afterwards.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import threading
from typing import Any

from locust import HttpUser, between, task

FIXTURES: dict[str, Any] = json.loads(open(os.environ["BAILO_LOAD_FIXTURES"]).read())  # noqa: SIM115
UPLOADS = os.environ["BAILO_LOAD_UPLOADS"]
SIZE = int(os.environ.get("BAILO_LOAD_UPLOAD_BYTES", str(11 * 1024 * 1024)))
_lock = threading.Lock()
_uploaded: list[dict[str, str]] = []
WORDS = ["digits", "fraud", "vision", "speech", "tabular", "forecast", "model", "risk"]


def _auth() -> dict[str, str]:
    raw = f"{FIXTURES['accessKey']}:{FIXTURES['secretKey']}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


class Person(HttpUser):
    """One person: signed in for pages, with a token for the API, owning one entry."""

    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        self.entry = random.choice(FIXTURES["entries"])
        self.api = _auth()
        page = self.client.get("/login/", name="sign in page")
        token = self.client.cookies.get("csrftoken", "")
        self.client.post(
            "/login/",
            data={
                "username": FIXTURES["username"],
                "password": FIXTURES["password"],
                "csrfmiddlewaretoken": token,
            },
            headers={"Referer": page.url},
            name="sign in",
        )
        self.edits = 0

    @task(6)
    def marketplace(self) -> None:
        self.client.get("/", name="marketplace page")

    @task(3)
    def marketplace_search(self) -> None:
        self.client.get(f"/?search={random.choice(WORDS)}", name="marketplace search")

    @task(4)
    def entry_page(self) -> None:
        self.client.get(f"/model/{random.choice(FIXTURES['entries'])}", name="entry page")

    @task(6)
    def api_reads(self) -> None:
        model = random.choice(FIXTURES["entries"])
        self.client.get(f"/api/v2/model/{model}", headers=self.api, name="api: model")
        self.client.get(f"/api/v2/model/{model}/files", headers=self.api, name="api: files")
        self.client.get(
            f"/api/v2/models/search?search={random.choice(WORDS)}",
            headers=self.api,
            name="api: search",
        )

    @task(2)
    def card_edit(self) -> None:
        self.edits += 1
        summary = f"Load test edit {self.edits} by {id(self)}"
        self.client.put(
            f"/api/v2/model/{self.entry}/model-cards",
            json={"metadata": {"overview": {"modelSummary": summary}}},
            headers=self.api,
            name="api: card edit",
        )

    @task(1)
    def upload(self) -> None:
        data = random.randbytes(SIZE)
        base = f"/api/v2/model/{self.entry}/files/upload/multipart"
        started = self.client.post(
            f"{base}/start",
            json={"name": f"load-{random.getrandbits(40):x}.bin", "size": len(data)},
            headers=self.api,
            name="upload: start",
        )
        if started.status_code != 200:
            return
        body = started.json()
        file_id, upload_id = body["file"]["id"], body["uploadId"]
        parts = []
        for number, chunk in enumerate(body["chunks"], start=1):
            piece = data[chunk["startByte"] : chunk["endByte"] + 1]
            answer = self.client.post(
                f"{base}/part?fileId={file_id}&uploadId={upload_id}&partNumber={number}",
                data=piece,
                headers={**self.api, "Content-Type": "application/octet-stream"},
                name="upload: part",
            )
            if answer.status_code != 200:
                return
            parts.append({"PartNumber": number, "ETag": answer.json()["ETag"]})
        finished = self.client.post(
            f"{base}/finish",
            json={"fileId": file_id, "uploadId": upload_id, "parts": parts},
            headers=self.api,
            name="upload: finish",
        )
        if finished.status_code != 200:
            return
        record = {"model": self.entry, "file": file_id, "sha256": hashlib.sha256(data).hexdigest()}
        with _lock:
            _uploaded.append(record)
            with open(UPLOADS, "a") as out:
                out.write(json.dumps(record) + "\n")

    @task(2)
    def download(self) -> None:
        with _lock:
            if not _uploaded:
                return
            record = random.choice(_uploaded)
        digest = hashlib.sha256()
        with self.client.get(
            f"/api/v2/model/{record['model']}/file/{record['file']}/download",
            headers=self.api,
            name="download",
            stream=True,
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"download answered {response.status_code}")
                return
            for chunk in response.iter_content(1024 * 1024):
                digest.update(chunk)
            if digest.hexdigest() != record["sha256"]:
                response.failure("downloaded bytes differ from what was uploaded")
