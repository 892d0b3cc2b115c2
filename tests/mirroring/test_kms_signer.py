"""The AWS KMS signer against a small KMS stand-in on 127.0.0.1 (``MIRROR_KMS_ENDPOINT``): the
request boto3 sends (a digest, ``ECDSA_SHA_256``) and the signature it turns back into ``(r, s)``.
Real KMS cannot be reached from here; this checks our side of the call."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from core.ports.signing import KmsSigner, SigningUnavailable, signer, verify
from tests.stub_http import close, serve


@pytest.fixture
def kms(signing_keys: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with open(signing_keys[0], "rb") as handle:
        key = serialization.load_pem_private_key(handle.read(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    seen: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen["target"] = self.headers.get("X-Amz-Target")
            seen["body"] = body
            if body.get("KeyId") != "alias/bailo-export":
                answer = {"__type": "NotFoundException", "message": "no such key"}
                self.send_response(400)
            else:
                digest = base64.b64decode(body["Message"])
                der = key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))
                answer = {
                    "KeyId": body["KeyId"],
                    "Signature": base64.b64encode(der).decode(),
                    "SigningAlgorithm": body["SigningAlgorithm"],
                }
                self.send_response(200)
            raw = json.dumps(answer).encode()
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: Any) -> None:
            pass

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    server = serve(Handler)
    seen["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield seen
    finally:
        close(server)


def test_kms_signs_the_digest_and_the_signature_verifies(
    kms: dict[str, Any], signing_keys: tuple[str, str]
) -> None:
    digest = hashlib.sha256(b"tarball").digest()
    signature = KmsSigner("alias/bailo-export", "eu-west-2", kms["url"]).sign_digest(digest)
    assert kms["target"] == "TrentService.Sign"
    assert kms["body"]["MessageType"] == "DIGEST"
    assert kms["body"]["SigningAlgorithm"] == "ECDSA_SHA_256"
    assert base64.b64decode(kms["body"]["Message"]) == digest
    assert verify(digest, signature, [signing_keys[1]])


def test_kms_refusing_is_a_signing_failure(kms: dict[str, Any]) -> None:
    with pytest.raises(SigningUnavailable):
        KmsSigner("alias/unknown", "eu-west-2", kms["url"]).sign_digest(b"\0" * 32)


def test_a_kms_key_id_takes_precedence_over_a_key_file(
    kms: dict[str, Any], settings: Any, signing_keys: tuple[str, str]
) -> None:
    settings.MIRROR_SIGNING_KEY_FILE = signing_keys[0]
    settings.MIRROR_KMS_KEY_ID = "alias/bailo-export"
    settings.MIRROR_KMS_ENDPOINT = kms["url"]
    assert isinstance(signer(), KmsSigner)
    settings.MIRROR_KMS_KEY_ID = ""
    assert not isinstance(signer(), KmsSigner) and signer() is not None
