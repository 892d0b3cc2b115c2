"""A request never waits for a delivery: the API answers, the event is recorded only once the
request's transaction has committed, and the attempt is a task on the ``webhooks`` queue of the
real broker (Redis), which the receiver hears about only when a worker takes it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from kombu import Connection

from bailo_site.celery import app as celery_app
from models_app.models import Model
from tests.conftest import stack_required
from tests.releases.release_helpers import with_card
from tests.webhooks.receiver import Receiver
from webhooks.models import DeliveryState, Webhook, WebhookDelivery
from webhooks.tasks import QUEUE, deliver

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker() -> Iterator[Connection]:
    """The real broker, with tasks sent to it rather than run in this process; the webhooks
    queue (this test process's own, under its key prefix) starts empty."""
    if not settings.REDIS_URL:
        if stack_required():
            pytest.fail("the stack is required but REDIS_URL is not set")
        pytest.skip("needs Redis (the stack)")
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    with celery_app.connection_for_read() as connection:
        connection.SimpleQueue(QUEUE).clear()
        try:
            yield connection
        finally:
            celery_app.conf.task_always_eager = eager


def take_task(connection: Connection) -> tuple[str, list[Any]]:
    """The one task waiting on the webhooks queue: its name and arguments."""
    queue = connection.SimpleQueue(QUEUE)
    message = queue.get(timeout=5)
    message.ack()
    with pytest.raises(queue.Empty):  # and only that one
        queue.get_nowait()
    args, _kwargs, _embed = message.decode()
    return message.headers["task"], args


def test_the_api_answers_before_the_receiver_is_called_and_the_attempt_is_queued(
    broker: Connection,
    hook: Webhook,
    receiver: Receiver,
    entry: Model,
    owner: Any,
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    carded = with_card(entry, owner)
    with django_capture_on_commit_callbacks(execute=False) as commit:
        response = client_for(owner).post(
            f"/api/v2/model/{carded.pk}/releases",
            data=json.dumps({"semver": "1.0.0", "notes": "First"}),
            content_type="application/json",
        )

    # The request has answered; its transaction has not committed: nothing is recorded or sent.
    assert response.status_code == 200, response.content
    assert receiver.count == 0 and not WebhookDelivery.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        for callback in commit:  # the commit
            callback()

    # Recorded and queued on the broker, still not sent.
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempt_count, receiver.count) == ("pending", 0, 0)
    name, args = take_task(broker)
    assert (name, args) == ("webhooks.deliver", [str(delivery.pk)])

    deliver(*args)  # what the worker does with it

    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SUCCEEDED and receiver.count == 1
    assert receiver.received[0].json()["event"] == "createRelease"
