"""The inference port: asking the external deploy service to run, change or stop a service.

Bailo does not run inference itself: a separate service, at ``INFERENCE_HOST``, pulls an entry's
image from the registry and serves it. This port speaks that service's three calls, with Bailo's
paths and bodies:

- ``deploy``: ``POST <host>/api/deploy`` with ``{modelId, image, tag, port}``;
- ``update``: ``PATCH <host>/api/update`` with the same body;
- ``remove``: ``DELETE <host>/api/delete`` with the same body. (Bailo sends only the image's name,
  which cannot say whose image it is; see docs/users/inferencing.md.)

Each sends ``Authorization: Basic <INFERENCE_AUTH_TOKEN>`` when a token is configured.

Two adapters: ``HttpDeployer`` (when ``INFERENCE_HOST`` is set) and ``RecordingDeployer``, the
default, which only remembers what it was asked, for an instance whose administrators run the
deployments by hand and for trying the feature out. Callers get ``None`` back or one of two
exceptions, never a ``requests`` error: ``DeployUnavailable`` (the service could not be reached or
did not answer in time: try again later) and ``DeployRefused`` (it answered with an error: the
request itself is the problem, or the service is broken).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Protocol

import requests
from django.conf import settings

from core.ports.json_call import json_request

# How much of the deploy service's answer is quoted back to users.
MAX_QUOTED = 300


@dataclass(frozen=True)
class Deployment:
    """What the deploy service is told: run ``<modelId>/<image>:<tag>``, serving on ``port``."""

    model_id: str
    image: str
    tag: str
    port: int

    def body(self) -> dict[str, object]:
        return {"modelId": self.model_id, "image": self.image, "tag": self.tag, "port": self.port}


class DeployError(Exception):
    """The deploy service did not do what was asked; ``str()`` says why, fit for users."""


class DeployUnavailable(DeployError):
    """The deploy service could not be reached, or did not answer in time."""


class DeployRefused(DeployError):
    """The deploy service answered with an error status. ``status`` is its status code."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class Deployer(Protocol):
    def deploy(self, deployment: Deployment) -> None: ...

    def update(self, deployment: Deployment) -> None: ...

    def remove(self, deployment: Deployment) -> None: ...


class HttpDeployer:
    """The adapter for a deploy service speaking Bailo's three calls over HTTP(S)."""

    def __init__(self, host: str, *, auth_token: str = "", timeout: float = 10.0) -> None:
        self.host = host.rstrip("/")
        self.auth_token = auth_token
        self.timeout = timeout

    def deploy(self, deployment: Deployment) -> None:
        self._call("POST", "/api/deploy", deployment)

    def update(self, deployment: Deployment) -> None:
        self._call("PATCH", "/api/update", deployment)

    def remove(self, deployment: Deployment) -> None:
        self._call("DELETE", "/api/delete", deployment)

    def _call(self, method: str, path: str, deployment: Deployment) -> None:
        try:
            with json_request(
                method,
                f"{self.host}{path}",
                deployment.body(),
                authorization=f"Basic {self.auth_token}" if self.auth_token else "",
                timeout=self.timeout,
            ) as response:
                status = response.status_code
                answer = _quoted(response) if not 200 <= status < 300 else ""
        except requests.exceptions.Timeout as exc:
            raise DeployUnavailable(
                f"The inference service did not answer within {self.timeout:g} s"
            ) from exc
        except requests.exceptions.RequestException as exc:
            raise DeployUnavailable("The inference service could not be reached") from exc
        if not 200 <= status < 300:
            detail = f": {answer}" if answer else ""
            raise DeployRefused(f"The inference service answered {status}{detail}", status)


def _quoted(response: requests.Response) -> str:
    """The error message in the service's answer (Bailo's ``{error: {message}}`` or a plain
    ``message``), else the start of its text; never more than ``MAX_QUOTED`` characters."""
    try:
        raw = next(response.iter_content(4096), b"")
    except requests.exceptions.RequestException:
        return ""
    text = raw.decode("utf-8", "replace")
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            text = error["message"]
        elif isinstance(body.get("message"), str):
            text = body["message"]
    return " ".join(text.split())[:MAX_QUOTED]


class RecordingDeployer:
    """The default: deploys nothing and remembers every call, newest last (for an instance whose
    administrators deploy by hand, and for trying the pages out)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Deployment]] = []
        self._lock = threading.Lock()

    def deploy(self, deployment: Deployment) -> None:
        self._record("deploy", deployment)

    def update(self, deployment: Deployment) -> None:
        self._record("update", deployment)

    def remove(self, deployment: Deployment) -> None:
        self._record("remove", deployment)

    def _record(self, call: str, deployment: Deployment) -> None:
        with self._lock:
            self.calls.append((call, deployment))
            del self.calls[:-1000]


RECORDER = RecordingDeployer()


def deployer() -> Deployer:
    """The adapter the settings choose now (read at every call: tests and admins change them)."""
    host = getattr(settings, "INFERENCE_HOST", "")
    if not host:
        return RECORDER
    return HttpDeployer(
        host,
        auth_token=getattr(settings, "INFERENCE_AUTH_TOKEN", ""),
        timeout=float(getattr(settings, "INFERENCE_TIMEOUT", 10.0)),
    )
