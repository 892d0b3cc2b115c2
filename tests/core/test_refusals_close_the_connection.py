"""A refusal sent before the request body was read closes the connection (``Connection:
close``), so the client's next request on its keep-alive session does not land in the unread
remainder of the refused body. Checked with the official client's HTTP library (requests) against
the real servers: Django's runserver (``make run``) and gunicorn (the container image)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from core.authentication import dev_user
from tests.conftest import stack_required
from tests.core.server_helpers import http_server

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not stack_required(), reason="needs PostgreSQL (the stack)"),
]

MB = 1024 * 1024
REFUSALS = {
    # An upload to an entry that does not exist: 404 before a byte of the body is read.
    "404-upload": ("/api/v2/model/nosuch-abc123/files/upload/simple?name=a.bin", 8 * MB, 404),
    # A JSON body past DATA_UPLOAD_MAX_MEMORY_SIZE: 413 without reading it.
    "413-json": ("/api/v2/models", 2 * MB, 413),
}


@pytest.fixture(scope="module", params=["runserver", "gunicorn"])
def server(request: pytest.FixtureRequest, django_db_setup: None) -> Iterator[int]:
    """One server of each kind for the module (starting one is most of each test's time)."""
    with http_server(request.param) as port:
        yield port


@pytest.mark.parametrize("refusal", REFUSALS.values(), ids=REFUSALS.keys())
def test_a_refusal_before_the_body_was_read_closes_the_connection(
    server: int, refusal: tuple[str, int, int]
) -> None:
    dev_user()
    path, size, status = refusal
    base = f"http://127.0.0.1:{server}"
    session = requests.Session()
    refused = session.post(
        base + path,
        data=b"x" * size,
        headers={"Content-Type": "application/octet-stream"},
        timeout=30,
    )
    assert refused.status_code == status, refused.text
    assert refused.headers.get("Connection", "").lower() == "close"
    assert set(refused.json()) == {"error"}
    for _ in range(3):
        after: Any = session.get(base + "/api/v2/models/search", timeout=30)
        assert after.status_code == 200, after.text


def test_a_refusal_after_the_body_was_read_keeps_the_connection(
    client_for: Any, outsider: Any
) -> None:
    response = client_for(outsider).post(
        "/api/v2/models", data="{}", content_type="application/json"
    )
    assert response.status_code == 400  # name is required: the body was read
    assert "Connection" not in response


def test_early_refusals_are_marked_whichever_part_refused(client_for: Any, outsider: Any) -> None:
    signed_in = client_for(outsider)
    too_big = signed_in.post(
        "/api/v2/models", data="x" * (200 * 1024), content_type="application/json"
    )
    assert too_big.status_code == 413 and too_big["Connection"] == "close"
    unknown = signed_in.post(
        "/api/v2/model/nosuch-abc123/files/upload/simple?name=a.bin",
        data=b"x" * 1000,
        content_type="application/octet-stream",
    )
    assert unknown.status_code == 404 and unknown["Connection"] == "close"
    # Refused by authentication, before any handler.
    anonymous = requests_free_post("/api/v2/models")
    assert anonymous.status_code == 401 and anonymous["Connection"] == "close"
    # No body, nothing to close for.
    assert "Connection" not in signed_in.get("/api/v2/model/nosuch-abc123")


def requests_free_post(path: str) -> Any:
    from django.test import Client

    return Client().post(path, data='{"name": "x"}', content_type="application/json")
