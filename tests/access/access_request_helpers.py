"""Helpers shared by the access request tests: answers that pass the default schema, and making,
approving or refusing a request through the real services."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from access.access_requests.services import access_request_create
from access.models import AccessRequest
from models_app.policy import Actor
from reviews.models import Response, Review
from reviews.services import review_respond

# Our extended schema: it asks more (who needs access, at least one; why) than Bailo's, which
# tests/test_bailo_fidelity.py exercises.
SCHEMA = "extended-access-request-v1"
_REAL_NOW = timezone.now


def answers(
    name: str = "Evaluation for project Kestrel",
    entities: list[str] | None = None,
    end: date | str | None = None,
    justification: str | None = "We want to evaluate the model on our own data.",
) -> dict[str, Any]:
    """Answers for the extended schema; ``justification=None`` gives Bailo-shaped answers that
    its default schema (``minimal-access-request-general-v10``) accepts."""
    overview: dict[str, Any] = {
        "name": name,
        "entities": entities if entities is not None else ["user:cody"],
    }
    if justification is not None:
        overview["justification"] = justification
    if end is not None:
        overview["endDate"] = end.isoformat() if isinstance(end, date) else end
    return {"overview": overview}


def ask(user: Any, model: Any, **kwargs: Any) -> AccessRequest:
    """An access request made by ``user`` through the service (default schema)."""
    return access_request_create(
        actor=Actor(user=user), model=model, schema_id=SCHEMA, metadata=answers(**kwargs)
    )


def decide(
    reviewer: Any, access_request: AccessRequest, decision: str = "approve", comment: str = ""
) -> Response:
    review = Review.objects.get(access_request=access_request, role="msro")
    return review_respond(
        actor=Actor(user=reviewer), review=review, decision=decision, comment=comment
    )


def counts() -> tuple[int, int, int]:
    """Access requests (including withdrawn), reviews and responses: to prove nothing was stored."""
    return (
        AccessRequest.all_objects.count(),
        Review.all_objects.count(),
        Response.all_objects.count(),
    )


def move_clock(monkeypatch: pytest.MonkeyPatch, days: int) -> None:
    """Every reading of the clock (``timezone.now``, ``timezone.localdate``) ``days`` ahead of
    the real time (not of an earlier move)."""
    ahead = _REAL_NOW() + timedelta(days=days)

    def later() -> datetime:
        return ahead

    monkeypatch.setattr(timezone, "now", later)


def json_body(data: Any) -> dict[str, Any]:
    return {"data": json.dumps(data), "content_type": "application/json"}
