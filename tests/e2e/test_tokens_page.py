"""In a browser: creating a token shows its keys once with copy buttons (and a fallback that
selects the text where the clipboard cannot be used); reloading does not make a second token;
revoking asks first."""

from __future__ import annotations

from typing import Any

import pytest

from access.models import Token
from tests.e2e.test_delete_model import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def create(page: Any, base: str) -> None:
    page.goto(f"{base}/settings/personal-access-tokens/new")
    page.get_by_label("Description").fill("Browser token")
    page.get_by_label("View entries and their cards").check()
    page.get_by_role("button", name="Create token").click()
    page.get_by_role("heading", name="Token created").wait_for()


def test_reloading_the_created_page_makes_no_second_token_and_hides_the_secret(
    page: Any, live_server: Any, make_user: Any
) -> None:
    make_user("alice")
    sign_in(page, live_server.url, "alice")
    create(page, live_server.url)
    secret = page.locator("#secret-key").inner_text()
    assert secret
    page.reload()
    page.get_by_text("was shown once").wait_for()
    assert secret not in page.content()
    assert Token.objects.count() == 1


def test_the_keys_have_copy_buttons_that_select_the_text_without_a_clipboard(
    page: Any, live_server: Any, make_user: Any
) -> None:
    make_user("alice")
    # As on a page served over plain HTTP from another host: no clipboard API.
    page.add_init_script("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    sign_in(page, live_server.url, "alice")
    create(page, live_server.url)
    access_key = page.locator("#access-key").inner_text()
    button = page.get_by_role("button", name="Copy the access key")
    button.click()
    assert button.inner_text() == "Selected: press Ctrl+C"
    assert page.evaluate("() => window.getSelection().toString()") == access_key


def test_revoking_asks_for_confirmation(page: Any, live_server: Any, make_user: Any) -> None:
    make_user("alice")
    sign_in(page, live_server.url, "alice")
    create(page, live_server.url)
    page.get_by_role("button", name="Back to my tokens").or_(
        page.get_by_role("link", name="I have copied the secret: back to my tokens")
    ).first.click()
    page.get_by_role("link", name="Revoke token Browser token").click()
    page.get_by_role("heading", name="Revoke the token “Browser token”?").wait_for()
    assert Token.objects.get().revoked_at is None
    page.get_by_role("button", name="Revoke token").click()
    page.get_by_text("was revoked").wait_for()
    assert Token.objects.get().revoked_at is not None
