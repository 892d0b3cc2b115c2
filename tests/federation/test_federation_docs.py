"""The federation pages: in the docs' tree, naming every setting, and the marketplace page
telling users about External repositories."""

from __future__ import annotations

from django.test import Client


def test_the_federation_page_is_in_the_tree_and_names_every_setting() -> None:
    response = Client().get("/docs/administration/federation")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'href="/docs/administration/federation"' in page
    for name in (
        "BAILO_FEDERATION_STATE",
        "BAILO_FEDERATION_ID",
        "BAILO_FEDERATION_ESCALATION",
        "BAILO_FEDERATION_PEERS",
        "allowedSystemUserIds",
        "huggingfacehub",
    ):
        assert name in page, name


def test_the_marketplace_page_explains_external_repositories() -> None:
    page = Client().get("/docs/users/marketplace").content.decode()
    assert "External repositories" in page
    assert "Unreachable" in page
