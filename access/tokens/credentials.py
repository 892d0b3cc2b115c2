"""Minting and checking personal access tokens (keys ``BAC_`` + 8, secrets ``BSK_`` + 32).

How a secret is stored (``Token.hash_method``):

- ``hmac-sha256`` (every token minted now): HMAC-SHA256 of the secret under a server key that is
  not in the database. A secret is 32 characters drawn from 62 by ``secrets`` (about 190 bits),
  so no hash, slow or fast, can be searched for it; a slow password hash buys nothing here and
  cost each request a quarter of a CPU second and 64 MiB. What the stored value must give is
  that a copy of the database yields no usable token, which a keyed hash gives twice over (the
  secret cannot be recovered, and without the key a candidate cannot even be tested), and the
  comparison is constant-time (``hmac.compare_digest``).
- ``argon2`` (tokens minted before): argon2id, still verified; on its next successful use such a
  token is rehashed to ``hmac-sha256`` in the same UPDATE that records ``last_used_at``.

The key is ``TOKEN_HASH_KEY`` or, when that is empty, ``SECRET_KEY``, passed through a labelled
HMAC so the value used for tokens is never the one used for sessions or signing.
``TOKEN_HASH_KEY_FALLBACKS`` keeps earlier keys verifying while tokens move to the current one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from django.conf import settings
from django.utils import timezone

from access.models import Token, TokenHashMethod

# Only for tokens minted before hmac-sha256: verified, never created.
_hasher = PasswordHasher()
_KEY_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits
_KEY_LABEL = b"bailo access token secret hash v1"
# Compared against when the access key is unknown, so "no such key" and "wrong secret" cost the
# same: one HMAC per configured key and one comparison each.
_DUMMY_DIGEST = "0" * 64


def new_access_key() -> str:
    return "BAC_" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(8))


def new_secret() -> str:
    return "BSK_" + "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(32))


def _hash_keys() -> list[bytes]:
    """The HMAC keys, the current one first. Read on every call (microseconds), so a settings
    change never leaves a stale key behind."""
    configured = [
        settings.TOKEN_HASH_KEY or settings.SECRET_KEY,
        *settings.TOKEN_HASH_KEY_FALLBACKS,
    ]
    keys = [hmac.new(value.encode(), _KEY_LABEL, hashlib.sha256).digest() for value in configured]
    return list(dict.fromkeys(keys))


def _digest(key: bytes, secret: str) -> str:
    return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


def hash_secret(secret: str) -> str:
    """The stored form of a new secret (``hash_method`` ``hmac-sha256``)."""
    return _digest(_hash_keys()[0], secret)


def secret_matches(method: str, stored: str, secret: str) -> tuple[bool, bool]:
    """Whether ``secret`` is the one ``stored`` was made from, and whether ``stored`` should be
    replaced by ``hash_secret(secret)`` (an older method or key). An unknown method matches
    nothing."""
    if method == TokenHashMethod.HMAC_SHA256:
        # Every key is tried and compared, whichever matches, so the time does not tell which.
        matches = [hmac.compare_digest(_digest(key, secret), stored) for key in _hash_keys()]
        return any(matches), any(matches) and not matches[0]
    if method == TokenHashMethod.ARGON2:
        try:
            _hasher.verify(stored, secret)
        except (VerificationError, InvalidHashError):
            return False, False
        return True, True
    return False, False


def token_authenticate(*, access_key: str, secret: str) -> Token | None:
    """The usable token these credentials name, or None.

    The token row is read and checked on every request, so revocation and expiry are immediate.
    One UPDATE records the use (and, for a token stored the old way, its new hash).
    """
    token = Token.objects.select_related("user").filter(access_key=access_key).first()
    if token is None:
        secret_matches(TokenHashMethod.HMAC_SHA256, _DUMMY_DIGEST, secret)
        return None
    matched, rehash = secret_matches(token.hash_method, token.secret_hash, secret)
    if not matched or not token.is_usable() or not token.user.is_active:
        return None
    changes: dict[str, object] = {"last_used_at": timezone.now()}
    if rehash:
        changes |= {"secret_hash": hash_secret(secret), "hash_method": TokenHashMethod.HMAC_SHA256}
    Token.objects.filter(pk=token.pk).update(**changes)
    for field, value in changes.items():
        setattr(token, field, value)
    return token


def basic_credentials_check(access_key: str, secret: str) -> Token | None:
    """``core.authentication.CREDENTIAL_CHECKS`` entry: HTTP Basic is a token's key and secret."""
    return token_authenticate(access_key=access_key, secret=secret)
