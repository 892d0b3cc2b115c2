"""The federation settings, checked once at start-up so a mistake stops the process with a
message naming the peer and the key, not a 500 at the first search.

``BAILO_FEDERATION_PEERS`` is a JSON object keyed by peer id, Bailo's ``federation.peers`` with
two additions of ours (``timeout`` and ``token``)::

    {"west": {"state": "enabled", "baseUrl": "https://bailo.west.example", "label": "West",
              "kind": "bailo", "cache": {"query": 30}, "timeout": 5,
              "token": {"accessKey": "BAC_...", "secretKey": "BSK_..."},
              "allowedSystemUserIds": ["west-system"]},
     "hf": {"state": "enabled", "baseUrl": "https://huggingface.co", "label": "Hugging Face",
            "kind": "huggingfacehub",
            "extra": {"statusModelName": "openai-community/gpt2", "statusModelId": "621f..."}}}

This module imports nothing of Django's but its exception, so the settings can use it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.core.exceptions import ImproperlyConfigured


class FederationState(StrEnum):
    """Bailo's three states. ``readOnly`` and ``enabled`` behave alike (Bailo only advertises the
    difference in ``/system/status``); ``disabled`` loads no peers at all."""

    DISABLED = "disabled"
    READ_ONLY = "readOnly"
    ENABLED = "enabled"


class PeerKind(StrEnum):
    BAILO = "bailo"
    HUGGING_FACE_HUB = "huggingfacehub"


PEER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
DEFAULT_TIMEOUT = 5.0
MAX_TIMEOUT = 60.0
DEFAULT_QUERY_CACHE = 30
_URL = re.compile(r"(?i)https?://[^/\s?#]+(/[^\s?#]*)?")
_KEYS = {
    "state", "baseUrl", "label", "kind", "cache", "extra", "allowedSystemUserIds", "timeout",
    "token", "proxy", "httpConfig",
}  # fmt: skip
_HTTP_CONFIG_KEYS = {"ca", "cert", "key"}


@dataclass(frozen=True)
class PeerConfig:
    """One peer. ``token``, ``proxy``, ``http_config`` and ``allowed_system_user_ids`` are
    secrets or say how our network is laid out: ``public()`` leaves them out."""

    id: str
    state: FederationState
    base_url: str
    label: str
    kind: PeerKind
    query_cache_seconds: int = DEFAULT_QUERY_CACHE
    timeout: float = DEFAULT_TIMEOUT
    extra: dict[str, str] = field(default_factory=dict)
    allowed_system_user_ids: tuple[str, ...] = ()
    access_key: str = ""
    secret_key: str = ""
    proxy: str = ""
    ca: str = ""
    cert: str = ""
    key: str = ""

    @property
    def disabled(self) -> bool:
        return self.state == FederationState.DISABLED

    def public(self) -> dict[str, Any]:
        """What ``GET /system/peers`` shows of this peer's configuration."""
        shown: dict[str, Any] = {
            "state": self.state.value,
            "baseUrl": self.base_url,
            "label": self.label,
            "kind": self.kind.value,
            "cache": {"query": self.query_cache_seconds},
            "timeout": self.timeout,
        }
        if self.extra:
            shown["extra"] = dict(self.extra)
        return shown


def parse_state(raw: str) -> FederationState:
    try:
        return FederationState(raw)
    except ValueError:
        raise ImproperlyConfigured(
            f"BAILO_FEDERATION_STATE must be disabled, readOnly or enabled, got {raw!r}"
        ) from None


