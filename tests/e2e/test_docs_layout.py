"""In a browser: the documentation reads at every width. At 1280 px the contents are a sidebar
beside the article; at 390 px they follow it (a link at the top leads there); no page scrolls
sideways at either width, and the sections follow the seed's table of contents."""

from __future__ import annotations

from typing import Any

import pytest

from core.docs import sidebar

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAGES = [f"/docs/{link.slug}" for _, links in sidebar() for link in links if not link.is_heading]


@pytest.mark.parametrize("width", [1280, 390])
def test_no_docs_page_scrolls_sideways(page: Any, live_server: Any, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    wide = []
    for path in PAGES:
        page.goto(live_server.url + path)
        scroll = page.evaluate("() => document.documentElement.scrollWidth")
        if scroll > width:
            wide.append(f"{path}: {scroll} px")
    assert not wide, wide


def test_the_contents_sit_beside_the_article_on_a_wide_screen(page: Any, live_server: Any) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/docs/getting-started")
    nav = page.get_by_role("navigation", name="Documentation").bounding_box()
    article = page.locator("article.docs-content").bounding_box()
    assert nav["x"] + nav["width"] <= article["x"]
    assert abs(nav["y"] - article["y"]) < 40
    assert not page.get_by_role("link", name="Contents of the documentation").is_visible()


def test_on_a_phone_the_article_comes_first_and_a_link_leads_to_the_contents(
    page: Any, live_server: Any
) -> None:
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(live_server.url + "/docs/getting-started")
    nav = page.get_by_role("navigation", name="Documentation").bounding_box()
    article = page.locator("article.docs-content").bounding_box()
    assert article["y"] < nav["y"]
    page.get_by_role("link", name="Contents of the documentation").click()
    assert page.url.endswith("#docs-contents")


def test_the_sections_follow_the_seeds_table_of_contents(page: Any, live_server: Any) -> None:
    page.goto(live_server.url + "/docs/getting-started")
    nav = page.get_by_role("navigation", name="Documentation")
    sections = nav.locator("h2").all_inner_texts()
    assert (
        sections
        == [
            "Overview",
            "Users",
            "Programmatically using Bailo",
            "Administration",
            "Schema",
            "Migrations",
        ][: len(sections)]
    )
    subheadings = nav.locator(".docs-nav-subheading").all_inner_texts()
    assert [s.lower() for s in subheadings][:3] == [
        "managing models and releases",
        "using a model",
        "deletion",
    ]
