"""Minting the tokens the Docker registry trusts.

The registry (Docker Distribution) delegates authentication to us. It trusts JWTs signed with the
key in ``REGISTRY_TOKEN_KEY_FILE`` whose certificate is its ``rootcertbundle``. Users get such
tokens from ``/api/v1/registry_auth`` (``releases.images.registry_auth``, which decides what to
grant); our own calls to the registry (``client``) mint an internal one here, without HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings

from core.ports.registry.naming import RegistryNotConfigured, is_configured

# Subject of the tokens we mint for our own calls to the registry.
INTERNAL_SUBJECT = "bailo-internal"


def libtrust_kid(public_key: Any) -> str:
    """The key id the registry expects in ``kid``: docker/libtrust's format.

    The first 240 bits of the SHA-256 of the DER public key, base32, in twelve ``:``-joined groups
    of four. Any other spelling of a key id is refused with "invalid token".
    """
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    der = public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(b32[i : i + 4] for i in range(0, len(b32), 4))


@dataclass(frozen=True)
class SigningKey:
    # Loaded once: parsing and checking an RSA key from PEM costs ~30 ms, signing with a loaded
    # key ~0.3 ms, and every docker login and pull mints a token.
    private_key: Any
    certificate_pem: bytes
    kid: str
    x5c: str


@cache
def _signing_key(key_file: str, cert_file: str) -> SigningKey:
    # jwt and cryptography are imported where a token is made, not with this module: every web
    # worker imports the registry port, few ever mint a token, and they cost ~8 MiB a worker.
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, load_pem_private_key

    private_pem = Path(key_file).read_bytes()
    cert_pem = Path(cert_file).read_bytes()
    cert = x509.load_pem_x509_certificate(cert_pem)
    return SigningKey(
        private_key=load_pem_private_key(private_pem, password=None),
        certificate_pem=cert_pem,
        kid=libtrust_kid(cert.public_key()),
        x5c=base64.b64encode(cert.public_bytes(Encoding.DER)).decode(),
    )


def signing_key() -> SigningKey:
    if not is_configured():
        raise RegistryNotConfigured("The Docker registry is not configured on this instance")
    return _signing_key(settings.REGISTRY_TOKEN_KEY_FILE, settings.REGISTRY_TOKEN_CERT_FILE)


def token_lifetime_seconds() -> int:
    return max(60, int(settings.REGISTRY_TOKEN_LIFETIME.total_seconds()))


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int
    issued_at: datetime


def issue_token(*, subject: str, access: list[dict[str, Any]]) -> str:
    """An RS256 JWT granting ``access`` (``[{type, name, actions}]``) to ``subject``."""
    return issue(subject=subject, access=access).token


def issue(*, subject: str, access: list[dict[str, Any]]) -> IssuedToken:
    key = signing_key()
    now = datetime.now(UTC).replace(microsecond=0)
    lifetime = token_lifetime_seconds()
    stamp = int(now.timestamp())
    claims = {
        "iss": settings.REGISTRY_ISSUER,
        "sub": subject,
        # The registry compares the audience with its service as one string: a list is refused.
        "aud": settings.REGISTRY_SERVICE,
        "iat": stamp,
        # A little slack for clocks that disagree by a few seconds.
        "nbf": stamp - 10,
        "exp": stamp + lifetime,
        "jti": uuid.uuid4().hex,
        "access": access,
    }
    import jwt

    token = jwt.encode(
        claims,
        key.private_key,
        algorithm="RS256",
        headers={"typ": "JWT", "kid": key.kid, "x5c": [key.x5c]},
    )
    return IssuedToken(token=token, expires_in=lifetime, issued_at=now)


def _scope_access(scope: str) -> list[dict[str, Any]]:
    """``type:name:actions`` as a token's access list (a name may hold ``/``, never the last
    ``:``)."""
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    if not kind or not name:
        return []
    return [{"type": kind, "name": name, "actions": [a for a in actions.split(",") if a]}]


def internal_token(*scopes: str) -> str:
    """A token for our own calls, granting each ``type:name:actions`` scope. Never handed to
    users."""
    access = [grant for scope in scopes for grant in _scope_access(scope)]
    return issue_token(subject=INTERNAL_SUBJECT, access=access)


def admin_token(scope: str) -> str:
    """An internal token for one scope, e.g. ``registry:catalog:*``."""
    return internal_token(scope)
