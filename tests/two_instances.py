"""A second, separate instance of the app for tests that need two (mirroring, federation).

``second_instance()`` starts, on this machine:

- its own PostgreSQL database, copied from the migrated template database the test processes'
  databases are copied from too (``tests/template_db.py``), dropped afterwards;
- its own uploads and exports buckets on the stack's SeaweedFS (removed afterwards);
- the app under gunicorn on a free 127.0.0.1 port, and, with ``worker=True``, a Celery worker
  for it. Both share the stack's Redis database under a key prefix of their own, so neither
  instance takes the other's tasks or cache entries.

It shares with the test process the stack's S3 server, registry (and its token key, so both
instances can issue registry tokens) and clamd. Calls go through ``Instance.api`` with a token
of a user made by ``Instance.make_user``. The test process itself is the first instance.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.db import connection

from tests.core.server_helpers import free_port, http_server
from tests.template_db import admin_connection, copy_of_migrated_template, database_url, manage

ROOT = Path(settings.BASE_DIR)


@dataclass
class Instance:
    url: str
    env: dict[str, str]
    database: str
    buckets: dict[str, str]
    tokens: dict[str, tuple[str, str]] = field(default_factory=dict)
    # What the ``setup`` code given to ``second_instance`` set as ``result``.
    setup: Any = None

    def manage(self, *args: str, timeout: float = 120) -> str:
        return manage(list(args), self.env, timeout=timeout)

    def python(self, code: str) -> Any:
        """Run ``code`` in the instance's Django (``manage.py shell``); it sets ``result``, which
        comes back JSON-decoded."""
        wrapped = code + "\nimport json as _j; print('@@' + _j.dumps(result, default=str))"
        out = self.manage("shell", "-c", wrapped)
        return json.loads(out.rsplit("@@", 1)[1])

    def make_user(self, username: str, *, actions: list[str] | None = None) -> tuple[str, str]:
        """A user on this instance and a token of theirs (all non-admin actions by default)."""
        code = f"""
from django.contrib.auth.models import User
from access.models import Token
from access.tokens.credentials import hash_secret, new_access_key, new_secret
from models_app.policy import ADMIN_TOKEN_ACTIONS, TokenAction
user, _ = User.objects.get_or_create(
    username={username!r}, defaults={{"email": "{username}@example.org"}}
)
secret = new_secret()
actions = {actions!r} or [a.value for a in TokenAction if a not in ADMIN_TOKEN_ACTIONS]
token = Token.objects.create(
    user=user,
    access_key=new_access_key(),
    secret_hash=hash_secret(secret),
    description="test",
    actions=actions,
)
result = [token.access_key, secret]
"""
        access_key, secret = self.python(code)
        self.tokens[username] = (access_key, secret)
        return access_key, secret

    def api(self, method: str, path: str, *, user: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 60)
        return requests.request(
            method, f"{self.url}/api/v2{path}", auth=self.tokens[user], **kwargs
        )


def _admin_sql(statement: str) -> None:
    with admin_connection() as admin:
        admin.execute(statement)


def _s3() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=settings.S3_ENDPOINT,
        aws_access_key_id=settings.S3_ACCESS_KEY,
        aws_secret_access_key=settings.S3_SECRET_KEY,
        region_name=settings.S3_REGION,
        config=Config(s3={"addressing_style": "path"}),
    )


def _empty_and_remove(client: Any, bucket: str) -> None:
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
    client.delete_bucket(Bucket=bucket)


@contextmanager
def second_instance(
    *,
    name: str = "b",
    extra_env: dict[str, str] | None = None,
    worker: bool = True,
    setup: str | None = None,
) -> Iterator[Instance]:
    """Start a second instance (see the module's docstring); stop and remove it afterwards.

    ``setup`` is Python run once in the instance's own Django before it serves (users, entries);
    what it sets as ``result`` is kept as ``Instance.setup``."""
    if connection.vendor != "postgresql" or not settings.S3_ENDPOINT:
        raise RuntimeError("a second instance needs the stack (PostgreSQL and S3)")
    suffix = f"{name}{secrets.token_hex(3)}"
    database = f"{connection.settings_dict['NAME']}_{suffix}"[:60]
    buckets = {"uploads": f"uploads-{suffix}", "exports": f"exports-{suffix}"}
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(database),
        "S3_BUCKET_UPLOADS": buckets["uploads"],
        "S3_BUCKET_EXPORTS": buckets["exports"],
        "REDIS_KEY_PREFIX": f"instance-{suffix}",
        "BAILO_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DEBUG": "1",
        **(extra_env or {}),
    }
    env.pop("PYTEST_XDIST_WORKER", None)
    copy_of_migrated_template(database, env)
    client = _s3()
    for bucket in buckets.values():
        client.create_bucket(Bucket=bucket)
    instance = Instance(f"http://127.0.0.1:{port}", env, database, buckets)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        if setup is not None:
            instance.setup = instance.python(setup)
        if worker:
            processes.append(
                subprocess.Popen(
                    [
                        str(Path(sys.executable).with_name("celery")),
                        "-A",
                        "bailo_site",
                        "worker",
                        "-Q",
                        "default,mirroring,webhooks,scans",
                        "--pool=solo",
                        "--without-gossip",
                        "--without-mingle",
                        "-l",
                        "WARNING",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        with http_server("gunicorn", replace_env=env, port=port):
            yield instance
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        _admin_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{database}' AND pid <> pg_backend_pid()"
        )
        _admin_sql(f'DROP DATABASE IF EXISTS "{database}"')
        for bucket in buckets.values():
            # Cleanup: a bucket that cannot be removed must not hide the test's own outcome.
            with suppress(Exception):
                _empty_and_remove(client, bucket)
