"""A second instance of the app for federation tests: its own PostgreSQL database (migrated
from nothing), its own Redis key prefix, its own environment, served by Django's runserver on a
free 127.0.0.1 port (tests/core/server_helpers.py).

``setup`` is Python run once in the instance's own ``manage.py shell`` before it serves, to
create its users and entries; whatever it prints as its last line (JSON) is handed back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from django.db import connection

from tests.core.server_helpers import ROOT, http_server

MIGRATE_TIMEOUT = 600


@dataclass(frozen=True)
class Instance:
    url: str
    setup: Any


def _admin_connection() -> psycopg.Connection[Any]:
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"],
        port=int(db["PORT"] or 5432),
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )


def _drop(name: str) -> None:
    with _admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=MIGRATE_TIMEOUT
    )
    if done.returncode != 0:
        raise RuntimeError(f"{command[2:4]} failed on the second instance: {done.stderr[-3000:]}")
    return done.stdout


@contextmanager
def second_instance(*, name: str, env: dict[str, str], setup: str) -> Iterator[Instance]:
    """Serve a fresh instance named ``name`` (its database is the test database's name plus
    ``_<name>``) with ``env`` added to this process's environment."""
    db = connection.settings_dict
    database = f"{db['NAME']}_{name}"[:63]
    _drop(database)
    with _admin_connection() as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    full_env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        "DEBUG": "1",
        "BAILO_AUTH_MODE": "password",
        "DATABASE_URL": f"postgres://{credentials}@{db['HOST']}:{db['PORT'] or 5432}/{database}",
        # The settings take the Redis key prefix (cache, Celery queues) from this variable: the
        # second instance must not read this process's cache.
        "PYTEST_XDIST_WORKER": f"{worker}-{name}",
        **env,
    }
    try:
        _run([sys.executable, "manage.py", "migrate", "--noinput"], full_env)
        printed = _run([sys.executable, "manage.py", "shell", "-c", setup], full_env)
        lines = printed.strip().splitlines()
        result = json.loads(lines[-1]) if lines else None
        with http_server("runserver", replace_env=full_env) as port:
            yield Instance(url=f"http://127.0.0.1:{port}", setup=result)
    finally:
        _drop(database)
