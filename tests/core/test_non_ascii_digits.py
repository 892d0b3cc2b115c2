"""Ids and numbers in paths, queries and headers that hold digits ``int()`` refuses.

``str.isdigit`` is true for characters such as ``³`` that ``int`` cannot read; the fuzzer found a
500 from one (``GET /responses?parentIds=³``). Each of these now answers as any other unknown or
malformed value does.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from releases.files.downloads import parse_range
from tests.core.test_api_shell import assert_bailo_error

pytestmark = pytest.mark.django_db

SUPERSCRIPT_THREE = "\u00b3"


def test_a_parent_id_of_unreadable_digits_matches_nothing(client_for: Any, owner: Any) -> None:
    client = client_for(owner)
    response = client.get(f"/api/v2/responses?parentIds={quote(SUPERSCRIPT_THREE)}")
    assert response.status_code == 200
    assert response.json() == {"responses": []}
    release = client.get(f"/api/v2/responses?parentIds=release:{quote(SUPERSCRIPT_THREE)}")
    assert release.json() == {"responses": []}


def test_a_review_or_response_id_of_unreadable_digits_is_refused(
    client_for: Any, owner: Any
) -> None:
    client = client_for(owner)
    digits = quote(SUPERSCRIPT_THREE)
    assert_bailo_error(client.get(f"/api/v3/review/{digits}/responses/latest"), 400)
    assert_bailo_error(client.patch(f"/api/v2/response/{digits}", {}, "application/json"), 404)


def test_a_card_version_of_unreadable_digits_is_refused(
    client_for: Any, owner: Any, entry: Any
) -> None:
    url = f"/api/v2/model/{entry.pk}/model-card/{quote(SUPERSCRIPT_THREE)}"
    assert_bailo_error(client_for(owner).get(url), 400)


def test_a_range_of_unreadable_digits_is_ignored() -> None:
    assert parse_range(f"bytes={SUPERSCRIPT_THREE}-", 10) is None
    assert parse_range(f"bytes=0-{SUPERSCRIPT_THREE}", 10) is None
