"""The provider's test-only switches, kept in memory (the provider is one process)."""

from __future__ import annotations

import threading

BAD_ID_TOKENS = {"wrong-audience", "wrong-issuer", "expired", "old-nonce", "foreign-key"}
TOKEN_ENDPOINT_FAULTS = {"error", "slow"}

_lock = threading.Lock()
_next_bad: list[str] = []
_nonces: list[str] = []
_claims: dict[str, dict[str, object]] = {}
_token_fault: list[str] = []


def make_next_id_token(kind: str) -> None:
    with _lock:
        _next_bad[:] = [kind]


def take_next_id_token() -> str:
    """The kind of bad token to issue now (once), or ``""`` for a good one."""
    with _lock:
        return _next_bad.pop() if _next_bad else ""


def remember_nonce(nonce: str) -> str:
    """Record the nonce of a token being issued and return the one issued before it."""
    with _lock:
        previous = _nonces[-1] if _nonces else ""
        _nonces.append(nonce)
        return previous


def set_claims(username: str, claims: dict[str, object]) -> None:
    """Claims sent for ``username`` in place of the ones made from its account (``{}``: none)."""
    with _lock:
        _claims[username] = dict(claims)


def claims_for(username: str) -> dict[str, object]:
    with _lock:
        return dict(_claims.get(username, {}))


def break_next_token_request(fault: str) -> None:
    with _lock:
        _token_fault[:] = [fault]


def take_token_fault() -> str:
    """How the token endpoint fails now (once), or ``""``."""
    with _lock:
        return _token_fault.pop() if _token_fault else ""
