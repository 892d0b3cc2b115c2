"""Unknown URLs get the site's own 404 page even with DEBUG on, and the Django admin loads its
extra stylesheet (which fits its tables to a 1280 px window)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("debug", [False, True])
def test_an_unknown_url_gets_the_sites_own_404_page(
    settings: Any, client_for: Any, outsider: Any, debug: bool
) -> None:
    settings.DEBUG = debug
    response = client_for(outsider).get("/no/such/page")
    assert response.status_code == 404
    html = response.content.decode()
    assert "There is nothing here, or you cannot see it." in html
    assert "Using the URLconf" not in html  # Django's technical 404


def test_a_known_url_without_its_trailing_slash_is_still_redirected(
    client_for: Any, outsider: Any
) -> None:
    client = client_for(outsider)
    for path in ("/admin", "/settings"):
        response = client.get(path + "?a=1")
        assert response.status_code == 301, path
        assert response["Location"] == path + "/?a=1"
    assert client.get("/no-such-thing").status_code == 404


def test_an_unknown_api_url_still_answers_json(
    settings: Any, client_for: Any, outsider: Any
) -> None:
    settings.DEBUG = True
    response = client_for(outsider).get("/api/v2/no-such-route")
    assert response.status_code == 404
    assert "error" in response.json()


def test_the_admin_loads_its_extra_stylesheet(client_for: Any, site_admin: Any) -> None:
    html = client_for(site_admin).get("/admin/").content.decode()
    assert "css/admin-extra.css" in html
