"""Minting and checking personal access tokens (keys ``BAC_`` + 8, secrets ``BSK_`` + 32)."""

from __future__ import annotations

import hashlib
import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from django.core.cache import cache
from django.utils import timezone

from access.models import Token

_hasher = PasswordHasher()
VERIFIED_CACHE_SECONDS = 60
_KEY_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits
# Verifying against a fixed hash when the key is unknown keeps the timing of "no such key" and
# "wrong secret" alike.
_DUMMY_HASH = _hasher.hash("BSK_" + "0" * 32)


def new_access_key() -> str:
    return "BAC_" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(8))


def new_secret() -> str:
    return "BSK_" + "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(32))


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def _verified_key(access_key: str, secret: str) -> str:
    digest = hashlib.sha256(f"{access_key}:{secret}".encode()).hexdigest()
    return f"token-verified:{digest}"


def token_authenticate(*, access_key: str, secret: str) -> Token | None:
    """The usable token these credentials name, or None.

    Argon2 is deliberately slow (and memory-hungry), so a successful check is remembered for a
    minute, keyed by a hash of the credentials. Revocation and expiry stay immediate: the token
    row is read and checked on every request.
    """
    token = Token.objects.select_related("user").filter(access_key=access_key).first()
    cache_key = _verified_key(access_key, secret)
    if token is None or cache.get(cache_key) != token.secret_hash:
        try:
            _hasher.verify(token.secret_hash if token else _DUMMY_HASH, secret)
        except (VerificationError, InvalidHashError):
            return None
    if token is None or not token.is_usable() or not token.user.is_active:
        return None
    cache.set(cache_key, token.secret_hash, VERIFIED_CACHE_SECONDS)
    Token.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token


def basic_credentials_check(access_key: str, secret: str) -> Token | None:
    """``core.authentication.CREDENTIAL_CHECKS`` entry: HTTP Basic is a token's key and secret."""
    return token_authenticate(access_key=access_key, secret=secret)
