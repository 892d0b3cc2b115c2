"""The signing port: signatures over exported tarballs, and their verification on import.

A signature is ECDSA over the SHA-256 digest of the whole object (the compressed tarball), given
as the two integers ``(r, s)``; exports store them as S3 object metadata ``sig-r`` and ``sig-s``
in decimal, as Bailo does. Two signers share one interface:

- ``LocalKeySigner``: a PEM private key file (ECDSA P-256, the curve of the KMS keys Bailo uses),
  through the ``cryptography`` package;
- ``KmsSigner``: an AWS KMS asymmetric key, through boto3 (``MessageType=DIGEST``). Tested only
  against a stand-in KMS on 127.0.0.1 (tests/mirroring/test_kms_signer.py), never real AWS.

``verify`` checks a digest against the configured public keys (PEM files). Nothing else in the
project imports ``cryptography``'s ECDSA primitives or the KMS client.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# The S3 metadata keys (``x-amz-meta-sig-r`` / ``-s`` on the wire).
META_R = "sig-r"
META_S = "sig-s"


class SigningUnavailable(Exception):
    """The signer could not sign (a missing key file, KMS refusing or unreachable)."""


@dataclass(frozen=True)
class Signature:
    r: int
    s: int

    def as_metadata(self) -> dict[str, str]:
        return {META_R: str(self.r), META_S: str(self.s)}

    @classmethod
    def from_metadata(cls, metadata: dict[str, str]) -> Signature | None:
        """The signature in an object's metadata, or None when it has none (or a garbled one)."""
        lowered = {k.lower(): v for k, v in metadata.items()}
        raw_r, raw_s = lowered.get(META_R), lowered.get(META_S)
        if not raw_r or not raw_s:
            return None
        try:
            return cls(int(raw_r), int(raw_s))
        except ValueError:
            return None


class Signer(Protocol):
    def sign_digest(self, digest: bytes) -> Signature:
        """Sign a 32-byte SHA-256 digest."""
        ...


class LocalKeySigner:
    """Signs with a PEM ECDSA private key held in a file."""

    def __init__(self, path: str) -> None:
        try:
            key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise ImproperlyConfigured(
                f"MIRROR_SIGNING_KEY_FILE: cannot read {path}: {exc}"
            ) from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ImproperlyConfigured("MIRROR_SIGNING_KEY_FILE must hold an ECDSA private key")
        self._key = key

    def sign_digest(self, digest: bytes) -> Signature:
        der = self._key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))
        r, s = decode_dss_signature(der)
        return Signature(r, s)


class KmsSigner:
    """Signs with an AWS KMS asymmetric ECC key (``ECDSA_SHA_256``)."""

    def __init__(self, key_id: str, region: str, endpoint: str = "") -> None:
        import boto3

        self.key_id = key_id
        self._client: Any = boto3.client("kms", region_name=region, endpoint_url=endpoint or None)

    def sign_digest(self, digest: bytes) -> Signature:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._client.sign(
                KeyId=self.key_id,
                Message=digest,
                MessageType="DIGEST",
                SigningAlgorithm="ECDSA_SHA_256",
            )
        except (BotoCoreError, ClientError) as exc:
            raise SigningUnavailable(f"KMS did not sign: {exc}") from exc
        r, s = decode_dss_signature(answer["Signature"])
        return Signature(r, s)


def signer() -> Signer | None:
    """The configured signer, or None when exports go unsigned."""
    if settings.MIRROR_KMS_KEY_ID:
        return KmsSigner(
            settings.MIRROR_KMS_KEY_ID, settings.MIRROR_KMS_REGION, settings.MIRROR_KMS_ENDPOINT
        )
    if settings.MIRROR_SIGNING_KEY_FILE:
        return _local_signer(settings.MIRROR_SIGNING_KEY_FILE)
    return None


@cache
def _local_signer(path: str) -> LocalKeySigner:
    return LocalKeySigner(path)


@cache
def _public_key(path: str) -> ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise ImproperlyConfigured(f"MIRROR_VERIFY_PUBLIC_KEYS: cannot read {path}: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ImproperlyConfigured(f"MIRROR_VERIFY_PUBLIC_KEYS: {path} is not an ECDSA public key")
    return key


def verify(digest: bytes, signature: Signature, key_files: list[str] | None = None) -> bool:
    """Whether one of the public keys (default: the configured ones) signed ``digest``."""
    der = encode_dss_signature(signature.r, signature.s)
    for path in settings.MIRROR_VERIFY_PUBLIC_KEYS if key_files is None else key_files:
        try:
            _public_key(path).verify(der, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
        except InvalidSignature:
            continue
        return True
    return False


def generate_key_pair(private_path: Path, public_path: Path) -> None:
    """Write a new P-256 key pair as PEM files (for tests and for administrators' first setup)."""
    key = ec.generate_private_key(ec.SECP256R1())
    private_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
