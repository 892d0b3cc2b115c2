"""The mirroring docs are in the sidebar and name every mirroring setting."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.core.test_docs import settings_named

pytestmark = pytest.mark.django_db


def test_the_user_page_is_in_the_sidebar() -> None:
    response = Client().get("/docs/users/model-mirroring")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'href="/docs/users/model-mirroring"' in page
    for heading in ("Creating a mirrored model", "Exporting a model", "Importing", "Transfers"):
        assert heading in page


def test_the_administration_page_names_every_mirroring_setting() -> None:
    response = Client().get("/docs/administration/model-mirroring")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'href="/docs/administration/model-mirroring"' in page
    names = set(settings_named("MIRROR_"))
    assert len(names) >= 10
    # Those read over several lines, which settings_named does not see.
    names |= {
        "MIRROR_EXPORT_DISCLAIMER",
        "MIRROR_REQUIRE_SIGNATURE",
        "MIRROR_ADDITIONAL_INFO_HEADING",
        "MIRROR_ORIGINAL_ANSWER_HEADING",
    }
    for name in sorted(names):
        assert name in page, name
    assert "KMS" in page and "could not be tested against real AWS KMS" in page
