"""S3 dying in the middle of a download: the response is cut off at once (the connection closes,
so the client sees a short read) rather than left open with nothing coming, under both servers
Bailo runs in: Django's runserver (``make run``) and gunicorn (the container image).

The S3 server is a private SeaweedFS (tests/private_seaweed.py), frozen with SIGSTOP mid-stream:
its sockets stay open and it answers nothing, the worst kind of death for a client to notice.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from urllib3.exceptions import ReadTimeoutError

from core.authentication import dev_user
from releases.files.services import new_file_id, storage_key_for
from releases.models import File
from tests.conftest import _make_entry, stack_required
from tests.core.server_helpers import database_url, http_server
from tests.private_seaweed import BUCKET, PrivateSeaweed, private_seaweed

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not stack_required(), reason="needs PostgreSQL (the stack)"),
]

MB = 1024 * 1024
# More than the segments a download reads ahead (4 x 8 MiB), so the stream still needs S3 after
# the client's first read.
SIZE = 72 * MB
READ_TIMEOUT = 2
# The read timeout, one retry of a segment's request and its backoff, with room to spare; well
# under the client's own 60 s read timeout, which is what the test would otherwise run into.
CUT_OFF_WITHIN = 20.0


@pytest.fixture(scope="module")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateSeaweed]:
    with private_seaweed(tmp_path_factory.mktemp("seaweed")) as server:
        yield server


def stored_file(seaweed: PrivateSeaweed) -> File:
    owner = dev_user()
    model = _make_entry(owner, {}, name=f"Download outage {os.urandom(3).hex()}")
    key = storage_key_for(model.pk)
    seaweed.client().put_object(Bucket=BUCKET, Key=key, Body=os.urandom(SIZE))
    return File.objects.create(
        id=new_file_id(),
        model=model,
        name="weights.bin",
        size=SIZE,
        storage_key=key,
        complete=True,
    )


def server_env(seaweed: PrivateSeaweed) -> dict[str, str]:
    return {
        **os.environ,
        "DEBUG": "1",
        "BAILO_AUTH_MODE": "dev",
        "DATABASE_URL": database_url(),
        **{name: str(value) for name, value in seaweed.settings().items() if name.isupper()},
        "S3_READ_TIMEOUT": str(READ_TIMEOUT),
    }


@pytest.mark.parametrize("server", ["runserver", "gunicorn"])
def test_a_download_is_cut_off_soon_when_s3_stops_answering_mid_stream(
    server: str, seaweed: PrivateSeaweed
) -> None:
    file = stored_file(seaweed)
    with http_server(server, server_env(seaweed)) as port:
        url = f"http://127.0.0.1:{port}/api/v2/model/{file.model_id}/file/{file.pk}/download"
        response = requests.get(url, stream=True, timeout=(5, 60))
        assert response.status_code == 200, response.text
        assert int(response.headers["Content-Length"]) == SIZE
        received = len(response.raw.read(MB))
        seaweed.freeze()
        try:
            frozen_at = time.monotonic()
            outcome: Any = None
            try:
                while chunk := response.raw.read(MB):
                    received += len(chunk)
            except Exception as exc:  # a reset or an incomplete read: the connection was cut
                outcome = exc
            took = time.monotonic() - frozen_at
        finally:
            seaweed.thaw()
            response.close()
        assert not isinstance(outcome, ReadTimeoutError | TimeoutError), outcome
        assert received < SIZE
        assert took < CUT_OFF_WITHIN, f"the download hung for {took:.1f} s"
