"""Smoke-check the components started by ``scripts/stack.sh up``, using only the values in .env.

Usage: .venv/bin/python scripts/stack_smoke.py   (exit 0 when every check passes)

Checks: PostgreSQL query, Redis PING, S3 put/get/delete in every bucket, the registry's /v2/
answers 401 with a Bearer challenge whose realm is $BAILO_PUBLIC_URL/api/v1/registry_auth,
clamd finds EICAR (TCP and unix socket) and passes a clean stream.
"""

from __future__ import annotations

import importlib
import io
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def read_env() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in (ROOT / ".env").read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def check_pg(env: dict[str, str]) -> str:
    import psycopg

    with psycopg.connect(env["DATABASE_URL"], connect_timeout=5) as conn:
        row = conn.execute("SELECT current_database(), version()").fetchone()
    assert row is not None and row[0] == "bailo", row
    return f"{row[0]} on {row[1].split(' on ')[0]}"


def check_redis(env: dict[str, str]) -> str:
    import redis

    client = redis.Redis.from_url(env["REDIS_URL"], socket_timeout=5)
    assert client.ping() is True
    return "PONG"


def check_s3(env: dict[str, str]) -> str:
    import boto3
    from botocore.config import Config

    s3 = boto3.client(
        "s3",
        endpoint_url=env["S3_ENDPOINT"],
        region_name=env["S3_REGION"],
        aws_access_key_id=env["S3_ACCESS_KEY"],
        aws_secret_access_key=env["S3_SECRET_KEY"],
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    payload = os.urandom(1024 * 1024)
    for key in ("S3_BUCKET_UPLOADS", "S3_BUCKET_REGISTRY", "S3_BUCKET_EXPORTS"):
        bucket = env[key]
        s3.put_object(Bucket=bucket, Key="stack-smoke/object.bin", Body=payload)
        body = s3.get_object(Bucket=bucket, Key="stack-smoke/object.bin")["Body"].read()
        assert body == payload, f"{bucket}: read back differs"
        s3.delete_object(Bucket=bucket, Key="stack-smoke/object.bin")
    return "put/get/delete 1 MiB in uploads, registry, exports"


def check_registry(env: dict[str, str]) -> str:
    public = os.environ.get("BAILO_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
    try:
        urllib.request.urlopen(f"{env['REGISTRY_URL']}/v2/", timeout=5)  # noqa: S310
    except urllib.error.HTTPError as exc:
        status, challenge = exc.code, exc.headers.get("WWW-Authenticate", "")
    else:
        raise AssertionError("/v2/ answered 200: token auth is not configured")
    expected = f'Bearer realm="{public}/api/v1/registry_auth",service="{env["REGISTRY_SERVICE"]}"'
    assert status == 401 and challenge == expected, (status, challenge, expected)
    return f"401 {challenge}"


def check_clamd(env: dict[str, str]) -> str:
    clamd: Any = importlib.import_module("clamd")  # untyped package

    tcp = clamd.ClamdNetworkSocket(env["CLAMD_HOST"], int(env["CLAMD_PORT"]))
    found = tcp.instream(io.BytesIO(clamd.EICAR))["stream"]
    assert found[0] == "FOUND", found
    clean = tcp.instream(io.BytesIO(b"nothing to see here"))["stream"]
    assert clean == ("OK", None), clean
    sock = ROOT / "var/stack/clamd/clamd.sock"
    unix = clamd.ClamdUnixSocket(str(sock)).instream(io.BytesIO(clamd.EICAR))["stream"]
    assert unix[0] == "FOUND", unix
    return f"EICAR -> {found[1]}; clean -> OK; unix socket ok"


def main() -> int:
    env = read_env()
    checks: list[tuple[str, Callable[[dict[str, str]], str]]] = [
        ("postgres", check_pg),
        ("redis", check_redis),
        ("s3", check_s3),
        ("registry", check_registry),
        ("clamd", check_clamd),
    ]
    failed = 0
    for name, check in checks:
        start = time.monotonic()
        try:
            detail = check(env)
        except Exception as exc:  # report every failure, keep going
            failed += 1
            print(f"FAIL {name:9} {type(exc).__name__}: {exc}")
        else:
            print(f"ok   {name:9} {time.monotonic() - start:5.2f}s  {detail}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
