"""The per-request database health check (core/postgresql): no round trip while the connection
is idle and sound, and a connection the server has closed is still replaced before use."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest
from django.db import connection

from core.postgresql.base import DatabaseWrapper

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the PostgreSQL backend's own check"
)


@pytest.fixture
def probe(db: Any) -> Any:
    """A connection of its own (outside the test's transaction), as a worker thread holds one."""
    wrapper = DatabaseWrapper({**connection.settings_dict}, alias="probe")
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def new_request(wrapper: DatabaseWrapper) -> None:
    """What Django does when a request starts (``close_old_connections``)."""
    wrapper.close_if_unusable_or_obsolete()


def test_a_sound_idle_connection_is_reused_without_a_query(probe: Any, monkeypatch: Any) -> None:
    assert probe.health_check_enabled
    new_request(probe)
    monkeypatch.setattr(probe, "is_usable", lambda: pytest.fail("SELECT 1 was sent"))
    with probe.cursor() as cursor:
        cursor.execute("SELECT 2")
        assert cursor.fetchone() == (2,)


def test_a_connection_the_server_closed_is_replaced_before_the_request_uses_it(
    probe: Any,
) -> None:
    old_pid = probe.connection.info.backend_pid
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=True) as killer:
        killer.execute("SELECT pg_terminate_backend(%s)", (old_pid,))
    time.sleep(0.2)  # the server's goodbye reaches the socket
    new_request(probe)
    with probe.cursor() as cursor:  # no error: the check noticed and reconnected
        cursor.execute("SELECT pg_backend_pid()")
        row = cursor.fetchone()
    assert row is not None and row[0] != old_pid