def parse_peers(raw: str | dict[str, Any]) -> dict[str, PeerConfig]:
    """``BAILO_FEDERATION_PEERS`` (JSON text, or the object already read) as checked peers."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            raise ImproperlyConfigured(f"BAILO_FEDERATION_PEERS is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ImproperlyConfigured("BAILO_FEDERATION_PEERS must be a JSON object keyed by peer id")
    return {peer_id: _peer(peer_id, value) for peer_id, value in raw.items()}


def _peer(peer_id: str, raw: Any) -> PeerConfig:
    where = f"BAILO_FEDERATION_PEERS[{peer_id!r}]"

    def fail(message: str) -> ImproperlyConfigured:
        return ImproperlyConfigured(f"{where}: {message}")

    if not PEER_ID.fullmatch(peer_id):
        raise fail("a peer id is 1 to 64 letters, digits, '.', '_' or '-'")
    if not isinstance(raw, dict):
        raise fail("must be an object")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise fail(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})")
    missing = [k for k in ("state", "baseUrl", "kind") if not raw.get(k)]
    if missing:
        raise fail(f"missing {', '.join(missing)}")
    try:
        state = FederationState(raw["state"])
    except ValueError:
        raise fail("state must be disabled, readOnly or enabled") from None
    try:
        kind = PeerKind(raw["kind"])
    except ValueError:
        raise fail(f"kind must be one of {', '.join(PeerKind)}, got {raw['kind']!r}") from None
    base_url = raw["baseUrl"]
    if not isinstance(base_url, str) or not _URL.fullmatch(base_url):
        raise fail("baseUrl must be an http:// or https:// URL without a query")
    label = raw.get("label", peer_id)
    if not isinstance(label, str) or not label.strip():
        raise fail("label must be a non-empty string")
    cache = raw.get("cache", {})
    if not isinstance(cache, dict) or set(cache) - {"query"}:
        raise fail('cache must be {"query": <seconds>}')
    query_cache = cache.get("query", DEFAULT_QUERY_CACHE)
    if isinstance(query_cache, bool) or not isinstance(query_cache, int) or query_cache < 0:
        raise fail("cache.query must be a whole number of seconds (0: no cache)")
    timeout = raw.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise fail("timeout must be a number of seconds")
    if not 0 < timeout <= MAX_TIMEOUT:
        raise fail(f"timeout must be more than 0 and at most {MAX_TIMEOUT:g} seconds")
    extra = raw.get("extra", {})
    if not isinstance(extra, dict) or not all(isinstance(v, str) for v in extra.values()):
        raise fail("extra must be an object of strings")
    if kind == PeerKind.HUGGING_FACE_HUB and bool(extra.get("statusModelName")) != bool(
        extra.get("statusModelId")
    ):
        raise fail("extra needs both statusModelName and statusModelId, or neither")
    allowed = raw.get("allowedSystemUserIds", [])
    if not isinstance(allowed, list) or not all(isinstance(u, str) and u for u in allowed):
        raise fail("allowedSystemUserIds must be a list of user names")
    token = raw.get("token", {})
    token_keys = {"accessKey", "secretKey"} if token else set()
    if not isinstance(token, dict) or set(token) != token_keys:
        raise fail('token must be {"accessKey": ..., "secretKey": ...}')
    if token and not all(isinstance(v, str) and v for v in token.values()):
        raise fail("token.accessKey and token.secretKey must be non-empty strings")
    if token and kind != PeerKind.BAILO:
        raise fail("token is only for peers of kind bailo")
    proxy = raw.get("proxy", "")
    if proxy and (not isinstance(proxy, str) or not _URL.fullmatch(proxy)):
        raise fail("proxy must be an http:// or https:// URL")
    http_config = raw.get("httpConfig", {})
    if (
        not isinstance(http_config, dict)
        or set(http_config) - _HTTP_CONFIG_KEYS
        or not all(isinstance(v, str) for v in http_config.values())
    ):
        raise fail('httpConfig may only hold "ca", "cert" and "key" (paths of PEM files)')
    if bool(http_config.get("cert")) != bool(http_config.get("key")):
        raise fail("httpConfig needs both cert and key for a client certificate, or neither")
    return PeerConfig(
        id=peer_id,
        state=state,
        base_url=base_url.rstrip("/"),
        label=label.strip(),
        kind=kind,
        query_cache_seconds=query_cache,
        timeout=float(timeout),
        extra=dict(extra),
        allowed_system_user_ids=tuple(allowed),
        access_key=token.get("accessKey", ""),
        secret_key=token.get("secretKey", ""),
        proxy=proxy,
        ca=http_config.get("ca", ""),
        cert=http_config.get("cert", ""),
        key=http_config.get("key", ""),
    )
