"""In a browser, the seed page "Deleting a model", step by step.

Open the model, go to Settings, scroll to Deletion, click Delete Model; type the name (the
Delete button stays disabled until it matches exactly, capitals and spaces included); press
Enter; land on the home page with a message; the model is gone from the marketplace and search,
and its pages answer 404 for its owner.
"""

from __future__ import annotations

from typing import Any

import pytest

from deletion.models import Deletion
from models_app.models import Model
from models_app.policy import Actor
from models_app.services import model_create
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NAME = "Churn Predictor v2"


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Marketplace").wait_for()


def test_an_owner_deletes_a_model_by_typing_its_exact_name(
    page: Any, live_server: Any, make_user: Any
) -> None:
    owner = make_user("owen")
    model = model_create(
        actor=Actor(user=owner),
        name=NAME,
        description="Predicts which customers leave.",
        visibility="public",
        collaborators=[{"entity": "user:owen", "roles": ["owner"]}],
    )
    base = live_server.url
    sign_in(page, base, "owen")
    assert page.get_by_role("link", name=NAME).count() == 1

    # Open the model, then its Settings.
    page.get_by_role("link", name=NAME).click()
    page.get_by_role("heading", name=NAME).wait_for()
    page.get_by_role("navigation", name="Model sections").get_by_role(
        "link", name="Settings"
    ).click()
    page.get_by_role("heading", name="Deletion").wait_for()

    # Scroll to the Deletion section and click Delete Model: a dialog opens.
    page.get_by_role("navigation", name="Settings sections").get_by_role(
        "link", name="Deletion"
    ).click()
    page.get_by_role("button", name="Delete Model").click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    assert dialog.get_by_role("heading", name=f"Delete {NAME}?").is_visible()
    # It says what will go before anything is typed.
    dialog.get_by_text("0 card revisions").wait_for()
    assert dialog.get_by_text("0 releases").is_visible()

    field = dialog.get_by_label("Type the exact model name")
    delete = dialog.get_by_role("button", name="Delete", exact=True)
    assert field.evaluate("element => element === document.activeElement")
    assert delete.is_disabled()

    # Empty, partial, differently cased and with a trailing space: still disabled, and Enter
    # does nothing.
    for typed in ["", "Churn Pred", NAME.lower(), NAME.upper(), NAME + " ", " " + NAME]:
        field.fill(typed)
        assert delete.is_disabled(), repr(typed)
        field.press("Enter")
        assert dialog.is_visible(), repr(typed)
    assert Model.objects.filter(pk=model.pk).exists()
    assert Deletion.objects.count() == 0

    # The exact name enables Delete, and Enter deletes.
    field.fill(NAME)
    assert delete.is_enabled()
    field.press("Enter")
    page.wait_for_url(f"{base}/")
    page.get_by_text(f"Model {NAME} has been deleted.").wait_for()
    assert not Model.objects.filter(pk=model.pk).exists()
    assert Deletion.objects.get().deleted_by == owner

    # Gone from the marketplace and from search.
    page.goto(f"{base}/")
    assert page.get_by_text(NAME).count() == 0
    page.goto(f"{base}/?q=Churn")
    assert page.get_by_text(NAME).count() == 0
    found = page.request.get(f"{base}/api/v2/models/search?search=Churn")
    assert found.status == 200
    assert found.json()["models"] == []

    # Its pages answer 404, for its owner too.
    for path in ["", "/settings", "/delete", "/releases", "/files", "/card/history"]:
        response = page.goto(f"{base}/model/{model.pk}{path}")
        assert response is not None and response.status == 404, path
    api = page.request.get(f"{base}/api/v2/model/{model.pk}")
    assert api.status == 404


def test_cancel_closes_the_dialog_and_forgets_what_was_typed(
    page: Any, live_server: Any, make_user: Any
) -> None:
    owner = make_user("owen")
    model = model_create(
        actor=Actor(user=owner),
        name=NAME,
        description="d",
        visibility="private",
        collaborators=[{"entity": "user:owen", "roles": ["owner"]}],
    )
    base = live_server.url
    sign_in(page, base, "owen")
    page.goto(f"{base}/model/{model.pk}/settings")
    page.get_by_role("button", name="Delete Model").click()
    dialog = page.get_by_role("dialog")
    field = dialog.get_by_label("Type the exact model name")
    field.fill(NAME)
    dialog.get_by_role("button", name="Cancel").click()
    dialog.wait_for(state="hidden")

    page.get_by_role("button", name="Delete Model").click()
    assert field.input_value() == ""
    assert dialog.get_by_role("button", name="Delete", exact=True).is_disabled()
    assert Model.objects.filter(pk=model.pk).exists()


def test_without_javascript_the_button_leads_to_a_confirmation_page(
    browser: Any, live_server: Any, make_user: Any
) -> None:
    owner = make_user("owen")
    model = model_create(
        actor=Actor(user=owner),
        name=NAME,
        description="d",
        visibility="private",
        collaborators=[{"entity": "user:owen", "roles": ["owner"]}],
    )
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        base = live_server.url
        sign_in(page, base, "owen")
        page.goto(f"{base}/model/{model.pk}/settings")
        page.get_by_role("button", name="Delete Model").click()
        page.wait_for_url(f"{base}/model/{model.pk}/delete")
        page.get_by_text("0 releases").wait_for()

        page.get_by_label("Type the exact model name").fill(NAME.lower())
        page.get_by_role("button", name="Delete", exact=True).click()
        page.get_by_text("does not match the model's name exactly").wait_for()
        assert Model.objects.filter(pk=model.pk).exists()

        page.get_by_label("Type the exact model name").fill(NAME)
        page.get_by_role("button", name="Delete", exact=True).click()
        page.wait_for_url(f"{base}/")
        page.get_by_text(f"Model {NAME} has been deleted.").wait_for()
        assert not Model.objects.filter(pk=model.pk).exists()
    finally:
        context.close()
