"""In a browser at 390 px (a phone) and 1280 px: no page of the main flows scrolls sideways; the
header folds its links into a "Menu" disclosure on the phone and shows them in a row on the wide
screen; the marketplace's filters fold away on the phone so results come first."""

from __future__ import annotations

from typing import Any

import pytest

from models_app.policy import Actor
from models_app.services import model_create
from tests.e2e.test_delete_model import sign_in
from tests.releases.release_helpers import make_file, make_release, with_card

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def main_pages(model_id: str) -> list[str]:
    return [
        "/",
        "/?tab=data-cards",
        f"/model/{model_id}",
        f"/model/{model_id}/releases",
        f"/model/{model_id}/release/1.0.0",
        f"/model/{model_id}/files",
        f"/model/{model_id}/registry",
        f"/model/{model_id}/access-requests",
        f"/model/{model_id}/settings",
        f"/model/{model_id}/delete",
        "/entry/new",
        "/reviews",
        "/access",
        "/settings/",
        "/settings/personal-access-tokens",
        "/settings/personal-access-tokens/new",
        "/docs/getting-started",
        "/docs/administration/app-configuration",
    ]


# The innermost elements that reach past the right edge, to say what to fix.
WIDEST = """(width) => {
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    const past = (node) => node.getBoundingClientRect().right > width + 1;
    if (past(el) && ![...el.children].some(past)) {
      out.push(`${el.tagName.toLowerCase()}.${el.className} (${Math.round(box.right)} px)`);
    }
  }
  return out.slice(0, 5).join(", ");
}"""


@pytest.fixture
def owned_model(make_user: Any) -> str:
    owner = make_user("owen")
    model = model_create(
        actor=Actor(user=owner),
        name="Phone layout model with a rather long name for narrow screens",
        description="A model whose pages are read on a phone.",
        collaborators=[{"entity": "user:owen", "roles": ["owner"]}],
    )
    carded = with_card(model, owner)
    file = make_file(carded, name="weights-with-a-long-file-name-for-phones.safetensors")
    make_release(carded, owner, "1.0.0", file_ids=[file.pk])
    return str(model.pk)


@pytest.mark.parametrize("width", [390, 1280])
def test_no_main_page_scrolls_sideways(
    page: Any, live_server: Any, owned_model: str, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server.url, "owen")
    wide = []
    for path in main_pages(owned_model):
        response = page.goto(live_server.url + path)
        assert response is not None and response.status < 400, path
        scroll = page.evaluate("() => document.documentElement.scrollWidth")
        if scroll > width:
            culprits = page.evaluate(WIDEST, width)
            wide.append(f"{path}: {scroll} px ({culprits})")
    assert not wide, wide


def test_on_a_phone_the_header_links_fold_into_a_menu(
    page: Any, live_server: Any, owned_model: str
) -> None:
    page.set_viewport_size({"width": 390, "height": 800})
    sign_in(page, live_server.url, "owen")
    reviews = page.get_by_role("link", name="Reviews")
    assert not reviews.is_visible()
    page.get_by_text("Menu", exact=True).click()
    reviews.click()
    page.get_by_role("heading", name="Reviews").first.wait_for()


def test_on_a_wide_screen_the_header_links_are_a_row(
    page: Any, live_server: Any, owned_model: str
) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, live_server.url, "owen")
    assert not page.get_by_text("Menu", exact=True).is_visible()
    boxes = [
        page.get_by_role("link", name=name).bounding_box()
        for name in ("Marketplace", "Reviews", "Docs", "Settings")
    ]
    assert len({round(box["y"]) for box in boxes}) == 1


def test_on_a_phone_marketplace_results_come_before_the_filters(
    page: Any, live_server: Any, owned_model: str
) -> None:
    page.set_viewport_size({"width": 390, "height": 800})
    sign_in(page, live_server.url, "owen")
    page.goto(live_server.url + "/")
    state = page.get_by_role("group", name="State")
    assert not state.is_visible()
    first_result = page.get_by_role(
        "link", name="Phone layout model with a rather long name for narrow screens"
    )
    assert first_result.bounding_box()["y"] < 800
    page.get_by_text("Filters", exact=True).click()
    assert state.is_visible()


def test_on_a_wide_screen_the_filters_show_without_a_disclosure(
    page: Any, live_server: Any, owned_model: str
) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, live_server.url, "owen")
    page.goto(live_server.url + "/")
    assert page.get_by_role("group", name="State").is_visible()
    assert not page.get_by_text("Filters", exact=True).is_visible()
