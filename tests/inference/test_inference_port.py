"""The deploy-service port's HTTP adapter against a real server on 127.0.0.1: Bailo's paths,
methods, bodies and Basic token; refusals, an unreachable service and one that hangs; and the
recording default when no host is configured."""

from __future__ import annotations

import time
from typing import Any

import pytest

from core.ports import inference
from core.ports.inference import (
    Deployment,
    DeployRefused,
    DeployUnavailable,
    HttpDeployer,
    RecordingDeployer,
)
from tests.inference.deploy_service import closed_url, running

D = Deployment(model_id="yolo-abc123", image="app", tag="v1", port=8080)
BODY = {"modelId": "yolo-abc123", "image": "app", "tag": "v1", "port": 8080}


def test_the_three_calls_use_bailos_paths_methods_and_body_with_the_basic_token() -> None:
    with running() as service:
        port = HttpDeployer(service.url + "/", auth_token="dG9rZW4=", timeout=2)
        port.deploy(D)
        port.update(D)
        port.remove(D)
    assert [(c.method, c.path) for c in service.calls] == [
        ("POST", "/api/deploy"),
        ("PATCH", "/api/update"),
        ("DELETE", "/api/delete"),
    ]
    for call in service.calls:
        assert call.json() == BODY
        assert call.headers["Authorization"] == "Basic dG9rZW4="
        assert call.headers["Content-Type"] == "application/json"


def test_without_a_token_no_authorization_header_is_sent() -> None:
    with running() as service:
        HttpDeployer(service.url, timeout=2).deploy(D)
    assert "Authorization" not in service.calls[0].headers


@pytest.mark.parametrize("status", [400, 409, 500, 503])
def test_an_error_status_is_a_refusal_quoting_the_services_message(status: int) -> None:
    with running(status) as service, pytest.raises(DeployRefused) as refused:
        HttpDeployer(service.url, timeout=2).deploy(D)
    assert refused.value.status == status
    assert (
        str(refused.value) == f"The inference service answered {status}: scripted failure {status}"
    )


def test_a_redirect_is_not_followed_and_counts_as_a_refusal() -> None:
    with running(302) as service, pytest.raises(DeployRefused):
        HttpDeployer(service.url, timeout=2).remove(D)
    assert len(service.calls) == 1


def test_a_service_that_is_down_is_unavailable() -> None:
    with pytest.raises(DeployUnavailable, match="could not be reached"):
        HttpDeployer(closed_url(), timeout=2).deploy(D)


def test_a_service_that_hangs_is_unavailable_after_the_timeout() -> None:
    with running(hang=True) as service:
        started = time.monotonic()
        with pytest.raises(DeployUnavailable, match="did not answer within 1 s"):
            HttpDeployer(service.url, timeout=1).deploy(D)
        elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 5


def test_without_a_host_the_recording_default_is_used(settings: Any) -> None:
    settings.INFERENCE_HOST = ""
    port = inference.deployer()
    assert isinstance(port, RecordingDeployer)
    before = len(port.calls)
    port.deploy(D)
    port.remove(D)
    assert port.calls[before:] == [("deploy", D), ("remove", D)]


def test_with_a_host_the_http_adapter_is_used_with_the_settings(settings: Any) -> None:
    settings.INFERENCE_HOST = "http://127.0.0.1:9"
    settings.INFERENCE_AUTH_TOKEN = "abc"
    settings.INFERENCE_TIMEOUT = 3.0
    port = inference.deployer()
    assert isinstance(port, HttpDeployer)
    assert (port.host, port.auth_token, port.timeout) == ("http://127.0.0.1:9", "abc", 3.0)
