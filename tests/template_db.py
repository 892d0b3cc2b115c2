"""PostgreSQL test databases copied from a migrated template instead of migrated from nothing.

Migrating an empty database takes most of a minute on this machine, and every test process
(pytest-xdist worker) and every second instance (``tests/two_instances.py``) needs one; copying a
migrated database takes about a second. The template is built by ``manage.py migrate`` on an
empty database, so the migrations still run, from nothing, whenever anything they depend on
changes: its name carries a digest of every installed app's migration files, the files the data
migrations read, the fields they import and the installed Django. Built at most once per digest,
under an advisory lock so that parallel processes wait for one build instead of each migrating.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import django
from django.conf import settings
from django.db import connection

ROOT = Path(settings.BASE_DIR)
TEMPLATE_PREFIX = "bailo_instance_tpl_"
# Templates of other digests kept (other checkouts on the same server use theirs); older ones
# are dropped when a new one is built.
KEEP_OTHERS = 3
_LOCK = "SELECT pg_advisory_lock(hashtext('bailo second instance template'))"
_UNLOCK = "SELECT pg_advisory_unlock(hashtext('bailo second instance template'))"


def _inputs() -> dict[str, Path]:
    """What the migrated database depends on, by a name that is the same in every checkout."""
    from django.apps import apps

    inputs: dict[str, Path] = {}
    for config in apps.get_app_configs():
        for path in Path(config.path).glob("migrations/*.py"):
            inputs[f"{config.label}/{path.name}"] = path
    for path in [*ROOT.glob("models_app/default_schemas/*"), ROOT / "core" / "fields.py"]:
        inputs[str(path.relative_to(ROOT))] = path
    return {name: path for name, path in inputs.items() if path.is_file()}


def migrations_digest() -> str:
    digest = hashlib.sha256(django.__version__.encode())
    for name, path in sorted(_inputs().items()):
        digest.update(name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def database_url(name: str) -> str:
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST']}:{db['PORT'] or 5432}/{name}"


def admin_connection() -> Any:
    """An autocommit connection to the server's ``postgres`` database."""
    import psycopg

    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )


def manage(args: list[str], env: dict[str, str], *, timeout: float = 120) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed: {done.stderr[-3000:]}")
    return done.stdout


def copy_of_migrated_template(database: str, env: dict[str, str] | None = None) -> None:
    """Create ``database`` as a copy of a database migrated with this checkout's migrations,
    building the template first when there is none for them."""
    env = dict(env if env is not None else os.environ)
    env.pop("PYTEST_XDIST_WORKER", None)
    template = TEMPLATE_PREFIX + migrations_digest()
    with admin_connection() as admin:
        admin.execute(_LOCK)
        try:
            rows = admin.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s ORDER BY oid DESC",
                (TEMPLATE_PREFIX + "%",),
            ).fetchall()
            names = [row[0] for row in rows]
            if template not in names:
                others = [n for n in names if not n.endswith("_building")]
                for stale in others[KEEP_OTHERS:] + [n for n in names if n.endswith("_building")]:
                    admin.execute(f'DROP DATABASE IF EXISTS "{stale}" WITH (FORCE)')  # type: ignore[arg-type]
                building = template + "_building"
                admin.execute(f'CREATE DATABASE "{building}"')  # type: ignore[arg-type]
                try:
                    manage(
                        ["migrate", "--noinput"],
                        {**env, "DATABASE_URL": database_url(building)},
                        timeout=600,
                    )
                except BaseException:
                    admin.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')  # type: ignore[arg-type]
                    raise
                admin.execute(f'ALTER DATABASE "{building}" RENAME TO "{template}"')  # type: ignore[arg-type]
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')  # type: ignore[arg-type]
            admin.execute(f'CREATE DATABASE "{database}" TEMPLATE "{template}"')  # type: ignore[arg-type]
        finally:
            admin.execute(_UNLOCK)


def drop_database(database: str) -> None:
    with admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')  # type: ignore[arg-type]


def migrated_sqlite(target: Path, env: dict[str, str]) -> None:
    """Put at ``target`` a copy of an SQLite database migrated with this checkout's migrations
    (``env`` is the embedded default's environment). The migrated file is kept in var/test-cache
    under the same digest as the PostgreSQL template: migrating from nothing on SQLite runs once
    per set of migrations, not once per run."""
    import shutil
    import tempfile

    cache = ROOT / "var" / "test-cache"
    cache.mkdir(parents=True, exist_ok=True)
    migrated = cache / f"sqlite-{migrations_digest()}.sqlite3"
    if not migrated.exists():
        for stale in cache.glob("sqlite-*.sqlite3"):
            stale.unlink(missing_ok=True)
        with tempfile.TemporaryDirectory(dir=cache) as building:
            fresh = Path(building) / "db.sqlite3"
            manage(
                ["migrate", "--noinput"], {**env, "DATABASE_URL": f"sqlite:///{fresh}"}, timeout=300
            )
            fresh.replace(migrated)
    shutil.copyfile(migrated, target)
