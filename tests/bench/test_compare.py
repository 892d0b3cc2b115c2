"""The peer comparison harness (bench/compare) works: its load generator counts what a real HTTP
server answers, its table judges the goals, and the bare Django list project it measures against
migrates, seeds and serves its page under gunicorn. MLflow and the app's servers are left to the
harness's ``--quick`` run (minutes, and the package index): these pieces take a few seconds."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import requests

from bench.common import psql
from bench.compare import run
from bench.compare.loadgen import Sample, run_load
from tests.stub_http import close, serve

ROOT = Path(__file__).resolve().parents[2]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the harness's sessions expect

    def do_GET(self) -> None:
        status = 500 if self.path.endswith("/fail") else 200
        body = b"ok"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_load_generator_counts_answers_and_errors() -> None:
    server = serve(_Handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        sample = run_load(
            run.session_factory(),
            lambda s, n: s.get(base + ("/fail" if n % 4 == 0 else "/ok"), timeout=5).status_code,
            concurrency=3,
            seconds=5,
            max_requests=40,
        )
    finally:
        close(server)
    assert sample.count == 40
    assert sample.errors == 10  # every fourth request answered 500
    assert sample.statuses == {200: 30, 500: 10}
    assert 0 < sample.p50 <= sample.p99
    assert sample.rate > 0


def test_table_states_ratios_and_goals() -> None:
    fast = Sample(latencies=[0.01] * 10, elapsed=1.0)
    slow = Sample(latencies=[0.02] * 5, elapsed=1.0)
    rate = run.Row("page", ours=fast, peer=slow, rounds=[2.0], goal=">= 0.7x")
    rate.check = lambda r: r.ratio >= 0.7
    time_row = run.Row("create", ours=slow, peer=fast, rounds=[2.0], kind="time", goal="<= 1.0x")
    time_row.check = lambda r: r.ratio <= 1.0
    assert rate.ratio == pytest.approx(2.0)  # 10 vs 5 requests per second
    assert time_row.ratio == pytest.approx(2.0)  # 20 vs 10 ms
    text = run.table([rate, time_row])
    lines = [line for line in text.splitlines() if line.startswith("| page") or "| create" in line]
    assert lines[0].endswith("| yes |") and lines[1].endswith("| NO |")


def test_quick_mode_shrinks_everything() -> None:
    quick, full = run.parse(["--quick"]), run.parse([])
    assert (full.entries, full.entries_small, full.releases, full.files) == (
        100_000,
        10_000,
        100,
        2000,
    )
    assert quick.entries < full.entries and quick.seconds < full.seconds
    assert quick.only == set(run.MEASURES)
    with pytest.raises(SystemExit):
        run.parse(["--only", "page,nonsense"])


def test_app_settings_reach_the_apps_server_only_as_given() -> None:
    assert run.parse([]).app_settings == {}
    given = run.parse(["--app-setting", "MARKETPLACE_CACHE_SECONDS=0", "--app-setting", "A=b=c"])
    assert given.app_settings == {"MARKETPLACE_CACHE_SECONDS": "0", "A": "b=c"}
    with pytest.raises(SystemExit):
        run.parse(["--app-setting", "no-equals-sign"])


@pytest.fixture
def bare_database() -> str:
    name = f"test_bench_bare_{os.getpid()}"
    psql(f"DROP DATABASE IF EXISTS {name}")
    yield name
    psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_bare_project_seeds_and_serves_its_page(bare_database: str) -> None:
    assert run.seed_bare(bare_database, 30) == 30
    assert run.seed_bare(bare_database, 30) == 30  # reused, not doubled
    port = run.free_port()
    env = {**run.base_env(), **run.bare_env(bare_database), "PORT": str(port)}
    args = run.parse(["--workers", "1", "--threads", "2"])
    command = run.gunicorn_command("bench.compare.bare.wsgi:application", port, args)
    started = time.monotonic()
    with run.serve("bare", command, env, "/") as base:
        page = requests.get(base + "/?page=2", timeout=10)
        listing = requests.get(base + "/api/list", timeout=10).json()
    assert page.status_code == 200
    assert "24 entries" in page.text  # 30 rows, every fifth private
    assert "Page 2 of 2" in page.text
    assert listing["totalEntries"] == 24 and len(listing["models"]) == 24
    assert time.monotonic() - started < 30


def test_harness_imports_without_django_settings() -> None:
    """``python -m bench.compare --help`` works before any data or server exists."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.compare", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "--quick" in out.stdout
