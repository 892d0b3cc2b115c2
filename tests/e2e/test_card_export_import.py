"""In a browser: import answers from text into the card form, save them, then open the card's
printable export, which styles itself under its own Content-Security-Policy (the ``page`` fixture
fails the test on any refusal by the policy)."""

from __future__ import annotations

from typing import Any

import pytest

from models_app.models import ModelCardRevision
from models_app.policy import Actor
from models_app.services import card_from_schema, model_create
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Marketplace").wait_for()


def test_import_from_text_then_export_the_card(page: Any, live_server: Any, make_user: Any) -> None:
    alice = make_user("alice")
    actor = Actor(user=alice)
    model = model_create(actor=actor, name="Cat spotter", description="Finds **cats**.")
    card_from_schema(actor=actor, model=model, schema_id="minimal-general-v10")
    base = live_server.url
    sign_in(page, base, "alice")

    page.goto(f"{base}/model/{model.pk}/card/edit")
    page.get_by_text("Import from text").click()
    page.get_by_label("Text to import").fill(
        "## Summary\nSpots cats in photos.\n\nFirst question: Trained on 10,000 photos.\n"
    )
    page.get_by_role("button", name="Suggest answers").click()
    page.get_by_role("heading", name="Suggested answers from your text").wait_for()
    assert page.get_by_label("Summary").input_value() == "Spots cats in photos."
    assert page.get_by_label("First question").input_value() == "Trained on 10,000 photos."
    # Suggestions are not saved until the person saves the card.
    assert ModelCardRevision.objects.filter(model=model).count() == 1
    page.get_by_role("button", name="Save card").click()
    page.get_by_text("Card saved as version 2.").wait_for()

    page.get_by_role("link", name="Export").click()
    page.get_by_role("heading", name="Cat spotter").wait_for()
    assert page.url.endswith(f"/api/v2/model/{model.pk}/model-card/2/html")
    page.get_by_text("Trained on 10,000 photos.").wait_for()
    # The embedded stylesheet applies: the page is a narrow, centred column.
    assert page.evaluate("getComputedStyle(document.body).maxWidth") != "none"
