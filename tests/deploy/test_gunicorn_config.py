"""The web workers' gunicorn config (deploy/gunicorn.conf.py): once a worker has loaded the
application, its task sending is prepared in the background (``bailo_site.celery.warm_broker``),
so the first request that queues a task (a model deletion) does not pay for it; a broker that is
down delays and changes nothing."""

from __future__ import annotations

import gc
import os
import runpy
import threading
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from bailo_site import celery
from bailo_site.celery import app as celery_app
from bailo_site.celery import warm_broker
from tests.broker_helpers import down_broker_url, tasks_sent_to
from tests.conftest import stack_required

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "gunicorn.conf.py"


def test_every_gunicorn_start_names_the_config() -> None:
    for script in ("deploy/docker-entrypoint.sh", "scripts/deploy-local.sh"):
        assert "deploy/gunicorn.conf.py" in (ROOT / script).read_text(), script


def test_a_worker_prepares_its_task_sending_in_a_background_thread_once_started(
    monkeypatch: Any,
) -> None:
    ran_in: list[threading.Thread] = []
    done = threading.Event()

    def warm() -> None:
        ran_in.append(threading.current_thread())
        done.set()

    monkeypatch.setattr(celery, "warm_broker", warm)

    runpy.run_path(str(CONFIG))["post_worker_init"](object())

    assert done.wait(timeout=10)
    assert ran_in[0] is not threading.main_thread() and ran_in[0].daemon


def test_a_worker_keeps_what_it_loaded_out_of_the_collectors_full_passes(
    monkeypatch: Any,
) -> None:
    monkeypatch.setattr(celery, "warm_broker", lambda: None)
    gc.unfreeze()
    try:
        runpy.run_path(str(CONFIG))["post_worker_init"](object())
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_warming_does_nothing_where_tasks_run_eagerly() -> None:
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        assert warm_broker() is None
    finally:
        celery_app.conf.task_always_eager = eager


def test_warming_with_the_broker_down_gives_up_quietly(caplog: Any) -> None:
    with tasks_sent_to(down_broker_url()):
        assert warm_broker() is None
    assert "Could not prepare the task broker connection" in caplog.text


def test_warming_leaves_a_connected_producer_with_the_queues_declared_in_the_pool() -> None:
    if not settings.REDIS_URL:
        if stack_required():
            pytest.fail("the stack is required but REDIS_URL is not set")
        pytest.skip("needs Redis (the stack)")
    with tasks_sent_to(os.environ.get("REDIS_URL", settings.REDIS_URL)):
        assert warm_broker() is not None
        # The pool hands out the producer warming put back (last in, first out).
        with celery_app.producer_or_acquire() as producer:
            connection = producer.connection
            assert connection.connected
            queues = celery_app.amqp.queues
            assert set(queues) == {"default", "scans", "purge", "webhooks", "mirroring"}
            # kombu remembers what a connection declared by the entities' hashes.
            assert {hash(queue) for queue in queues.values()} <= connection.declared_entities
