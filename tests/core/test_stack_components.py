"""The real components answer: status endpoint and a Celery task through Redis."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.test import Client

from tests.conftest import stack_required

pytestmark = pytest.mark.django_db


@pytest.fixture
def real_stack(settings: Any) -> None:
    if not os.environ.get("S3_ENDPOINT"):
        if stack_required():
            pytest.fail("the stack variables are missing")
        pytest.skip("the local stack is not running (make test starts it)")


def test_every_component_is_healthy(real_stack: None) -> None:
    response = Client().get("/api/v2/system/health")
    assert response.status_code == 200
    body = response.json()
    states = {name: c["state"] for name, c in body["components"].items()}
    assert states == {
        "database": "ok",
        "redis": "ok",
        "s3": "ok",
        "registry": "ok",
        "clamd": "ok",
    }, body
    assert body["ok"] is True


def test_a_dead_component_is_reported_not_raised(real_stack: None, settings: Any) -> None:
    settings.CLAMD_PORT = 1  # nothing listens there
    response = Client().get("/api/v2/system/health")
    assert response.status_code == 503
    body = response.json()
    assert body["components"]["clamd"] == {"state": "error"}
    assert body["ok"] is False and body["status"] == "degraded"


def test_the_database_is_postgresql_under_the_stack(real_stack: None) -> None:
    from django.db import connection

    assert connection.vendor == "postgresql"


def test_a_task_round_trips_through_redis(real_stack: None) -> None:
    from celery.contrib.testing.worker import start_worker

    from bailo_site.celery import app
    from core.tasks import ping

    app.conf.task_always_eager = False
    app.conf.broker_url = os.environ["REDIS_URL"]
    app.conf.result_backend = os.environ["REDIS_URL"]
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, queues=["default"]):
            assert ping.delay().get(timeout=30) == "pong"
    finally:
        app.conf.task_always_eager = True
