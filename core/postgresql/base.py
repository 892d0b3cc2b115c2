"""Django's PostgreSQL backend, with a per-request health check that costs no round trip.

With ``CONN_HEALTH_CHECKS`` Django sends ``SELECT 1`` before the first query of every request
that reuses a connection: one more round trip on every request. Between requests a connection is
idle and the server sends it nothing, unless it closes it (a restart, ``pg_terminate_backend``,
an idle timeout), which leaves an error message and the end of the stream waiting on the socket.
So a socket with nothing to read is healthy; when something waits, Django's own check (the
``SELECT 1``) decides, and a dead connection is replaced before the request uses it, as before.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base


def nothing_waiting(fileno: int) -> bool:
    """Whether the socket has nothing to read (poll, not select: any descriptor number)."""
    poller = select.poll()
    poller.register(fileno, select.POLLIN | select.POLLPRI)
    return not poller.poll(0)


class DatabaseWrapper(base.DatabaseWrapper):
    def close_if_health_check_failed(self) -> None:
        checking = self.health_check_enabled and not self.health_check_done  # type: ignore[attr-defined,has-type]
        if (
            checking
            and self.connection is not None
            and self.pool is None
            and not self.connection.closed
            and nothing_waiting(self.connection.fileno())
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()
