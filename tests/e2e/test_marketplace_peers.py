"""In a browser: ticking an external repository in the marketplace shows its results (htmx swaps
the results and keeps the choice in the address), and a result opens the peer in a new tab."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from core.federation.config import parse_peers
from tests.conftest import PASSWORD
from tests.federation.conftest import bailo_peer
from tests.federation.stubs import BailoStub, running

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def west(settings: Any) -> Iterator[BailoStub]:
    with running(BailoStub()) as stub:
        settings.BAILO_FEDERATION_STATE = "enabled"
        settings.BAILO_FEDERATION_ID = "east"
        settings.BAILO_FEDERATION_PEERS = parse_peers({"west": bailo_peer(stub.url)})
        yield stub  # type: ignore[misc]


def test_ticking_a_peer_shows_its_results_and_they_open_in_a_new_tab(
    page: Any, live_server: Any, make_user: Any, west: BailoStub
) -> None:
    make_user("alice")
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Marketplace").wait_for()
    page.get_by_label("Search models").fill("remote")
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_url("**q=remote**")
    page.get_by_role("group", name="External repositories").get_by_label("West").check()
    link = page.get_by_role("link", name="Remote sentiment")
    link.wait_for()
    assert "peers=west" in page.url
    assert link.get_attribute("target") == "_blank"
    with page.context.expect_page() as opened:
        link.click()
    assert opened.value.url == f"{west.url}/model/remote-model-abc123"
