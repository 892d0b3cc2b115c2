"""The official ``bailo`` client (3.x), unchanged, manages webhooks on our live server with its four
methods (``post_webhook``, ``get_webhooks``, ``put_webhook``, ``delete_webhook``), and a release
it creates reaches a real receiver through a Celery worker consuming the ``webhooks`` queue on
the real broker (in this process, against the test database)."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from typing import Any

import pytest
from bailo import Client, Model
from bailo.core.agent import Agent, TokenAgent
from bailo.core.exceptions import BailoException
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings

from bailo_site.celery import app as celery_app
from models_app.policy import Actor
from models_app.services import model_create
from tests.releases.release_helpers import SUMMARY
from tests.webhooks.receiver import Receiver
from webhooks.models import Webhook, WebhookDelivery
from webhooks.tasks import QUEUE

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def bailo_client(live_server: Any, settings: Any) -> Iterator[Client]:
    """The client in development mode: the caller is the administrator ``user``, who owns what
    it creates."""
    settings.BAILO_AUTH_MODE = "dev"
    agent = Agent()
    yield Client(live_server.url, agent)
    agent.session.close()


@pytest.fixture
def worker() -> Iterator[None]:
    """A Celery worker on the webhooks queue when the broker is there; otherwise (the embedded
    default) tasks run in the process that queues them, as they do without Redis."""
    if not django_settings.REDIS_URL:
        eager = celery_app.conf.task_always_eager
        celery_app.conf.task_always_eager = True
        yield
        celery_app.conf.task_always_eager = eager
        return
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, queues=[QUEUE]):
            yield
    finally:
        celery_app.conf.task_always_eager = eager


def wait_for(condition: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_the_client_creates_lists_changes_and_deletes_a_webhook(
    bailo_client: Client, allow_loopback: None
) -> None:
    model = Model.create(bailo_client, name="Hooked", description="Has webhooks.")

    created = bailo_client.post_webhook(
        model.model_id,
        name="CI",
        uri="http://127.0.0.1:9/hook",
        token="bearer-123",
        insecure_ssl=False,
        events=["createRelease"],
        active=True,
    )["webhook"]
    listed = bailo_client.get_webhooks(model.model_id)["webhooks"]
    changed = bailo_client.put_webhook(
        model.model_id,
        created["id"],
        name="CI (renamed)",
        uri="http://127.0.0.1:9/other",
        events=["createRelease", "updateRelease"],
        active=False,
    )["webhook"]
    removed = bailo_client.delete_webhook(model.model_id, created["id"])

    assert created["modelId"] == model.model_id and created["secret"].startswith("BWS_")
    assert [w["id"] for w in listed] == [created["id"]]
    assert listed[0]["token"] == "bearer-123" and "secret" not in listed[0]
    assert changed["name"] == "CI (renamed)" and changed["active"] is False
    assert changed["events"] == ["createRelease", "updateRelease"]
    assert changed["token"] == "bearer-123" and changed["insecureSSL"] is False
    assert removed == {"message": "Successfully removed webhook."}
    assert bailo_client.get_webhooks(model.model_id) == {"webhooks": []}


def test_the_client_gets_bailo_errors_for_bad_input_and_refusals(
    bailo_client: Client, allow_loopback: None, make_user: Any, make_token: Any, live_server: Any
) -> None:
    model = Model.create(bailo_client, name="Guarded", description="d")

    with pytest.raises(BailoException) as private:
        bailo_client.post_webhook(model.model_id, name="x", uri="http://10.0.0.1/hook")
    with pytest.raises(BailoException) as unknown:
        bailo_client.put_webhook(
            model.model_id, "no-such-hook-000000", name="x", uri="http://127.0.0.1/"
        )
    tess = make_user("tess")
    token, secret = make_token(tess, actions=["model:read", "model:write"])
    other = model_create(
        actor=Actor(user=tess), name="Tess's", description="d", visibility="public"
    )
    stranger = Client(live_server.url, TokenAgent(access_key=token.access_key, secret_key=secret))
    with pytest.raises(BailoException) as not_owner:
        stranger.post_webhook(model.model_id, name="x", uri="http://127.0.0.1:9/")
    mine = stranger.post_webhook(other.pk, name="Tess's hook", uri="http://127.0.0.1:9/")

    assert private.value.status_code == 400 and "private" in str(private.value)
    assert unknown.value.status_code == 404
    assert not_owner.value.status_code == 403
    assert mine["webhook"]["modelId"] == other.pk
    assert Webhook.objects.filter(model_id=model.model_id).count() == 0


def test_a_release_created_with_the_client_reaches_the_receiver_through_the_queue(
    bailo_client: Client, receiver: Receiver, worker: None
) -> None:
    model = Model.create(bailo_client, name="Delivered", description="d")
    model.card_from_schema()
    model.update_model_card(SUMMARY)
    secret = bailo_client.post_webhook(model.model_id, name="CI", uri=receiver.url)["webhook"][
        "secret"
    ]

    model.create_release(version="1.0.0", notes="First", minor=False, draft=False)

    wait_for(lambda: receiver.count >= 1)
    received = receiver.received[0]
    body = received.json()
    assert body["event"] == "createRelease"
    assert body["release"]["semver"] == "1.0.0"
    expected = "sha256=" + hmac.new(secret.encode(), received.body, hashlib.sha256).hexdigest()
    assert received.headers["X-Bailo-Signature-256"] == expected
    wait_for(lambda: WebhookDelivery.objects.filter(state="succeeded").exists())
