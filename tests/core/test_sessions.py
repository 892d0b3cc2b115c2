"""Browser sessions (core.sessions): the session and its user are read in one query, and the
session stays revocable on the server: signing out, deleting or deactivating the user, or
changing the password ends it at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.entities import is_admin
from core.models import UserSession
from core.sessions import SessionStore, _joined_read, user_read_with_session
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def signed_in(username: str) -> Client:
    client = Client()
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def me(client: Client) -> int:
    """The status of a call only a signed-in caller may make."""
    return int(client.get("/api/v2/user/tokens").status_code)


def copy_of(client: Client) -> Client:
    """Another browser holding the same session cookie (a stolen or copied cookie)."""
    other = Client()
    other.cookies = client.cookies
    return other


def test_signing_in_records_the_user_beside_the_session(outsider: User) -> None:
    client = signed_in("olive")
    key = client.cookies["sessionid"].value
    assert UserSession.objects.get(session_key=key).user_id == outsider.pk


def test_the_session_and_its_user_are_read_in_one_statement(outsider: User) -> None:
    client = signed_in("olive")
    with CaptureQueriesContext(connection) as captured:
        assert me(client) == 200
    reads = [q["sql"] for q in captured.captured_queries if '"auth_user"' in q["sql"]]
    assert len(reads) == 1 and '"core_usersession"' in reads[0]


def test_signing_out_revokes_the_session_on_the_server(outsider: User) -> None:
    client = signed_in("olive")
    copied = copy_of(client)
    key = client.cookies["sessionid"].value
    client.post("/logout/")
    assert not UserSession.objects.filter(session_key=key).exists()
    assert me(copied) == 401


def test_deleting_the_user_deletes_their_sessions(outsider: User) -> None:
    client = signed_in("olive")
    outsider.delete()
    assert not UserSession.objects.exists()
    assert me(client) == 401


def test_a_deactivated_user_is_signed_out_on_the_next_request(outsider: User) -> None:
    client = signed_in("olive")
    User.objects.filter(pk=outsider.pk).update(is_active=False)
    assert me(client) == 401


def test_a_password_changed_elsewhere_ends_the_session(outsider: User) -> None:
    client = signed_in("olive")
    outsider.set_password("a-different-long-pass-2")
    outsider.save()
    assert me(client) == 401


def test_a_session_of_another_user_is_never_offered(outsider: User, owner: User) -> None:
    # Outside a request's own user lookup nothing is on offer, whatever id is asked for.
    assert user_read_with_session(outsider.pk) is None
    client = signed_in("olive")
    assert me(client) == 200
    assert user_read_with_session(outsider.pk) is None


def test_the_session_read_gives_the_rows_the_orm_gives(outsider: User) -> None:
    client = signed_in("olive")
    key = client.cookies["sessionid"].value
    read = _joined_read().get(key, timezone.now())
    assert read is not None
    expected = UserSession.objects.get(session_key=key)
    fields = UserSession._meta.concrete_fields
    assert [f.value_from_object(read) for f in fields] == [
        f.value_from_object(expected) for f in fields
    ]
    user_fields = User._meta.concrete_fields
    expected_user = User.objects.get(pk=outsider.pk)
    assert [f.value_from_object(read.user) for f in user_fields] == [
        f.value_from_object(expected_user) for f in user_fields
    ]
    assert read.user.is_active and not read.user._state.adding


def test_an_expired_session_is_not_read(outsider: User) -> None:
    client = signed_in("olive")
    key = client.cookies["sessionid"].value
    UserSession.objects.filter(session_key=key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    assert _joined_read().get(key, timezone.now()) is None
    assert me(client) == 401


def test_a_session_before_sign_in_is_read_without_a_user() -> None:
    client = Client()
    client.get("/login/")
    session = client.session
    session["seen"] = True
    session.save()
    read = _joined_read().get(session.session_key, timezone.now())
    assert read is not None and read.user is None
    assert SessionStore().decode(read.session_data) == {"seen": True}


def test_the_session_read_says_whether_its_user_is_an_administrator(
    outsider: User, site_admin: User
) -> None:
    """``is_admin`` is answered by the session's own statement: no query of its own, and a
    membership taken away counts from the next read."""
    for user, expected in ((outsider, False), (site_admin, True)):
        key = signed_in(user.username).cookies["sessionid"].value
        row = _joined_read().get(key, timezone.now())
        assert row is not None
        with CaptureQueriesContext(connection) as captured:
            assert is_admin(row.user) is expected
        assert captured.captured_queries == []
    site_admin.groups.clear()
    row = _joined_read().get(key, timezone.now())
    assert row is not None and is_admin(row.user) is False
    User.objects.filter(pk=site_admin.pk).update(is_superuser=True)
    row = _joined_read().get(key, timezone.now())
    assert row is not None and is_admin(row.user) is True


def test_a_signed_in_page_asks_nothing_more_about_the_administrators_group(
    site_admin: User,
) -> None:
    client = signed_in(site_admin.username)
    client.get("/")
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/").status_code == 200
    group_reads = [q["sql"] for q in captured.captured_queries if '"auth_group"' in q["sql"]]
    assert len(group_reads) == 1 and '"core_usersession"' in group_reads[0]


def test_the_session_read_is_prepared_once_a_connection_repeats_it(outsider: User) -> None:
    """Every signed-in request reads its session: after the first few on a connection the
    server keeps that statement parsed and planned (DATABASE_PREPARE_THRESHOLD) and the request
    still answers from the session's current row."""
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")

    def prepared() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return [row[0] for row in cursor.fetchall() if '"core_usersession"' in row[0]]

    client = signed_in("olive")
    assert me(client) == 200
    assert prepared() == []  # once is not enough
    for _ in range(3):
        assert me(client) == 200
    assert len(prepared()) == 1
    client.post("/logout/")
    assert me(client) in (401, 403)  # the prepared read finds the row gone
