"""Fixtures for the webhook tests: a real receiver on 127.0.0.1 (allowed as a target through
``WEBHOOK_ALLOWED_HOSTS``, as an administrator would), tasks run in the calling process, and a
webhook of the private test entry pointing at the receiver."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from models_app.models import Model
from models_app.policy import Actor
from tests.webhooks.receiver import Receiver, running
from webhooks.models import Webhook
from webhooks.services import webhook_create


@pytest.fixture
def allow_loopback(settings: Any) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.fixture
def receiver(allow_loopback: None) -> Iterator[Receiver]:
    with running() as started:
        yield started


def add_webhook(owner: Any, model: Model, uri: str, **fields: Any) -> Webhook:
    return webhook_create(
        actor=Actor(user=owner), model=model, fields={"name": "CI hook", "uri": uri, **fields}
    )


@pytest.fixture
def hook(owner: Any, entry: Model, receiver: Receiver) -> Webhook:
    return add_webhook(owner, entry, receiver.url, token="s3cret-bearer")


DOCS = Path(__file__).resolve().parents[2] / "docs" / "programmatic" / "webhooks.md"


def documented_verify_signature() -> Callable[[str, bytes, str], bool]:
    """``verify_signature`` exactly as docs/programmatic/webhooks.md gives it to receivers."""
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    [source] = [block for block in blocks if "def verify_signature" in block]
    namespace: dict[str, Any] = {}
    exec(compile(source, str(DOCS), "exec"), namespace)
    return namespace["verify_signature"]  # type: ignore[no-any-return]
