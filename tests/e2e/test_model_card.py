"""In a browser: create a model, choose a schema, fill the card, fix an error, compare versions."""

from __future__ import annotations

from typing import Any

import pytest

from models_app.models import Model, ModelCardRevision
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Marketplace").wait_for()


def card_versions(model: Model) -> list[int]:
    return sorted(ModelCardRevision.objects.filter(model=model).values_list("version", flat=True))


def test_create_a_model_fill_its_card_fix_an_error_and_compare_versions(
    page: Any, live_server: Any, make_user: Any
) -> None:
    make_user("alice")
    base = live_server.url
    sign_in(page, base, "alice")

    # Create the model through the form.
    page.goto(f"{base}/entry/new")
    page.get_by_label("Model", exact=True).check()
    page.get_by_label("Name").fill("Cat spotter")
    page.get_by_label("Description").fill("Finds **cats** in photos.")
    page.get_by_label("Tags").fill("vision, cats")
    page.get_by_label("Private").check()
    page.get_by_role("button", name="Create").click()
    page.get_by_role("heading", name="Cat spotter").wait_for()
    model = Model.objects.get(name="Cat spotter")
    assert page.url == f"{base}/model/{model.pk}"
    assert page.get_by_text("No card yet.", exact=True).count() == 0

    # Choose the general schema.
    page.get_by_role("link", name="Choose a schema").click()
    page.get_by_role("button", name="Use Extended general model card").click()
    page.get_by_role("heading", name="Edit the card").wait_for()
    assert card_versions(model) == [1]

    # One invalid answer: the error sits beside the field and nothing is saved.
    page.get_by_label("Summary").fill("Spots cats.")
    accuracy = page.get_by_label("Headline accuracy (0 to 1)")
    accuracy.fill("7")
    page.get_by_role("button", name="Save card").click()
    page.get_by_text("The card was not saved").wait_for()
    accuracy = page.get_by_label("Headline accuracy (0 to 1)")
    assert accuracy.get_attribute("aria-invalid") == "true"
    error_id = (accuracy.get_attribute("aria-describedby") or "").split()[-1]
    error = page.locator(f"#{error_id}")
    assert "greater than the maximum of 1" in error.inner_text()
    assert accuracy.input_value() == "7"
    assert page.get_by_label("Summary").input_value() == "Spots cats."
    assert card_versions(model) == [1]

    # Fix it: a new revision is written and the overview shows the answer.
    accuracy.fill("0.9")
    page.get_by_role("button", name="Save card").click()
    page.get_by_text("Card saved as version 2").wait_for()
    assert card_versions(model) == [1, 2]
    assert page.locator(".card-qa", has_text="Headline accuracy").inner_text().endswith("0.9")

    # Save again with a change, then compare the two versions.
    page.get_by_role("link", name="Edit card").click()
    page.get_by_label("Headline accuracy (0 to 1)").fill("0.95")
    page.get_by_role("button", name="Save card").click()
    page.get_by_text("Card saved as version 3").wait_for()
    assert card_versions(model) == [1, 2, 3]

    page.get_by_role("link", name="History and comparison").click()
    assert page.get_by_label("Earlier version").input_value() == "2"
    assert page.get_by_label("Later version").input_value() == "3"
    page.get_by_role("button", name="Compare").click()
    page.get_by_role("heading", name="Compare card versions").wait_for()
    changed = page.locator("tr.changed")
    assert changed.count() == 1
    row = changed.first.inner_text()
    assert "Headline accuracy" in row and "0.9" in row and "0.95" in row
    unchanged = page.locator("tr", has_text="Summary")
    assert "changed" not in (unchanged.first.get_attribute("class") or "")
