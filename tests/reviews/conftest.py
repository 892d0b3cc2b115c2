"""Fixtures for the reviews tests: a published release whose reviews are open, and the badge's
context processor switched on."""

from __future__ import annotations

from typing import Any

import pytest

from releases.models import Release
from tests.releases.release_helpers import make_release, with_card

CONTEXT_PROCESSOR = "reviews.context_processors.reviews"


def publish(model: Any, user: Any, semver: str, capture: Any, **fields: Any) -> Release:
    """Create a release and run what happens after commit (the reviews open, e-mails leave)."""
    with capture(execute=True):
        return make_release(model, user, semver, **fields)


@pytest.fixture
def carded(entry: Any, owner: Any) -> Any:
    """The private entry with a card on the default model schema (roles msro and mtr)."""
    return with_card(entry, owner)


@pytest.fixture
def release(carded: Any, owner: Any, django_capture_on_commit_callbacks: Any) -> Release:
    """Release 1.0.0 of the private entry, published: one review each for msro and mtr."""
    return publish(carded, owner, "1.0.0", django_capture_on_commit_callbacks)


@pytest.fixture
def badge(settings: Any) -> None:
    """Register the reviews context processor (until the lead adds it to settings)."""
    processors = settings.TEMPLATES[0]["OPTIONS"]["context_processors"]
    if CONTEXT_PROCESSOR not in processors:
        settings.TEMPLATES = [
            {
                **settings.TEMPLATES[0],
                "OPTIONS": {
                    **settings.TEMPLATES[0]["OPTIONS"],
                    "context_processors": [*processors, CONTEXT_PROCESSOR],
                },
            },
            *settings.TEMPLATES[1:],
        ]
