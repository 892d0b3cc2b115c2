"""In a browser: the small things a user notices. A favicon; the focus ring; the colour scheme
follows the system's; the API docs page leads back to the app; a search sent with Enter is one
request; a loading indicator while marketplace results are on their way."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_delete_model import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_there_is_a_favicon_and_favicon_ico_leads_to_it(page: Any, live_server: Any) -> None:
    page.goto(live_server.url + "/login/")
    href = page.locator("link[rel=icon]").get_attribute("href")
    assert href.endswith("favicon.svg")
    icon = page.request.get(live_server.url + href)
    assert icon.status == 200 and b"<svg" in icon.body()
    legacy = page.request.get(live_server.url + "/favicon.ico", max_redirects=0)
    assert legacy.status == 301 and legacy.headers["location"].endswith("favicon.svg")


def _luminance(rgb: str) -> float:
    values = [int(part) / 255 for part in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
    linear = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in values]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_focus_ring_has_at_least_3_to_1_contrast_with_the_page(
    page: Any, live_server: Any, scheme: str
) -> None:
    page.emulate_media(color_scheme=scheme)
    page.goto(live_server.url + "/login/")
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth, s.outlineColor]; }"
    )
    assert focused[0] == "solid" and float(focused[1].removesuffix("px")) >= 2
    background = page.evaluate("() => getComputedStyle(document.documentElement).backgroundColor")
    ring, page_bg = _luminance(focused[2]), _luminance(background)
    ratio = (max(ring, page_bg) + 0.05) / (min(ring, page_bg) + 0.05)
    assert ratio >= 3, (scheme, focused[2], background, ratio)


def test_the_colour_scheme_follows_the_system(page: Any, live_server: Any) -> None:
    page.emulate_media(color_scheme="dark")
    page.goto(live_server.url + "/login/")
    dark = _luminance(
        page.evaluate("() => getComputedStyle(document.documentElement).backgroundColor")
    )
    page.emulate_media(color_scheme="light")
    page.goto(live_server.url + "/login/")
    light = _luminance(
        page.evaluate("() => getComputedStyle(document.documentElement).backgroundColor")
    )
    assert dark < 0.1 < 0.8 < light


def test_the_api_docs_page_leads_back_to_the_app(page: Any, live_server: Any) -> None:
    page.goto(live_server.url + "/api/docs")
    page.get_by_role("link", name="← Back to Bailo").click()
    page.wait_for_url(f"{live_server.url}/**")
    assert "/api/docs" not in page.url


def test_a_search_sent_with_enter_is_one_request_with_a_loading_indicator(
    page: Any, live_server: Any, make_user: Any
) -> None:
    make_user("alice")
    sign_in(page, live_server.url, "alice")
    assert page.locator("#results-loading").count() == 1
    assert not page.locator("#results-loading").is_visible()
    searches: list[str] = []
    page.on(
        "request",
        lambda request: searches.append(request.url) if "q=digits" in request.url else None,
    )
    page.get_by_label("Search models").fill("digits")
    page.get_by_label("Search models").press("Enter")
    page.wait_for_function("() => location.search.includes('q=digits')")
    page.wait_for_timeout(500)
    assert len(searches) == 1, searches
