"""Typed readers for settings that come from the environment.

Every reader fails loudly with ``ImproperlyConfigured`` on a value it cannot parse, so a typo in a
deployment shows up at start-up rather than as odd behaviour later. Values in a git-ignored ``.env``
file at the repository root (written by ``make stack``) are used when the process environment does
not set them: the real environment always wins.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse ``KEY=value`` lines; blank lines and ``#`` comments are skipped."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise ImproperlyConfigured(f"{path}:{number}: expected KEY=value, got {raw!r}")
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip('"').strip("'")
    return values


class Env:
    """Looks a name up in the process environment, then in the ``.env`` values."""

    def __init__(self, environ: Mapping[str, str], dotenv: Mapping[str, str]) -> None:
        self._environ = environ
        self._dotenv = dotenv

    def raw(self, name: str) -> str | None:
        if name in self._environ:
            return self._environ[name]
        return self._dotenv.get(name)

    def string(self, name: str, default: str = "") -> str:
        """An unset or empty variable gives the default: ``S3_REGION=`` is not an empty region."""
        value = self.raw(name)
        return default if value is None or value.strip() == "" else value

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self.raw(name)
        if value is None or value.strip() == "":
            return default
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")

    def integer(self, name: str, default: int) -> int:
        value = self.raw(name)
        if value is None or value.strip() == "":
            return default
        try:
            return int(value)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc

    def strings(self, name: str, default: list[str] | None = None) -> list[str]:
        value = self.raw(name)
        if value is None:
            return list(default or [])
        return [item.strip() for item in value.split(",") if item.strip()]

    def durations(self, name: str, default: list[timedelta]) -> list[timedelta]:
        """A comma-separated list of durations as ``duration`` reads them (``1d,14d,70d``)."""
        value = self.raw(name)
        if value is None:
            return list(default)
        return [_duration(name, item) for item in value.split(",") if item.strip()]

    def duration(self, name: str, default: timedelta) -> timedelta:
        """Seconds (``3600``) or a number and a unit: ``30d``, ``12h``, ``15m``, ``10s``."""
        value = self.raw(name)
        if value is None or value.strip() == "":
            return default
        return _duration(name, value)


def _duration(name: str, value: str) -> timedelta:
    match = re.fullmatch(r"\s*(\d+)\s*([dhms]?)\s*", value)
    if not match:
        raise ImproperlyConfigured(
            f"{name} must be a duration such as 30d, 12h, 15m or 3600, got {value!r}"
        )
    amount, unit = int(match.group(1)), match.group(2) or "s"
    seconds = {"d": 86400, "h": 3600, "m": 60, "s": 1}[unit]
    return timedelta(seconds=amount * seconds)


def database_from_url(url: str, *, prepare_threshold: int = 2) -> dict[str, object]:
    """Turn ``postgres://user:pass@host:port/name`` or ``sqlite:///path`` into a DATABASES entry.

    ``prepare_threshold``: how many times a PostgreSQL connection sends the same statement before
    psycopg prepares it (0: never)."""
    parts = urlsplit(url)
    if parts.scheme in {"postgres", "postgresql", "pgsql"}:
        name = parts.path.lstrip("/")
        if not name:
            raise ImproperlyConfigured(f"DATABASE_URL names no database: {url!r}")
        return {
            # Django's backend with a health check that needs no round trip (core/postgresql).
            "ENGINE": "core.postgresql",
            "NAME": unquote(name),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            # Parameters travel apart from the statement (PostgreSQL binds them), and a statement
            # a connection has sent a few times is prepared: parsed and planned once, not on
            # every request. Django's default sends each statement as text with the values
            # spliced in by Python, parsed and planned every time.
            "OPTIONS": {
                "server_side_binding": True,
                "prepare_threshold": prepare_threshold if prepare_threshold > 0 else None,
            },
        }
    if parts.scheme == "sqlite":
        path = url[len("sqlite://") :]
        if path.startswith("/"):
            path = path[1:] if path.startswith("//") else path
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path or ":memory:",
            # Parallel requests (multipart parts arrive at once) each write: in SQLite's default
            # mode a transaction that reads first and then writes fails at once with "database
            # is locked" when another holds the write lock, whatever the timeout. Immediate
            # transactions take the write lock up front and wait for it (up to the timeout), and
            # WAL lets readers go on while one writes.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    raise ImproperlyConfigured(
        f"DATABASE_URL must start with postgres:// or sqlite://, got {parts.scheme!r}"
    )


def load_env(base_dir: Path) -> Env:
    """``BAILO_ENV_FILE`` names another file; ``none`` ignores ``.env`` (used by ``make run``)."""
    choice = os.environ.get("BAILO_ENV_FILE", str(base_dir / ".env"))
    dotenv = {} if choice.lower() == "none" else read_dotenv(Path(choice))
    return Env(os.environ, dotenv)
