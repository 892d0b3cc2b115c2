"""One JSON request to a service configured by its address (the inference deploy service, a chat
model endpoint): no proxy taken from the environment, no redirects followed, the same connect and
read timeout, and the answer left unread for the caller, who reads what it needs of it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests


@contextmanager
def json_request(
    method: str, url: str, body: Any, *, authorization: str, timeout: float
) -> Iterator[requests.Response]:
    """Send ``body`` as JSON; ``authorization`` is the header's whole value, or empty for none.
    Connection problems raise ``requests`` exceptions, for the caller to name."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    session = requests.Session()
    session.trust_env = False
    try:
        with session.request(
            method,
            url,
            data=json.dumps(body),
            headers=headers,
            timeout=(timeout, timeout),
            allow_redirects=False,
            stream=True,
        ) as response:
            yield response
    finally:
        session.close()
