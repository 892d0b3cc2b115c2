"""docs/programmatic/webhooks.md says what the code does: its page renders, and the headers,
events and settings it names are the ones in the code. (Its signature check is the one the
delivery tests verify real requests with: ``conftest.documented_verify_signature``.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests.webhooks.conftest import DOCS, documented_verify_signature
from webhooks import delivery
from webhooks.models import WebhookEvent

CONFIGURATION = Path(settings.BASE_DIR, "docs", "administration", "app-configuration.md")


def test_the_page_is_served_in_the_docs() -> None:
    response = Client().get("/docs/programmatic/webhooks")

    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1" in page and "Webhooks" in page
    assert 'id="checking-that-a-request-comes-from-bailo"' in page


def test_it_names_every_header_and_event_the_code_sends() -> None:
    text = DOCS.read_text(encoding="utf-8")
    headers = [
        delivery.HEADER_EVENT,
        delivery.HEADER_DELIVERY,
        delivery.HEADER_ATTEMPT,
        delivery.HEADER_SIGNATURE,
    ]

    for header in headers:
        assert f"| `{header}` |" in text, header
    assert f"`{delivery.USER_AGENT}`" in text
    events = re.findall(r"^\| `([a-zA-Z]+)` \|", text.split("## Events", 1)[1], re.M)
    assert events[: len(WebhookEvent.values)] == list(WebhookEvent.values)
    assert f"up to **{delivery.MAX_ATTEMPTS} attempts**" in text


@pytest.mark.parametrize(
    "name", ["WEBHOOK_ALLOWED_HOSTS", "WEBHOOK_TIMEOUT", "WEBHOOK_DELIVERY_RETENTION"]
)
def test_its_settings_are_documented_for_administrators(name: str) -> None:
    assert hasattr(settings, name)
    assert f"| `{name}` |" in CONFIGURATION.read_text(encoding="utf-8")


def test_the_documented_check_refuses_a_wrong_signature() -> None:
    verify = documented_verify_signature()
    body = b'{"event":"test"}'
    good = delivery.signature("BWS_secret", body)

    assert verify("BWS_secret", body, good)
    assert not verify("BWS_other", body, good)
    assert not verify("BWS_secret", body, good.replace("sha256=", "sha1="))
