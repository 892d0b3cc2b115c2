"""In a browser: destructive actions look destructive. The settings page's Deletion section is a
danger zone and its button is red; each settings section's Save button is its own size."""

from __future__ import annotations

from typing import Any

import pytest

from models_app.policy import Actor
from models_app.services import model_create
from tests.e2e.test_delete_model import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_deletion_section_is_a_danger_zone_with_a_red_button(
    page: Any, live_server: Any, make_user: Any
) -> None:
    owner = make_user("owen")
    model = model_create(
        actor=Actor(user=owner),
        name="Danger model",
        description="To be looked at.",
        collaborators=[{"entity": "user:owen", "roles": ["owner"]}],
    )
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server.url, "owen")
    page.goto(f"{live_server.url}/model/{model.pk}/settings")
    zone = page.locator("section.danger-zone")
    assert zone.evaluate("z => getComputedStyle(z).borderTopColor") == "rgb(179, 38, 30)"
    button = page.get_by_role("button", name="Delete Model")
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(179, 38, 30)"
    save = page.get_by_role("button", name="Save details")
    width = save.bounding_box()["width"]
    assert width < 300, width
