"""In a browser, without JavaScript: an owner opens the Inferencing tab, creates a service for an
image pushed to the model's registry, sees the deploy service's page framed, reads the settings and
removes the service; a real deploy service on 127.0.0.1 receives each call."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from inference.models import InferenceService
from models_app.policy import Actor
from models_app.services import model_create
from tests.e2e.test_delete_model import sign_in
from tests.inference.conftest import need_registry
from tests.inference.deploy_service import running
from tests.releases.release_helpers import push_tiny_image

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("BAILO_E2E_SHOTS", "")


def shot(page: Any, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"inference-{name}.png"), full_page=True)


@pytest.fixture
def page_without_js(browser: Any) -> Any:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_an_owner_creates_views_and_removes_an_inference_service(
    page_without_js: Any, live_server: Any, make_user: Any, settings: Any
) -> None:
    need_registry()
    page = page_without_js
    owner = make_user("owen")
    model = model_create(
        actor=Actor(user=owner),
        name="Digit reader",
        description="Reads digits.",
        collaborators=[{"entity": "user:owen", "roles": ["owner"]}],
    )
    push_tiny_image(model.pk, "server", "v2")
    base = live_server.url
    with running() as service:
        settings.INFERENCE_ENABLED = True
        settings.INFERENCE_HOST = service.url
        settings.INFERENCE_GPUS = ["nvidia-t4"]
        sign_in(page, base, "owen")
        page.goto(f"{base}/model/{model.pk}")
        page.get_by_role("link", name="Inferencing").click()
        page.get_by_role("heading", name="Inferencing").wait_for()
        shot(page, "1-tab-empty")
        page.get_by_role("button", name="Create service").click()
        page.get_by_label("Description").fill("Try the digit reader")
        page.get_by_label("Image").select_option("server:v2")
        page.get_by_label("Port").fill("8080")
        page.get_by_label("Processor type").select_option("cpu")
        page.get_by_label("Memory (GB)").fill("2")
        shot(page, "2-form")
        page.get_by_role("button", name="Create inferencing service").click()
        page.get_by_role("heading", name="server:v2").wait_for()
        frame = page.locator("iframe.inference-frame")
        assert frame.get_attribute("src") == f"{service.url}/inference/{model.pk}/server/v2"
        shot(page, "3-detail")
        # The frame itself loaded from the deploy service.
        api_calls = [(c.method, c.path) for c in service.calls if c.path.startswith("/api/")]
        assert api_calls == [("POST", "/api/deploy")]
        framed = ("GET", f"/inference/{model.pk}/server/v2")
        for _ in range(100):  # the frame loads on its own time
            if framed in [(c.method, c.path) for c in service.calls]:
                break
            page.wait_for_timeout(100)
        assert framed in [(c.method, c.path) for c in service.calls]

        page.get_by_role("link", name="View settings").click()
        assert page.get_by_label("Port").input_value() == "8080"
        page.get_by_role("link", name="← Back").click()
        page.get_by_role("link", name="Remove service").click()
        shot(page, "4-remove")
        page.get_by_role("button", name="Remove service").click()
        page.get_by_text("This model has no inference services yet.").wait_for()
        api_calls = [(c.method, c.path) for c in service.calls if c.path.startswith("/api/")]
        assert api_calls == [("POST", "/api/deploy"), ("DELETE", "/api/delete")]
    assert not InferenceService.objects.exists()
