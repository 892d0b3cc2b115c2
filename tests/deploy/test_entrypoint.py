"""The image's entrypoint (deploy/docker-entrypoint.sh) run for real with recording stand-ins for
python, gunicorn and celery on PATH: which queues a worker consumes, and whether web migrates."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "deploy" / "docker-entrypoint.sh"


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    log = tmp_path / "calls.log"
    for name in ("python", "gunicorn", "celery"):
        stub = tmp_path / name
        stub.write_text(f'#!/bin/sh\necho "{name} $*" >> {log}\n')
        stub.chmod(0o755)
    return tmp_path


def run(bin_dir: Path, *args: str, **env: str) -> list[str]:
    environment = {"PATH": f"{bin_dir}:/usr/bin:/bin", **env}
    subprocess.run(["bash", str(ENTRYPOINT), *args], env=environment, check=True, timeout=30)
    return (bin_dir / "calls.log").read_text().splitlines()


def test_web_migrates_then_serves_on_port_8000(bin_dir: Path) -> None:
    calls = run(bin_dir)
    assert calls[0] == "python manage.py migrate --noinput"
    assert calls[1].startswith("gunicorn bailo_site.wsgi:application --bind 0.0.0.0:8000")


def test_web_leaves_migrations_to_a_separate_step_when_told(bin_dir: Path) -> None:
    calls = run(bin_dir, "web", BAILO_MIGRATE_ON_START="0")
    assert len(calls) == 1 and calls[0].startswith("gunicorn ")


def test_a_worker_consumes_every_queue_by_default_or_those_named(bin_dir: Path) -> None:
    assert run(bin_dir, "worker")[-1].startswith(
        "celery -A bailo_site worker -Q default,scans,purge,webhooks,mirroring"
    )
    calls = run(bin_dir, "worker", "--concurrency", "4", CELERY_QUEUES="scans")
    assert calls[-1].startswith("celery -A bailo_site worker -Q scans ")
    assert calls[-1].endswith("--concurrency 4")


def test_other_commands_run_as_given(bin_dir: Path) -> None:
    assert run(bin_dir, "python", "manage.py", "check")[-1] == "python manage.py check"
    assert os.access(ENTRYPOINT, os.X_OK)
