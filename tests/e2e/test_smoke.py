from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_sign_in_see_the_marketplace_and_sign_out(
    page: Any, live_server: Any, make_user: Any
) -> None:
    make_user("alice")
    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").is_visible()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Marketplace").wait_for()
    page.get_by_role("button", name="Sign out alice").click()
    page.wait_for_url("**/login/")
    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url
