"""The pages work under the Content-Security-Policy (the ``page`` fixture fails any test whose
pages the policy refused something on), and the policy really refuses inline scripts."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Marketplace").wait_for()


def test_the_token_page_copy_buttons_come_from_a_static_script(
    page: Any, live_server: Any, make_user: Any
) -> None:
    make_user("alice")
    sign_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/settings/personal-access-tokens/new")
    page.get_by_label("Description").fill("Browser test")
    page.get_by_label("View entries and their cards").check()
    page.get_by_role("button", name="Create token").click()
    page.get_by_role("heading", name="Token created").wait_for()
    # The buttons exist only if copy-snippets.js ran (the browser may lack a clipboard without
    # a secure origin, but 127.0.0.1 counts as secure).
    page.get_by_role("button", name="Copy the Docker snippet").wait_for()


def test_the_banner_takes_its_configured_colours(
    page: Any, live_server: Any, settings: Any
) -> None:
    settings.BAILO_UI = {
        **settings.BAILO_UI,
        "banner": {
            "enabled": True,
            "text": "OFFICIAL",
            "colour": "#008000",
            "textColor": "#ff0000",
        },
    }
    page.goto(f"{live_server.url}/login/")
    banner = page.get_by_role("note")
    banner.wait_for()
    page.wait_for_function(
        "() => getComputedStyle(document.querySelector('.bailo-banner')).backgroundColor"
        " === 'rgb(0, 128, 0)'"
    )
    assert banner.evaluate("b => getComputedStyle(b).color") == "rgb(255, 0, 0)"


def test_swagger_ui_and_the_admin_work_under_the_policy(
    page: Any, live_server: Any, make_user: Any
) -> None:
    make_user("root", admin=True, is_staff=True)
    page.goto(f"{live_server.url}/api/docs")
    page.locator(".opblock").first.wait_for()
    sign_in(page, live_server.url, "root")
    page.goto(f"{live_server.url}/admin/")
    page.get_by_role("heading", name="Administration").first.wait_for()


def test_swagger_ui_shows_an_operations_request_body_and_refusals(
    page: Any, live_server: Any
) -> None:
    """Swagger UI reads the whole document (no resolver errors) and shows what an operation
    takes and the refusals it documents, in Bailo's error shape."""
    page.goto(f"{live_server.url}/api/docs")
    operation = page.locator("#operations-model-models_app_api_entries_create_model")
    # Opening an operation changes the address's fragment (deep linking); waiting for that
    # "navigation" timed out on a busy machine, and the heading below is what matters.
    operation.locator(".opblock-summary").click(no_wait_after=True, timeout=60_000)
    operation.get_by_role("heading", name="Request body").wait_for(timeout=60_000)
    operation.locator(".response[data-code='403']").wait_for()
    operation.locator(".response[data-code='400']").wait_for()
    assert page.locator(".errors-wrapper").count() == 0


def test_the_policy_refuses_an_injected_inline_script(browser: Any, live_server: Any) -> None:
    """The control for the fixture's check: an inline script is refused and reported."""
    context = browser.new_context()
    page = context.new_page()
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    page.goto(f"{live_server.url}/login/")
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.injected = true";
            document.body.appendChild(script);
        }"""
    )
    assert page.evaluate("() => window.injected === undefined")
    context.close()
    assert any("Content Security Policy" in m for m in messages), messages
