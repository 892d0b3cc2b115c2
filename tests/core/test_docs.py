from __future__ import annotations

import pytest
from django.test import Client

from core.markdown import render_markdown

pytestmark = pytest.mark.django_db


def test_docs_are_public_and_have_a_sidebar() -> None:
    page = Client().get("/docs/").content.decode()
    assert "Getting started" in page
    assert 'href="/docs/administration/app-configuration"' in page


def test_the_configuration_page_renders() -> None:
    response = Client().get("/docs/administration/app-configuration")
    assert response.status_code == 200
    assert "DATABASE_URL" in response.content.decode()


def test_unknown_docs_pages_are_404() -> None:
    assert Client().get("/docs/users/nothing-here").status_code == 404
    assert Client().get("/docs/../../etc/passwd").status_code == 404


def test_markdown_is_sanitised() -> None:
    html = render_markdown(
        '<script>alert(1)</script>[x](javascript:alert(1)) <b onclick="x()">b</b>'
    )
    assert "<script" not in html and "javascript:" not in html and "onclick" not in html


def test_the_operating_safely_page_is_in_the_tree_and_names_the_lockout_settings() -> None:
    response = Client().get("/docs/administration/operating-safely")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'href="/docs/administration/operating-safely"' in page
    for name in settings_named("FAILURE", "LOCKOUT", "CLIENT_ADDRESS_HEADER"):
        assert name in page, name


def test_the_openid_connect_page_is_in_the_tree_and_names_every_oidc_setting() -> None:
    response = Client().get("/docs/administration/openid-connect")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'href="/docs/administration/openid-connect"' in page
    assert "/oidc/callback/" in page
    for name in [*settings_named("OIDC_"), "BAILO_ADMIN_GROUP"]:
        assert name in page, name


def settings_named(*parts: str) -> list[str]:
    """Environment variables read by the settings whose names contain any of ``parts``."""
    import re
    from pathlib import Path

    from django.conf import settings

    source = Path(settings.BASE_DIR, "bailo_site", "settings", "__init__.py").read_text()
    names = set(re.findall(r'env\.\w+\("([A-Z0-9_]+)"', source))
    found = sorted(n for n in names if any(p in n for p in parts))
    assert found
    return found
