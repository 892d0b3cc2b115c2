from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from bailo_site.settings.env import Env, database_from_url, read_dotenv


def env(**values: str) -> Env:
    return Env(values, {})


def test_process_environment_wins_over_dotenv() -> None:
    e = Env({"A": "from-env"}, {"A": "from-file", "B": "file-only"})
    assert e.string("A") == "from-env"
    assert e.string("B") == "file-only"
    assert e.string("C", "default") == "default"


@pytest.mark.parametrize("raw,expected", [("1", True), ("true", True), ("off", False), ("", False)])
def test_booleans_parse(raw: str, expected: bool) -> None:
    assert env(X=raw).boolean("X") is expected


def test_a_bad_boolean_fails_loudly() -> None:
    with pytest.raises(ImproperlyConfigured, match="X must be a boolean"):
        env(X="maybe").boolean("X")


def test_a_bad_integer_fails_loudly() -> None:
    with pytest.raises(ImproperlyConfigured, match="integer"):
        env(X="ten").integer("X", 1)


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        ("0", timedelta(0)),
        ("90", timedelta(seconds=90)),
    ],
)
def test_durations_accept_units(raw: str, expected: timedelta) -> None:
    assert env(X=raw).duration("X", timedelta(1)) == expected


def test_a_bad_duration_fails_loudly() -> None:
    with pytest.raises(ImproperlyConfigured, match="duration"):
        env(X="a week").duration("X", timedelta(1))


def test_lists_split_on_commas() -> None:
    assert env(X="a, b,,c").strings("X") == ["a", "b", "c"]


def test_postgres_urls_become_database_settings() -> None:
    db = database_from_url("postgres://bob:s%40cret@127.0.0.1:5432/bailo")
    assert db["ENGINE"] == "core.postgresql"  # Django's, with a cheaper health check
    assert (db["USER"], db["PASSWORD"], db["HOST"], db["PORT"], db["NAME"]) == (
        "bob",
        "s@cret",
        "127.0.0.1",
        "5432",
        "bailo",
    )


def test_sqlite_urls_keep_absolute_paths() -> None:
    assert database_from_url("sqlite:////tmp/x.db")["NAME"] == "/tmp/x.db"


def test_unknown_database_schemes_are_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        database_from_url("mysql://x/y")


def test_dotenv_reads_pairs_and_rejects_garbage(tmp_path: Path) -> None:
    good = tmp_path / "good.env"
    good.write_text("# comment\nA=1\n\nB = two\n")
    assert read_dotenv(good) == {"A": "1", "B": "two"}
    bad = tmp_path / "bad.env"
    bad.write_text("just words\n")
    with pytest.raises(ImproperlyConfigured, match="expected KEY=value"):
        read_dotenv(bad)


def test_postgres_connections_bind_server_side_and_prepare_repeated_statements() -> None:
    options = database_from_url("postgres://h/bailo")["OPTIONS"]
    assert options == {"server_side_binding": True, "prepare_threshold": 2}
    never = database_from_url("postgres://h/bailo", prepare_threshold=0)["OPTIONS"]
    assert never["prepare_threshold"] is None  # psycopg's "never"; its 0 means "at once"
