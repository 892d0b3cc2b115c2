"""Fixtures for the inference tests: inference turned on, a real deploy service on 127.0.0.1
(tests/inference/deploy_service.py) behind ``INFERENCE_HOST``, and an image of the private test
entry pushed to the stack's registry."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from core.ports import registry
from models_app.models import Model
from tests.conftest import stack_required
from tests.inference.deploy_service import DeployService, running
from tests.releases.release_helpers import push_tiny_image

AUTH_TOKEN = "ZGVwbG95OnNlY3JldA=="


@pytest.fixture
def inference_on(settings: Any) -> None:
    settings.INFERENCE_ENABLED = True
    settings.INFERENCE_HOST = ""
    settings.INFERENCE_GPUS = ["nvidia-t4"]
    settings.INFERENCE_TIMEOUT = 2.0


@pytest.fixture
def deploy_service(inference_on: None, settings: Any) -> Iterator[DeployService]:
    with running() as service:
        settings.INFERENCE_HOST = service.url
        settings.INFERENCE_AUTH_TOKEN = AUTH_TOKEN
        yield service


def need_registry() -> None:
    if not registry.is_configured():
        if stack_required():
            pytest.fail("the registry is not configured but the stack is required")
        pytest.skip("no registry configured (scripts/test.sh uses the running stack)")


@pytest.fixture
def image(entry: Model) -> tuple[str, str]:
    """``app:v1`` pushed to the private test entry's repository."""
    need_registry()
    push_tiny_image(entry.pk, "app", "v1")
    return "app", "v1"


def body(image: str = "app", tag: str = "v1", **settings: Any) -> dict[str, Any]:
    chosen = {"processorType": "cpu", "port": 8080, "memory": 2}
    chosen.update(settings)
    return {"image": image, "tag": tag, "description": "Try it", "settings": chosen}
