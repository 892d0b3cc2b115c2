"""Schemathesis over ``/api/v2/openapi.json`` (and the v3 document): generated requests, as an
ordinary user with a token, never get a server error, and every answer is one the document
describes: a documented status, a documented media type and a body that matches the documented
schema (Bailo's error shape for every refusal).

A bounded number of examples per operation keeps the run to a minute or two (about 90
operations). The generator builds bodies and query strings from the document, so they get past
the parsers into the services. Token management is left out: tokens may not manage tokens (a 403
whatever the input), and revoking the caller's own token would leave the rest of the run
unauthenticated. Each request goes through the WSGI application in this process, on this test's
database, so the suite's rule that no request may end in a 500 (``tests/conftest.py``) applies
too.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bailo_site.wsgi import application
from models_app.policy import TokenAction
from tests.conftest import _make_entry, create_user

pytestmark = pytest.mark.django_db

EXAMPLES_PER_OPERATION = 6
# What the document promises about answers. Checks that judge the server's choices against the
# generator's guesses (negative_data_rejection, positive_data_acceptance) are left out: a body
# the schema allows may still be refused for what the schema cannot say (an unknown file id).
# A 501 is documented where it is given, so the status check covers server errors too.
CONFORMANCE = [
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(autouse=True)
def keep_the_test_connection() -> Iterator[None]:
    """Django closes the database connection at the end of each request, which would end the
    test's transaction: its own test client stops that the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


schema = schemathesis.openapi.from_wsgi("/api/v2/openapi.json", application).exclude(
    path_regex=r"^/api/v2/user/tokens?(/|$)"
)
schema_v3 = schemathesis.openapi.from_wsgi("/api/v3/api-docs/swagger.json", application)


@pytest.fixture
def token_headers(make_token: Any) -> dict[str, str]:
    """Basic auth for a token (every action) of a user with no special rights, who owns one
    entry, and that entry's id (``X-Fuzzed-Model``, not sent)."""
    user = create_user("fuzzer")
    model = _make_entry(user, {}, name="Fuzzed model")
    _token, secret = make_token(user, actions=[a.value for a in TokenAction])
    raw = base64.b64encode(f"{_token.access_key}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}", "X-Fuzzed-Model": model.pk}


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def _call_and_check(case: Any, token_headers: dict[str, str]) -> None:
    if case.path_parameters and "model_id" in case.path_parameters:
        # A random model id only ever meets a 404: aim at the fuzzer's own entry so the
        # generated input reaches the code behind the lookup.
        case.path_parameters["model_id"] = token_headers["X-Fuzzed-Model"]
    response = case.call(headers={"Authorization": token_headers["Authorization"]})
    # 501 is a deliberate answer (a Bailo feature this instance does not offer), not a failure.
    assert response.status_code < 500 or response.status_code == 501, (
        f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
    )
    case.validate_response(response, checks=CONFORMANCE)


@schema.parametrize()
@FUZZ_SETTINGS
def test_generated_requests_get_documented_answers_and_never_a_server_error(
    case: Any, token_headers: dict[str, str]
) -> None:
    _call_and_check(case, token_headers)


@schema_v3.parametrize()
@FUZZ_SETTINGS
def test_generated_v3_requests_get_documented_answers(
    case: Any, token_headers: dict[str, str]
) -> None:
    _call_and_check(case, token_headers)


def test_the_fuzzer_is_signed_in_and_leaves_token_management_alone(
    token_headers: dict[str, str],
) -> None:
    paths = {op.ok().path for op in schema.get_all_operations()}
    assert "/api/v2/models/search" in paths
    assert not [p for p in paths if p.startswith("/api/v2/user/token")]
    assert len(paths) > 50
    answer = Client().get(
        "/api/v2/models/search", HTTP_AUTHORIZATION=token_headers["Authorization"]
    )
    assert answer.status_code == 200
    assert [m["name"] for m in answer.json()["models"]] == ["Fuzzed model"]
