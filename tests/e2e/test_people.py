"""In a browser: people are shown by name with an initials avatar, never as raw ``user:`` codes;
the person picker adds a collaborator with the keyboard alone (ARIA combobox: Down, Enter,
Escape); the same form works with JavaScript off; and the pages that show people do not scroll
sideways at 390 px, with the picker's suggestions open too."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group

from access.access_requests.services import access_request_create
from models_app.models import Collaborator
from models_app.policy import Actor
from models_app.services import card_from_schema, card_update, model_create
from tests.conftest import PASSWORD
from tests.e2e.test_accessibility import AXE, RUN
from tests.e2e.test_phone_layout import WIDEST

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def people(make_user: Any) -> dict[str, Any]:
    """An owner, two colleagues with real names, one without, and a group."""
    made = {
        "owner": make_user("owen", first_name="Owen", last_name="Oyelaran-Whitfield"),
        "carol": make_user("carol", first_name="Carol", last_name="Chen"),
        "cody": make_user("cody", first_name="Cody", last_name="Castellanos-Montgomery"),
        "plain": make_user("plainuser"),
        "dana": make_user("dana", first_name="Dana", last_name="Doyle"),
    }
    Group.objects.create(name="carbon-analysts")
    return made


@pytest.fixture
def named_model(people: dict[str, Any]) -> str:
    owner = people["owner"]
    actor = Actor(user=owner)
    model = model_create(
        actor=actor,
        name="Named people model",
        description="Shows people by name.",
        collaborators=[
            {"entity": "user:owen", "roles": ["owner"]},
            {"entity": "user:cody", "roles": ["contributor"]},
            {"entity": "user:plainuser", "roles": ["consumer"]},
            {"entity": "group:carbon-analysts", "roles": ["consumer"]},
        ],
    )
    card_from_schema(actor=actor, model=model, schema_id="extended-general-v1")
    card_update(
        actor=actor,
        model=model,
        metadata={
            "overview": {
                "modelSummary": "A summary.",
                "modelOwners": ["user:owen", "user:cody", "group:carbon-analysts"],
            }
        },
    )
    access_request_create(
        actor=Actor(user=people["cody"]),
        model=model,
        schema_id="minimal-access-request-general-v10",
        metadata={"overview": {"name": "Team access", "entities": ["user:cody", "user:carol"]}},
    )
    return str(model.pk)


def signed_in(browser: Any, base: str, username: str, **options: Any) -> Any:
    page = browser.new_context(**options).new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Marketplace").wait_for()
    return page


@pytest.fixture
def owner_page(browser: Any, live_server: Any, named_model: str) -> Iterator[Any]:
    page = signed_in(browser, live_server.url, "owen")
    yield page
    page.context.close()


def test_an_entry_page_names_people_instead_of_showing_codes(
    owner_page: Any, live_server: Any, named_model: str
) -> None:
    owner_page.goto(f"{live_server.url}/model/{named_model}")
    main = owner_page.locator("main")
    details = owner_page.locator(".entry-details")
    for name in ("Owen Oyelaran-Whitfield", "Cody Castellanos-Montgomery", "plainuser"):
        assert details.get_by_text(name).count() >= 1, name
    # Points of contact on the card, by name too.
    card = owner_page.locator(".card-a .people-list")
    assert "Cody Castellanos-Montgomery" in card.inner_text()
    assert "carbon-analysts" in card.inner_text()
    text = main.inner_text()
    assert "user:" not in text and "group:" not in text
    # The avatar is decorative: hidden from assistive technology, the name is the text.
    avatar = details.locator(".avatar").first
    assert avatar.get_attribute("aria-hidden") == "true" and avatar.inner_text() == "OO"
    owner_page.goto(f"{live_server.url}/model/{named_model}/access-requests")
    row = owner_page.get_by_role("row", name="Team access")
    assert "Carol Chen" in row.inner_text() and "user:carol" not in row.inner_text()


def test_a_collaborator_is_added_through_the_picker_with_the_keyboard(
    owner_page: Any, live_server: Any, named_model: str
) -> None:
    page = owner_page
    page.goto(f"{live_server.url}/model/{named_model}/settings")
    field = page.get_by_role("combobox", name="User name or group name")
    field.focus()
    page.keyboard.type("car")
    listbox = page.get_by_role("listbox", name="Suggestions")
    listbox.wait_for()
    assert field.get_attribute("aria-expanded") == "true"
    options = listbox.get_by_role("option")
    assert options.count() == 2  # Carol Chen (user) and carbon-analysts (group)
    # Escape closes the suggestions and keeps what was typed.
    page.keyboard.press("Escape")
    assert field.get_attribute("aria-expanded") == "false" and field.input_value() == "car"
    page.keyboard.type("o")
    listbox.wait_for()
    page.keyboard.press("ArrowDown")
    active = field.get_attribute("aria-activedescendant")
    assert active and page.locator(f"#{active}").inner_text().startswith("CC")
    assert "Carol Chen" in page.locator(f"#{active}").inner_text()
    page.keyboard.press("Enter")  # chooses; does not submit
    assert field.input_value() == "carol"
    assert (
        page.get_by_role("form", name="Add a collaborator").get_by_label("Type").input_value()
        == "user"
    )
    # On to the roles and submit, still with the keyboard.
    add = page.get_by_role("form", name="Add a collaborator")
    add.get_by_role("checkbox", name="Contributor").focus()
    page.keyboard.press("Space")
    add.get_by_role("button", name="Add collaborator").focus()
    page.keyboard.press("Enter")
    page.get_by_text("Your changes were saved.").wait_for()
    assert Collaborator.objects.filter(
        model_id=named_model, entity="user:carol", role="contributor"
    ).exists()
    table = page.get_by_role("table", name="Collaborators and their roles")
    assert "Carol Chen" in table.inner_text()


def test_choosing_a_group_sets_the_type_to_group(
    owner_page: Any, live_server: Any, named_model: str
) -> None:
    page = owner_page
    page.goto(f"{live_server.url}/model/{named_model}/settings")
    page.get_by_role("combobox", name="User name or group name").fill("analysts")
    page.get_by_role("option", name="carbon-analysts group:carbon-analysts").wait_for()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    add = page.get_by_role("form", name="Add a collaborator")
    assert add.get_by_label("Type").input_value() == "group"
    assert page.get_by_label("User name or group name").input_value() == "carbon-analysts"


def test_the_picker_adds_people_to_a_list_of_who_needs_access(
    browser: Any, live_server: Any, named_model: str
) -> None:
    page = signed_in(browser, live_server.url, "cody")
    try:
        page.goto(
            f"{live_server.url}/model/{named_model}"
            "/access-request/new/minimal-access-request-general-v10"
        )
        field = page.get_by_role("combobox", name="Who needs access")
        assert field.input_value() == "user:cody"
        field.focus()
        page.keyboard.press("End")
        page.keyboard.type(", plain")
        page.get_by_role("option").first.wait_for()
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        assert field.input_value() == "user:cody, user:plainuser, "
    finally:
        page.context.close()


def test_without_javascript_the_collaborator_form_takes_a_typed_code(
    browser: Any, live_server: Any, named_model: str
) -> None:
    page = signed_in(browser, live_server.url, "owen", java_script_enabled=False)
    try:
        page.goto(f"{live_server.url}/model/{named_model}/settings")
        field = page.get_by_label("User name or group name")
        assert field.get_attribute("role") is None  # a plain text field
        field.fill("user:carol")
        add = page.get_by_role("form", name="Add a collaborator")
        add.get_by_role("checkbox", name="Consumer").check()
        page.get_by_role("button", name="Add collaborator").click()
        page.get_by_text("Your changes were saved.").wait_for()
        table = page.get_by_role("table", name="Collaborators and their roles")
        assert "Carol Chen" in table.inner_text()
        # A bare name works too.
        page.get_by_label("User name or group name").fill("dana")
        add.get_by_role("checkbox", name="Owner").check()
        page.get_by_role("button", name="Add collaborator").click()
        page.get_by_text("Your changes were saved.").wait_for()
    finally:
        page.context.close()
    assert Collaborator.objects.filter(model_id=named_model, entity="user:carol").exists()
    assert Collaborator.objects.filter(
        model_id=named_model, entity="user:dana", role="owner"
    ).exists()


def test_pages_with_people_do_not_scroll_sideways_at_390_px(
    owner_page: Any, live_server: Any, named_model: str
) -> None:
    page = owner_page
    page.set_viewport_size({"width": 390, "height": 800})
    paths = [
        f"/model/{named_model}",
        f"/model/{named_model}/settings",
        f"/model/{named_model}/access-requests",
        "/access",
        "/settings/",
    ]
    wide = []
    for path in paths:
        page.goto(live_server.url + path)
        scroll = page.evaluate("() => document.documentElement.scrollWidth")
        if scroll > 390:
            wide.append(f"{path}: {scroll} px ({page.evaluate(WIDEST, 390)})")
    # The picker's suggestions, open, stay inside the screen.
    page.goto(f"{live_server.url}/model/{named_model}/settings")
    page.get_by_role("combobox", name="User name or group name").fill("cas")
    page.get_by_role("listbox", name="Suggestions").wait_for()
    box = page.get_by_role("listbox", name="Suggestions").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    if page.evaluate("() => document.documentElement.scrollWidth") > 390:
        wide.append(f"open picker: {page.evaluate(WIDEST, 390)}")
    assert not wide, wide


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_pages_with_people_and_the_open_picker_pass_axe(
    owner_page: Any, live_server: Any, named_model: str, scheme: str
) -> None:
    page = owner_page
    page.emulate_media(color_scheme=scheme)
    found = []
    for path in (f"/model/{named_model}", f"/model/{named_model}/access-requests", "/settings/"):
        page.goto(live_server.url + path)
        page.evaluate(AXE)
        found += [f"{path}: {v}" for v in page.evaluate(RUN)]
    page.goto(f"{live_server.url}/model/{named_model}/settings")
    page.get_by_role("combobox", name="User name or group name").fill("car")
    page.get_by_role("listbox", name="Suggestions").wait_for()
    page.keyboard.press("ArrowDown")
    page.evaluate(AXE)
    found += [f"settings with the picker open: {v}" for v in page.evaluate(RUN)]
    assert not found, "\n".join(found)
