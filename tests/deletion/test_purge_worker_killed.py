"""A purge whose Celery worker is killed (SIGKILL, the whole worker) is queued again by the sweep
once its heartbeat is stale, and a new worker finishes it.

Real components: a Celery worker process on the stack's Redis, the test database, and a private
SeaweedFS (tests/private_seaweed.py) frozen so the first worker is caught in the middle of the
purge. The stale window is shortened for the test (``PURGE_STALE_AFTER``, 3 minutes by default);
what the test shows is that the killed worker's purge is not lost and resumes through the sweep.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from bailo_site.celery import app as celery_app
from deletion.models import Deletion
from deletion.services import model_delete
from deletion.tasks import purge_due
from models_app.policy import Actor
from releases.files.services import new_file_id, storage_key_for
from releases.models import File
from tests.conftest import _make_entry, blob_store_follow_settings, create_user, stack_required
from tests.core.server_helpers import database_url
from tests.private_seaweed import BUCKET, PrivateSeaweed, private_seaweed

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not stack_required(), reason="needs PostgreSQL and Redis (the stack)"),
]

ROOT = Path(django_settings.BASE_DIR)


@pytest.fixture
def seaweed(tmp_path: Path, settings: Any) -> Iterator[PrivateSeaweed]:
    with private_seaweed(tmp_path / "seaweed") as server:
        for name, value in server.settings().items():
            setattr(settings, name, value)
        blob_store_follow_settings()
        yield server


@pytest.fixture
def through_the_broker() -> Iterator[None]:
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = eager


def start_worker(seaweed: PrivateSeaweed, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_TASK_ALWAYS_EAGER": "0",
        **{
            name: str(value) for name, value in seaweed.settings().items() if name != "BLOB_STORAGE"
        },
    }
    return subprocess.Popen(
        [
            str(Path(sys.executable).with_name("celery")),
            "-A",
            "bailo_site",
            "worker",
            "-Q",
            "purge",
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"purge-test-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def state_of(deletion_id: int) -> str:
    return str(Deletion.objects.get(pk=deletion_id).state)


def test_a_purge_whose_worker_was_killed_is_finished_by_another_after_the_sweep(
    seaweed: PrivateSeaweed, through_the_broker: None, settings: Any, tmp_path: Path
) -> None:
    settings.DELETION_RETENTION = timedelta(0)
    settings.PURGE_STALE_AFTER = timedelta(seconds=3)
    owner = create_user("purge-owner")
    model = _make_entry(owner, {}, name="Purged while its worker dies")
    keys = []
    for _ in range(3):
        key = storage_key_for(model.pk)
        seaweed.client().put_object(Bucket=BUCKET, Key=key, Body=b"bytes")
        File.objects.create(
            id=new_file_id(), model=model, name="w.bin", size=5, storage_key=key, complete=True
        )
        keys.append(key)

    log = tmp_path / "worker.log"
    first = start_worker(seaweed, log)
    try:
        seaweed.freeze()  # the worker will hang on its first storage call
        deletion = model_delete(actor=Actor(user=owner), model_id=model.pk, confirm=False)
        wait_for(lambda: state_of(deletion.pk) == Deletion.State.PURGING, 60, "the purge to start")
        time.sleep(1)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        seaweed.thaw()
        if first.poll() is None:
            first.kill()
    assert state_of(deletion.pk) == Deletion.State.PURGING

    second = start_worker(seaweed, log)
    try:
        time.sleep(3.5)  # the heartbeat goes stale
        assert purge_due.apply().get() == 1  # the beat's sweep queues it again
        wait_for(lambda: state_of(deletion.pk) == Deletion.State.PURGED, 60, "the purge to finish")
    finally:
        second.terminate()
        try:
            second.wait(timeout=10)
        except subprocess.TimeoutExpired:
            second.kill()
    listed = seaweed.client().list_objects_v2(Bucket=BUCKET, Prefix=f"beta/model/{model.pk}/")
    assert listed.get("KeyCount", 0) == 0, log.read_text()[-3000:]
