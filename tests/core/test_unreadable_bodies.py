"""A malformed chunked body under gunicorn (which decodes chunked encoding for the app) answers
400 in Bailo's error shape, not 500."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from core.authentication import dev_user
from models_app.policy import Actor
from models_app.services import model_create
from tests.conftest import stack_required
from tests.core.server_helpers import exchange, http_server

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def gunicorn(django_db_setup: None) -> Iterator[int]:
    with http_server("gunicorn") as port:
        yield port


@pytest.mark.skipif(not stack_required(), reason="needs PostgreSQL (the stack)")
@pytest.mark.parametrize(
    "chunks",
    [b"ZZZ\r\nabc\r\n0\r\n\r\n", b"3\r\nabcdef\r\n0\r\n\r\n"],
    ids=["chunk-size-not-hex", "chunk-longer-than-its-size"],
)
def test_a_malformed_chunked_upload_is_a_400(gunicorn: int, chunks: bytes) -> None:
    model = model_create(
        actor=Actor(user=dev_user()), name="Chunky", description="d", visibility="private"
    )
    answer = exchange(
        gunicorn,
        f"POST /api/v2/model/{model.id}/files/upload/simple?name=a.bin HTTP/1.1\r\n"
        "Host: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode()
        + chunks,
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), answer[:300]
    assert json.loads(body)["error"]["message"] == "The request body could not be read"
    assert not model.files.exists()
