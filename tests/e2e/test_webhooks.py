"""In a browser: an owner adds a webhook from the model's settings, copies the secret shown once,
sends a test event to a real receiver and sees it delivered, pauses the webhook and deletes it.
JavaScript is switched off: every step is a plain form."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from bailo_site.celery import app as celery_app
from models_app.policy import Actor
from models_app.services import model_create
from tests.e2e.test_delete_model import sign_in
from tests.webhooks.receiver import running
from webhooks.models import Webhook

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NAME = "Fraud scorer"
# Set to a folder to keep screenshots of each step (for reviewing the pages by eye).
SHOTS = os.environ.get("BAILO_E2E_SHOTS", "")


def shot(page: Any, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


@pytest.fixture
def page_without_js(browser: Any) -> Any:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_an_owner_adds_tests_pauses_and_deletes_a_webhook_without_javascript(
    page_without_js: Any, live_server: Any, make_user: Any, settings: Any
) -> None:
    page = page_without_js
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True  # the test event is sent from the web process
    owner = make_user("owen")
    model = model_create(
        actor=Actor(user=owner),
        name=NAME,
        description="Scores transactions.",
        collaborators=[{"entity": "user:owen", "roles": ["owner"]}],
    )
    base = live_server.url
    try:
        with running() as receiver:
            sign_in(page, base, "owen")
            page.goto(f"{base}/model/{model.pk}/settings")
            page.get_by_role("heading", name="Webhooks").wait_for()
            shot(page, "1-settings")
            page.get_by_role("button", name="Add webhook").click()

            # A mistake first: the error appears beside the URL field.
            page.locator("#id_name").fill("CI pipeline")
            page.locator("#id_uri").fill("http://10.0.0.7/hook")
            page.get_by_role("button", name="Add webhook").click()
            page.get_by_text("10.0.0.7 is on a loopback, link-local or private network").wait_for()
            shot(page, "2-error")
            page.locator("#id_uri").fill(receiver.url)
            page.get_by_label("Someone asks for access").uncheck()
            page.get_by_role("button", name="Add webhook").click()

            webhook = Webhook.objects.get()
            page.get_by_text("Copy the signing secret now").wait_for()
            assert page.locator("#webhook-secret").inner_text() == webhook.secret
            shot(page, "3-created")

            page.get_by_role("button", name="Send test event").click()
            page.get_by_text("A test event was queued").wait_for()
            assert receiver.count == 1
            assert page.get_by_text("HTTP 200").first.is_visible()
            assert page.locator("#webhook-secret").count() == 0  # shown once only
            shot(page, "4-delivered")

            page.get_by_role("button", name="Pause").click()
            page.get_by_text("is paused: it sends nothing").wait_for()
            assert Webhook.objects.get().active is False
            page.get_by_role("link", name="Back to settings").click()
            page.get_by_text("Paused").first.wait_for()
            shot(page, "5-paused")

            page.get_by_role("link", name="CI pipeline").click()
            page.get_by_role("button", name="Delete", exact=True).click()
            page.get_by_role("button", name="Delete webhook").click()
            page.get_by_text("Webhook “CI pipeline” was deleted.").wait_for()
            assert not Webhook.all_objects.exists()
    finally:
        celery_app.conf.task_always_eager = eager
