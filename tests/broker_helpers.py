"""Sending tasks to a broker of a test's choosing instead of running them eagerly."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from bailo_site.celery import app as celery_app


def unused_port() -> int:
    """A loopback port nobody listens on (connections to it are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _reset_clients() -> None:
    # The producer pool and the result store's client are built for the URLs of their first
    # use; the next send builds them for the URLs now set.
    celery_app.amqp._producer_pool = None
    celery_app._pool = None
    celery_app._backend_cache = None
    vars(celery_app._local).pop("backend", None)


@contextmanager
def tasks_sent_to(redis_url: str) -> Iterator[None]:
    """Within: tasks are sent to the broker at ``redis_url`` (not run in this process), which
    is also the result store, as in a deployment."""
    conf = celery_app.conf
    before = (conf.task_always_eager, conf.broker_url, conf.result_backend)
    conf.task_always_eager, conf.broker_url, conf.result_backend = False, redis_url, redis_url
    _reset_clients()
    try:
        yield
    finally:
        conf.task_always_eager, conf.broker_url, conf.result_backend = before
        _reset_clients()


def down_broker_url() -> str:
    """A Redis URL where nothing answers: the broker is down."""
    return f"redis://127.0.0.1:{unused_port()}/0"
