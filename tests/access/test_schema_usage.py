"""The administrators' schema pages count and list the access requests that follow an
access-request schema, not only the entries whose cards follow a model schema."""

from __future__ import annotations

from typing import Any

import pytest

from access.access_requests.services import access_request_delete
from models_app.policy import Actor
from tests.access.access_request_helpers import SCHEMA, ask

pytestmark = pytest.mark.django_db


def test_the_schema_list_and_usage_page_count_access_requests(
    client_for: Any, site_admin: Any, consumer: Any, entry: Any
) -> None:
    first = ask(consumer, entry, name="First request")
    ask(consumer, entry, name="Second request")
    client = client_for(site_admin)
    listing = client.get("/administration/")
    rows = {row["schema"].id: row["usage"] for row in listing.context["rows"]}
    assert rows[SCHEMA] == 2
    assert "2 access requests" in listing.content.decode()
    detail = client.get(f"/administration/schemas/{SCHEMA}").content.decode()
    assert "2 access requests" in detail
    usage = client.get(f"/administration/schemas/{SCHEMA}/usage").content.decode()
    assert "First request" in usage and "Second request" in usage

    access_request_delete(actor=Actor(user=consumer), access_request=first)
    rows = {
        row["schema"].id: row["usage"] for row in client.get("/administration/").context["rows"]
    }
    assert rows[SCHEMA] == 1
