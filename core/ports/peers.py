"""The peer port: asking another model repository for its status and for entries matching a
search, so the marketplace can show them beside ours.

``PeerConnector`` has two calls, ``status()`` and ``search(query, user=...)``. Two adapters:

- ``BailoPeer``, for another Bailo (upstream or this re-implementation): status is the peer's
  ``GET /api/v2/system/status``; search is its ``GET /api/v2/models/search``, forwarding only
  ``search``, ``kind`` (when one), ``organisations``, ``states``, ``libraries`` and ``filters``
  (as Bailo does). Every request carries ``x-bailo-id: <our BAILO_FEDERATION_ID>``, and
  ``x-user: <the searching user>`` when ``BAILO_FEDERATION_ESCALATION`` is on. Bailo sends no
  credentials and relies on a client certificate or a proxy; a peer may also be given one of the
  remote instance's access tokens (``token``), sent as HTTP Basic.
- ``HuggingFaceHubPeer``: status looks up a known model (``extra.statusModelName``) and checks its
  id; search is ``GET <baseUrl>/api/models?search=...`` (text only, at least 5 characters, the
  first 100 models); any other filter is an error for that peer.

Callers get rows (Bailo's model summary shape, with ``peerId``) or a ``PeerError``, never a
``requests`` exception. Every request is bounded by the peer's ``timeout`` as a whole, not only
per socket read, so a peer that trickles its answer cannot hold a search longer than that.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any, Protocol

import requests
import urllib3

from core.federation.config import PeerConfig, PeerKind

# The most of a peer's answer that is read: a search answer of 100 summaries is well under this.
MAX_ANSWER_BYTES = 8 * 1024 * 1024
# A peer's results, at most (Bailo's Hugging Face connector takes the first 100).
MAX_ROWS = 100
# Hugging Face Hub searches shorter than this are not sent (Bailo's rule: no whole-hub listing).
HF_MIN_SEARCH = 5
# Ids and names that go into links to the peer: nothing that could leave its path.
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
SAFE_HF_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}(/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?")
MAX_TEXT = 2000


class PeerError(Exception):
    """A peer could not answer as asked; ``str()`` is fit for users, ``code`` an HTTP status
    (400: the search cannot be put to this peer, 502: it answered wrongly, 504: not in time)."""

    def __init__(self, message: str, code: int = 502) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class PeerQuery:
    """What is forwarded to a peer: Bailo forwards these filters and nothing else."""

    text: str = ""
    kinds: tuple[str, ...] = ()
    organisations: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    libraries: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()

    def key(self) -> str:
        return json.dumps(
            [self.text, self.kinds, self.organisations, self.states, self.libraries, self.filters]
        )


class PeerConnector(Protocol):
    config: PeerConfig

    def status(self) -> dict[str, Any]:
        """``{ping: "pong", federation?}``; raises ``PeerError`` when unreachable."""
        ...

    def search(self, query: PeerQuery, *, user: str) -> list[dict[str, Any]]:
        """Up to ``MAX_ROWS`` summaries, each with ``peerId``; raises ``PeerError``."""
        ...


def _get_json(
    config: PeerConfig,
    path: str,
    params: list[tuple[str, str]] | None = None,
    headers: dict[str, str | bytes] | None = None,
) -> Any:
    """GET ``baseUrl + path`` and read its JSON, within ``config.timeout`` in all."""
    deadline = time.monotonic() + config.timeout
    session = requests.Session()
    # Only the peer's own proxy: one taken from the environment could send this elsewhere.
    session.trust_env = False
    if config.proxy:
        session.proxies = {"http": config.proxy, "https": config.proxy}
    session.verify = config.ca or True
    if config.cert:
        session.cert = (config.cert, config.key)
    if config.access_key:
        session.auth = (config.access_key, config.secret_key)
    label = config.label
    try:
        with session.get(
            config.base_url + path,
            params=params,
            headers={"Accept": "application/json", **(headers or {})},
            timeout=(config.timeout, config.timeout),
            allow_redirects=False,
            stream=True,
        ) as response:
            status = response.status_code
            body = b""
            # read1 returns whatever has arrived, so the deadline is checked between pieces
            # (iter_content would wait for a whole chunk, however slowly it trickles in).
            while piece := response.raw.read1(65536, decode_content=True):
                body += piece
                if len(body) > MAX_ANSWER_BYTES:
                    raise PeerError(f"{label} sent an answer too large to read")
                if time.monotonic() > deadline:
                    raise requests.exceptions.ReadTimeout()
    except (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError):
        raise PeerError(f"{label} did not answer within {config.timeout:g} s", 504) from None
    except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError):
        raise PeerError(f"{label} could not be reached") from None
    finally:
        session.close()
    if status in (401, 403):
        raise PeerError(f"{label} refused our request ({status}): check the peer's credentials")
    if not 200 <= status < 300:
        raise PeerError(f"{label} answered with an error ({status})")
    try:
        return json.loads(body)
    except ValueError:
        raise PeerError(f"{label} did not answer with JSON") from None


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _texts(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [v[:100] for v in value if isinstance(v, str)][:50]


class BailoPeer:
    """Another Bailo instance, over its v2 API."""

    def __init__(self, config: PeerConfig, *, own_id: str, escalation: bool) -> None:
        self.config = config
        self.own_id = own_id
        self.escalation = escalation

    def _headers(self, user: str = "") -> dict[str, str | bytes]:
        headers: dict[str, str | bytes] = {"x-bailo-id": self.own_id}
        if user and self.escalation:
            # UTF-8 bytes: a header is Latin-1 text, and user names need not be.
            headers["x-user"] = user.encode("utf-8")
        return headers

    def status(self) -> dict[str, Any]:
        body = _get_json(self.config, "/api/v2/system/status", headers=self._headers())
        if not isinstance(body, dict) or body.get("ping") != "pong":
            raise PeerError(f"{self.config.label} did not answer as a Bailo instance")
        status: dict[str, Any] = {"ping": "pong"}
        federation = body.get("federation")
        if isinstance(federation, dict):
            status["federation"] = {
                k: _text(federation.get(k), 100) for k in ("state", "id") if k in federation
            }
        return status

    def search(self, query: PeerQuery, *, user: str) -> list[dict[str, Any]]:
        params: list[tuple[str, str]] = []
        if query.text:
            params.append(("search", query.text))
        # Bailo's kind is one value (a repeated one is a 400 there): several kinds (the Models
        # tab asks for models and mirrored models) are asked for as all, and picked out here.
        if len(query.kinds) == 1:
            params.append(("kind", query.kinds[0]))
        for name, values in (
            ("organisations", query.organisations),
            ("states", query.states),
            ("libraries", query.libraries),
            ("filters", query.filters),
        ):
            params.extend((name, v) for v in values)
        body = _get_json(
            self.config, "/api/v2/models/search", params=params, headers=self._headers(user)
        )
        models = body.get("models") if isinstance(body, dict) else None
        if not isinstance(models, list):
            raise PeerError(f"{self.config.label} did not answer with a list of models")
        rows = []
        for raw in models:
            if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
                continue
            if not SAFE_ID.fullmatch(raw["id"]):
                continue
            kind = _text(raw.get("kind"), 30) or "model"
            if query.kinds and kind not in query.kinds:
                continue
            rows.append(
                {
                    "id": raw["id"],
                    "name": _text(raw.get("name"), 200) or raw["id"],
                    "description": _text(raw.get("description")),
                    "tags": _texts(raw.get("tags")),
                    "kind": kind,
                    "organisation": _text(raw.get("organisation"), 200),
                    "state": _text(raw.get("state"), 200),
                    "createdAt": _text(raw.get("createdAt"), 40),
                    "updatedAt": _text(raw.get("updatedAt"), 40),
                    # The remote's people are its business: the shape keeps the key, empty.
                    "collaborators": [],
                    "peerId": self.config.id,
                }
            )
            if len(rows) == MAX_ROWS:
                break
        return rows


class HuggingFaceHubPeer:
    """The Hugging Face Hub (or a mirror of its API): models only, searched by text only."""

    def __init__(self, config: PeerConfig) -> None:
        self.config = config

    def status(self) -> dict[str, Any]:
        name = self.config.extra.get("statusModelName", "")
        if not name:
            # No known model configured: any answer to a one-model listing shows the API is up.
            body = _get_json(self.config, "/api/models", params=[("limit", "1")])
            if not isinstance(body, list):
                raise PeerError(f"{self.config.label} did not answer as the Hugging Face Hub")
            return {"ping": "pong"}
        body = _get_json(self.config, f"/api/models/{name}")
        expected = self.config.extra.get("statusModelId", "")
        if not isinstance(body, dict) or body.get("_id") != expected:
            raise PeerError(
                f"{self.config.label} answered, but not with the known model {name}'s id"
            )
        return {"ping": "pong"}

    def search(self, query: PeerQuery, *, user: str) -> list[dict[str, Any]]:
        if query.kinds and "model" not in query.kinds:
            raise PeerError(f"{self.config.label} has models only", 400)
        unsupported = [
            name
            for name, values in (
                ("organisation", query.organisations),
                ("state", query.states),
                ("library or tag", query.libraries),
                ("role", query.filters),
            )
            if values
        ]
        if unsupported:
            raise PeerError(
                f"{self.config.label} can only be searched by text, not by "
                + ", ".join(unsupported),
                400,
            )
        if len(query.text) < HF_MIN_SEARCH:
            return []
        params = [("search", query.text), ("limit", str(MAX_ROWS))]
        params += [
            ("expand", f)
            for f in ("author", "createdAt", "lastModified", "pipeline_tag", "private", "tags")
        ]
        body = _get_json(self.config, "/api/models", params=params)
        if not isinstance(body, list):
            raise PeerError(f"{self.config.label} did not answer with a list of models")
        rows = []
        for raw in body:
            if not isinstance(raw, dict) or raw.get("private") is True:
                continue
            name = raw.get("id") or raw.get("modelId")
            if not isinstance(name, str) or not SAFE_HF_NAME.fullmatch(name):
                continue
            author = _text(raw.get("author"), 200) or (name.split("/")[0] if "/" in name else "")
            rows.append(
                {
                    "id": _text(raw.get("_id"), 100) or name,
                    "name": name,
                    "description": _text(raw.get("pipeline_tag"), 200),
                    "tags": _texts(raw.get("tags")),
                    "kind": "model",
                    "organisation": author,
                    "state": "",
                    "createdAt": _text(raw.get("createdAt"), 40),
                    "updatedAt": _text(raw.get("lastModified"), 40),
                    "collaborators": [],
                    "peerId": self.config.id,
                }
            )
            if len(rows) == MAX_ROWS:
                break
        return rows


def peer_link(config: PeerConfig, row: dict[str, Any]) -> str:
    """Where a peer's result is seen on the peer: ``<baseUrl>/<kind>/<id>`` on a Bailo,
    ``<baseUrl>/<name>`` on the Hub (both checked to stay within the peer's paths)."""
    if config.kind == PeerKind.HUGGING_FACE_HUB:
        return f"{config.base_url}/{row['name']}"
    kind = row.get("kind") or "model"
    segment = kind if kind in {"model", "data-card"} else "model"
    return f"{config.base_url}/{segment}/{row['id']}"


def connector_for(config: PeerConfig, *, own_id: str, escalation: bool) -> PeerConnector:
    if config.kind == PeerKind.HUGGING_FACE_HUB:
        return HuggingFaceHubPeer(config)
    return BailoPeer(config, own_id=own_id, escalation=escalation)
