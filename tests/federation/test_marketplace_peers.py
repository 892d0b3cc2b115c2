"""The marketplace's External repositories: the filter, peers' results marked and linked, and
peers' failures shown without failing the page. Plain GET requests: it works without
JavaScript."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.federation.conftest import Federate, bailo_peer, hub_peer
from tests.federation.stubs import BailoStub, HubStub, closed_url, running

pytestmark = pytest.mark.django_db


@pytest.fixture
def west() -> Iterator[BailoStub]:
    with running(BailoStub()) as stub:
        yield stub  # type: ignore[misc]


@pytest.fixture
def hub() -> Iterator[HubStub]:
    with running(HubStub()) as stub:
        yield stub  # type: ignore[misc]


def page(client: Any, query: str = "", **headers: str) -> tuple[int, str]:
    response = client.get(f"/?{query}", **headers)
    return response.status_code, response.content.decode()


def test_the_filter_is_absent_while_federation_is_disabled_or_without_peers(
    federate: Federate, west: BailoStub, client_for: Any, outsider: Any
) -> None:
    federate({"west": bailo_peer(west.url)}, state="disabled")
    assert "External repositories" not in page(client_for(outsider))[1]
    federate({})
    assert "External repositories" not in page(client_for(outsider))[1]
    assert west.requests == []


def test_the_filter_lists_peers_marks_unreachable_ones_and_keeps_the_choice(
    federate: Federate, west: BailoStub, client_for: Any, outsider: Any
) -> None:
    federate({"west": bailo_peer(west.url), "gone": bailo_peer(closed_url(), label="Gone")})
    status, html = page(client_for(outsider), "peers=west")
    assert status == 200
    assert "<legend>External repositories</legend>" in html
    assert re.search(r'name="peers" value="west" checked> West</label>', html)
    assert re.search(r'name="peers" value="gone"> Gone <span[^>]*>Unreachable</span>', html)
    assert not re.search(r"West <span[^>]*>Unreachable", html)


def test_peers_results_are_marked_and_link_to_the_peer_in_a_new_tab(
    federate: Federate, west: BailoStub, hub: HubStub, client_for: Any, outsider: Any,
    make_entry: Any,
) -> None:  # fmt: skip
    make_entry("Local sentiment", visibility="public")
    federate({"west": bailo_peer(west.url), "hf": hub_peer(hub.url)})
    status, html = page(client_for(outsider), "q=sentiment&peers=west&peers=hf")
    assert status == 200
    assert ">Local sentiment</a>" in html
    external = html[html.index("From external repositories") :]
    link = re.search(r'<a href="([^"]+)" target="_blank" rel="noopener noreferrer external">'
                     r"Remote sentiment", external)  # fmt: skip
    assert link and link.group(1) == f"{west.url}/model/remote-model-abc123"
    assert f'href="{hub.url}/acme/sentiment-classifier" target="_blank"' in external
    assert "From: </span>West</span>" in external
    assert "From: </span>Hugging Face</span>" in external
    assert "acme/private-sentiment" not in external


def test_a_failing_peer_is_shown_and_the_page_still_answers(
    federate: Federate, west: BailoStub, client_for: Any, outsider: Any
) -> None:
    with running(HubStub(mode="error")) as broken:
        federate({"west": bailo_peer(west.url), "hf": hub_peer(broken.url)})
        status, html = page(client_for(outsider), "q=sentiment&peers=west&peers=hf")
    assert status == 200
    assert "Hugging Face: Hugging Face answered with an error (500)" in html
    assert ">Remote sentiment" in html


def test_an_unknown_peer_says_so(
    federate: Federate, west: BailoStub, client_for: Any, outsider: Any
) -> None:
    federate({"west": bailo_peer(west.url)})
    status, html = page(client_for(outsider), "peers=nowhere")
    assert status == 400
    assert "&#x27;nowhere&#x27; is not a peer of this instance" in html


def test_htmx_asks_for_results_only_without_checking_statuses(
    federate: Federate, west: BailoStub, client_for: Any, outsider: Any
) -> None:
    federate({"west": bailo_peer(west.url)})
    status, html = page(client_for(outsider), "q=remote&peers=west", HTTP_HX_REQUEST="true")
    assert status == 200
    assert ">Remote sentiment" in html
    assert "External repositories</legend>" not in html
    assert [r.path for r in west.requests] == ["/api/v2/models/search"]


def test_peers_results_come_on_the_first_page_only(
    federate: Federate, west: BailoStub, client_for: Any, outsider: Any
) -> None:
    federate({"west": bailo_peer(west.url)})
    _status, html = page(client_for(outsider), "peers=west&page=2")
    assert "From external repositories" not in html
    assert west.searches() == []
