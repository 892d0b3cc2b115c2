"""Signing in, out and changing a password through the pages."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from core.models import AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_sent_to_sign_in() -> None:
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_wrong_password_shows_a_form_error(outsider: User) -> None:
    response = Client().post("/login/", {"username": "olive", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in Client().session


def test_the_right_password_signs_in_and_is_audited(outsider: User) -> None:
    client = Client()
    response = client.post("/login/", {"username": "olive", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    page = client.get("/").content.decode()
    assert "Marketplace" in page and "Sign out olive" in page
    assert AuditEvent.objects.filter(action="user:sign_in", actor="user:olive").exists()


def test_signing_out_needs_a_post_and_ends_the_session(client_for: Any, outsider: User) -> None:
    client = client_for(outsider)
    assert client.get("/logout/").status_code == 405
    client.post("/logout/")
    assert client.get("/").status_code == 302


def test_password_change_checks_the_old_password(client_for: Any, outsider: User) -> None:
    client = client_for(outsider)
    bad = client.post(
        "/settings/password/",
        {
            "old_password": "wrong",
            "new_password1": "a-new-long-pass-1",
            "new_password2": "a-new-long-pass-1",
        },
    )
    assert bad.status_code == 200 and "aria-invalid" in bad.content.decode()
    good = client.post(
        "/settings/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-long-pass-1",
            "new_password2": "a-new-long-pass-1",
        },
    )
    assert good.status_code == 302
    outsider.refresh_from_db()
    assert outsider.check_password("a-new-long-pass-1")


def test_only_administrators_see_the_admin_link(
    client_for: Any, outsider: User, site_admin: User
) -> None:
    assert 'href="/administration/"' not in client_for(outsider).get("/").content.decode()
    assert 'href="/administration/"' in client_for(site_admin).get("/").content.decode()


def test_admin_group_members_may_use_the_django_admin(
    client_for: Any, outsider: User, site_admin: User
) -> None:
    assert client_for(site_admin).get("/admin/").status_code == 200
    assert client_for(outsider).get("/admin/").status_code == 302


def test_the_banner_and_announcement_follow_settings(
    client_for: Any, outsider: User, settings: Any
) -> None:
    settings.BAILO_UI = {
        **settings.BAILO_UI,
        "banner": {"enabled": True, "text": "OFFICIAL", "colour": "#123456", "textColor": "#fff"},
        "announcement": {"enabled": True, "text": "Maintenance on Friday", "startTimestamp": ""},
    }
    page = client_for(outsider).get("/").content.decode()
    # The colours are applied by bailo.js (a style attribute would be refused by the CSP).
    assert "OFFICIAL" in page and 'data-background="#123456"' in page
    assert "Maintenance on Friday" in page


def test_settings_page_shows_the_entity_names(client_for: Any, site_admin: User) -> None:
    page = client_for(site_admin).get("/settings/").content.decode()
    assert "user:ada" in page and "group:admin" in page


def test_an_administrator_signs_in_for_the_admin_on_the_one_sign_in_page(
    client: Any, make_user: Any
) -> None:
    # An administrator by group membership only: not a Django "staff" account.
    admin_user = make_user("ada-admin", admin=True, password="a-long-admin-password")
    assert not admin_user.is_staff
    first = client.get("/admin/deletion/deletion/")
    assert first.status_code == 302
    second = client.get(first["Location"])
    assert second.status_code == 302
    assert second["Location"] == "/login/?next=/admin/deletion/deletion/"
    signed_in = client.post(
        second["Location"], {"username": "ada-admin", "password": "a-long-admin-password"}
    )
    assert signed_in.status_code == 302 and signed_in["Location"] == "/admin/deletion/deletion/"
    assert client.get("/admin/deletion/deletion/").status_code == 200
    # The admin's own sign-in page, visited when already signed in, goes on to the admin.
    assert client.get("/admin/login/?next=/admin/")["Location"] == "/admin/"


def test_a_signed_in_non_administrator_is_refused_not_sent_round_in_a_loop(
    client_for: Any, outsider: User
) -> None:
    client = client_for(outsider)
    first = client.get("/admin/")
    assert first.status_code == 302
    refused = client.get(first["Location"])
    assert refused.status_code == 403
    assert "administrators only" in refused.content.decode()


def test_the_admin_sign_in_ignores_a_next_on_another_site(client: Any) -> None:
    answer = client.get("/admin/login/?next=https://evil.example/")
    assert answer["Location"] == "/login/?next=/admin/"
