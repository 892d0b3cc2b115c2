"""Helpers shared by the benchmark scripts: each one works in a PostgreSQL database of its own."""

from __future__ import annotations

import re
import subprocess


def psql(sql: str, database: str = "postgres") -> str:
    out = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-tAc", sql],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def ensure_database(name: str) -> None:
    """Create the benchmark's database if missing; never one of the shared ones."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"database name {name!r} must be a plain lower-case identifier")
    if name in {"bailo", "postgres", "template0", "template1"}:
        raise SystemExit(f"refusing to benchmark in the shared database {name!r}")
    # The name matched a plain identifier above, so it is safe to place in the statement.
    if psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'") != "1":  # noqa: S608
        psql(f"CREATE DATABASE {name}")
        print(f"created database {name}")
