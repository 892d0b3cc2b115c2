"""The purge: after the retention window, blobs leave S3, manifests leave the registry and rows
leave the database, and nothing is orphaned, even when a purge dies half way and runs again.

Blobs go to the real S3 server and images to the real registry when the stack's variables are
set (``scripts/test.sh``); without them, blobs go to a temporary directory and the registry tests
skip (they fail instead when ``BAILO_REQUIRE_STACK=1``).
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
import requests
from celery.exceptions import Retry
from django.conf import settings as django_settings
from django.core.management import call_command

from access.models import Token
from core.audit import AuditAction
from core.errors import Conflict
from core.models import AuditEvent
from core.ports import registry
from core.ports.storage import blob_store
from deletion import purge as purge_module
from deletion.artefacts import image_delete
from deletion.beneath import hide_beneath
from deletion.cascade import CASCADE, model_blob_prefix
from deletion.models import Deletion
from deletion.purge import STALE_AFTER, deletions_to_purge
from deletion.services import deletion_restore, model_delete
from deletion.tasks import PERIODIC, purge_deletion, purge_due
from models_app.models import Model
from models_app.policy import Actor
from releases.models import File, ReleaseFile
from tests.deletion.model_helpers import (
    FullModel,
    build_full_model,
    deletion_env,
    rows_of,
)
from tests.deletion.purge_helpers import (
    audit_entry,
    keys_under,
    require_registry,
    stored,
    window_passed,
)
from tests.releases.release_helpers import push_tiny_image

pytestmark = pytest.mark.django_db

__all__ = ["deletion_env"]


@pytest.fixture(autouse=True)
def _env(deletion_env: None) -> None:
    """Eager tasks and a private blob directory for every test here."""


@pytest.fixture
def full(
    entry: Model,
    public_entry: Model,
    owner: Any,
    reviewer: Any,
    consumer: Any,
    make_token: Any,
) -> FullModel:
    return build_full_model(
        entry=entry,
        other_entry=public_entry,
        owner=owner,
        reviewer=reviewer,
        consumer=consumer,
        make_token=make_token,
        files=5,
    )


def delete(owner: Any, model: Model) -> Deletion:
    """The request, then the worker's bulk step (``deletion.beneath``): inside a test's
    transaction nothing commits, so nothing queues it."""
    deletion = model_delete(actor=Actor(user=owner), model_id=model.pk, confirm_name=model.name)
    settled = hide_beneath(deletion.pk)
    assert settled is not None
    return settled


def assert_nothing_left_of(model_id: str, blob_keys: list[str]) -> None:
    """No row of the entry in any table, no blob in storage, and the audit agrees."""
    for table in CASCADE:
        assert not table.rows_of_entry(model_id).exists(), f"{table.name} of the entry remain"
    assert stored(blob_keys) == []
    assert keys_under(model_id) == []
    code, report = audit_entry(model_id)
    assert code == 0, report
    assert "Orphaned blobs (no file row references them): 0" in report


def manifest_status(repository: str, digest: str) -> int:
    token = registry.admin_token(f"repository:{repository}:pull")
    answer = requests.head(
        f"{django_settings.REGISTRY_URL}/v2/{repository}/manifests/{digest}",
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": ", ".join(registry.MANIFEST_TYPES),
        },
        timeout=10,
    )
    return answer.status_code


def retag(repository: str, tag: str, new_tag: str) -> None:
    """Point ``new_tag`` at the manifest ``tag`` points at (same digest)."""
    token = registry.admin_token(f"repository:{repository}:pull,push")
    headers = {"Authorization": f"Bearer {token}"}
    base = f"{django_settings.REGISTRY_URL}/v2/{repository}/manifests"
    got = requests.get(
        f"{base}/{tag}",
        headers={**headers, "Accept": ", ".join(registry.MANIFEST_TYPES)},
        timeout=10,
    )
    got.raise_for_status()
    put = requests.put(
        f"{base}/{new_tag}",
        data=got.content,
        headers={**headers, "Content-Type": got.headers["Content-Type"]},
        timeout=10,
    )
    put.raise_for_status()


# --- the window and the sweep -------------------------------------------------------------------


def test_after_the_window_the_sweep_purges_the_models_blobs_and_rows_and_leaves_no_orphans(
    full: FullModel, owner: Any
) -> None:
    deletion = delete(owner, full.model)
    assert purge_due.delay().get() == 0
    assert stored(full.blob_keys) == full.blob_keys

    window_passed(deletion)
    assert purge_due.delay().get() == 1

    deletion.refresh_from_db()
    assert deletion.state == Deletion.State.PURGED
    assert deletion.purged_at is not None
    assert deletion.progress["blobsDeleted"] == len(full.blob_keys) == 5
    assert deletion.progress["purgeStep"] == "done"
    assert_nothing_left_of(full.model.pk, full.blob_keys)
    # Tokens belong to their users: the purge leaves them (revoked, scoped to nothing).
    assert Token.objects.filter(pk=full.only_token.pk).exists()
    event = AuditEvent.objects.get(action=AuditAction.DELETION_PURGE, subject=full.model.pk)
    assert event.actor == "system"
    assert event.detail["deletion"] == deletion.pk


def test_a_retention_of_zero_purges_as_soon_as_the_deletion_commits(
    full: FullModel, owner: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.DELETION_RETENTION = timedelta(0)

    with django_capture_on_commit_callbacks(execute=True):
        deletion = delete(owner, full.model)

    deletion.refresh_from_db()
    assert deletion.state == Deletion.State.PURGED
    assert_nothing_left_of(full.model.pk, full.blob_keys)


def test_a_deletion_is_left_alone_until_its_window_has_passed(full: FullModel, owner: Any) -> None:
    deletion = delete(owner, full.model)

    assert purge_deletion.delay(deletion.pk).get() == Deletion.State.PENDING
    assert deletion.pk not in deletions_to_purge()
    assert stored(full.blob_keys) == full.blob_keys
    assert File.all_objects.filter(model=full.model).count() == len(full.files)


# --- the registry ---------------------------------------------------------------------------------


def test_the_image_manifests_of_a_purged_model_are_gone_from_the_registry(
    entry: Model, owner: Any
) -> None:
    require_registry()
    app = push_tiny_image(entry.pk, "app", "v1")
    tools = push_tiny_image(entry.pk, "tools/cli", "2.0")
    old = push_tiny_image(entry.pk, "app", "v0")
    # A tag deleted before the entry, still held for a restore: the entry's purge takes it too.
    earlier = image_delete(actor=Actor(user=owner), model_id=entry.pk, name="app", tag="v0")
    held = earlier.progress["image"]["heldIn"]
    deletion = delete(owner, entry)
    assert {(i["name"], i["tag"]) for i in deletion.progress["images"]} == {
        ("app", "v1"),
        ("tools/cli", "2.0"),
    }
    window_passed(deletion)

    assert purge_deletion.delay(deletion.pk).get() == Deletion.State.PURGED

    assert not registry.tag_exists(entry.pk, "app", "v1")
    assert not registry.tag_exists(entry.pk, "tools/cli", "2.0")
    assert manifest_status(f"{entry.pk}/app", app) == 404
    assert manifest_status(f"{entry.pk}/tools/cli", tools) == 404
    assert manifest_status(held, old) == 404
    earlier.refresh_from_db()
    assert earlier.state == Deletion.State.PURGED
    deletion.refresh_from_db()
    assert deletion.progress["manifestsDeleted"] == 3
    # A second run finds nothing left to delete, and finishes.
    Deletion.objects.filter(pk=deletion.pk).update(state=Deletion.State.PURGING)
    assert purge_deletion.delay(deletion.pk).get() == Deletion.State.PURGED


def test_purging_a_deleted_tag_leaves_a_live_tag_on_the_same_manifest_alone(
    entry: Model, owner: Any
) -> None:
    require_registry()
    repository = f"{entry.pk}/app"
    digest = push_tiny_image(entry.pk, "app", "v1")
    retag(repository, "v1", "latest")
    deletion = image_delete(actor=Actor(user=owner), model_id=entry.pk, name="app", tag="v1")
    held = deletion.progress["image"]["heldIn"]
    window_passed(deletion)

    assert purge_deletion.delay(deletion.pk).get() == Deletion.State.PURGED

    assert manifest_status(held, digest) == 404
    assert registry.tag_exists(entry.pk, "app", "latest")
    assert manifest_status(repository, digest) == 200
    registry.delete_manifest(repository, digest)


def test_a_held_manifest_stays_while_another_deleted_tag_on_it_can_be_restored(
    entry: Model, owner: Any
) -> None:
    require_registry()
    repository = f"{entry.pk}/app"
    digest = push_tiny_image(entry.pk, "app", "v1")
    retag(repository, "v1", "latest")
    actor = Actor(user=owner)
    first = image_delete(actor=actor, model_id=entry.pk, name="app", tag="v1")
    second = image_delete(actor=actor, model_id=entry.pk, name="app", tag="latest")
    held = first.progress["image"]["heldIn"]
    window_passed(first)

    assert purge_deletion.delay(first.pk).get() == Deletion.State.PURGED
    first.refresh_from_db()
    assert first.progress["manifestsKept"] == 1
    assert manifest_status(held, digest) == 200  # "latest" can still be restored

    window_passed(second)
    assert purge_deletion.delay(second.pk).get() == Deletion.State.PURGED
    assert manifest_status(held, digest) == 404
    assert manifest_status(repository, digest) == 404


# --- interrupted and repeated purges --------------------------------------------------------------


def test_a_purge_killed_half_way_stays_purging_and_the_next_run_finishes_it(
    full: FullModel, owner: Any, site_admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(purge_module, "BLOB_BATCH", 2)
    deletion = delete(owner, full.model)
    window_passed(deletion)
    hidden_rows = rows_of(full.model.pk)
    store = blob_store()
    real_delete_many = store.delete_many
    batches: list[list[str]] = []

    def dies_after_the_first_batch(keys: list[str]) -> None:
        batches.append(list(keys))
        if len(batches) > 1:
            raise RuntimeError("worker killed")
        real_delete_many(keys)

    monkeypatch.setattr(store, "delete_many", dies_after_the_first_batch)

    # Eager tasks hand the retry the task asks for back to the caller: the retry is ours to run.
    with pytest.raises(Retry) as failed:
        purge_deletion.delay(deletion.pk)
    assert isinstance(failed.value.exc, RuntimeError)

    deletion.refresh_from_db()
    assert deletion.state == Deletion.State.PURGING
    assert deletion.progress["blobsDeleted"] == 2
    assert deletion.progress["purgeAttempts"] == 1
    assert len(stored(full.blob_keys)) == len(full.blob_keys) - 2
    assert rows_of(full.model.pk) == {**hidden_rows, "deletions": rows_of("")["deletions"]}
    with pytest.raises(Conflict, match="purging"):
        deletion_restore(actor=Actor(user=site_admin), deletion_id=deletion.pk)
    # A purge that reported progress lately belongs to its worker; a silent one is picked up.
    assert deletion.pk not in deletions_to_purge()
    later = purge_module.timezone.now() + STALE_AFTER + timedelta(minutes=1)
    assert deletion.pk in deletions_to_purge(now=later)

    monkeypatch.setattr(store, "delete_many", real_delete_many)
    assert purge_deletion.delay(deletion.pk).get() == Deletion.State.PURGED

    deletion.refresh_from_db()
    assert deletion.progress["purgeAttempts"] == 2
    assert_nothing_left_of(full.model.pk, full.blob_keys)


def test_a_purge_whose_worker_was_killed_is_queued_again_within_minutes(
    full: FullModel, owner: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    deletion = delete(owner, full.model)
    window_passed(deletion)
    store = blob_store()

    def killed(keys: list[str]) -> None:
        raise RuntimeError("worker killed")

    monkeypatch.setattr(store, "delete_many", killed)
    with pytest.raises(Retry):
        purge_deletion.delay(deletion.pk)
    deletion.refresh_from_db()
    assert deletion.state == Deletion.State.PURGING
    last_heartbeat = purge_module.timezone.now()

    # The sweep runs every minute and takes a purge silent for three: within five minutes of
    # its worker's death, a purge is queued again (not the 25 minutes of a 10-minute sweep and
    # a 15-minute stale window).
    sweep_every = timedelta(seconds=PERIODIC["deletion-purge-due"]["schedule"])
    assert sweep_every <= timedelta(minutes=1)
    assert deletion.pk not in deletions_to_purge(now=last_heartbeat + timedelta(minutes=2))
    assert deletion.pk in deletions_to_purge(now=last_heartbeat + timedelta(minutes=4))


def test_running_a_purge_twice_is_harmless(full: FullModel, owner: Any) -> None:
    deletion = delete(owner, full.model)
    window_passed(deletion)

    assert purge_deletion.delay(deletion.pk).get() == Deletion.State.PURGED
    assert purge_deletion.delay(deletion.pk).get() == Deletion.State.PURGED
    third = purge_module.deletion_purge(deletion_id=deletion.pk)
    assert third is not None and third.state == Deletion.State.PURGED

    assert AuditEvent.objects.filter(action=AuditAction.DELETION_PURGE).count() == 1
    assert_nothing_left_of(full.model.pk, full.blob_keys)


def test_a_restore_is_refused_once_the_deletion_is_purged(
    full: FullModel, owner: Any, site_admin: Any
) -> None:
    deletion = delete(owner, full.model)
    window_passed(deletion)
    purge_deletion.delay(deletion.pk)

    with pytest.raises(Conflict, match="purged"):
        deletion_restore(actor=Actor(user=site_admin), deletion_id=deletion.pk)
    assert not Model.all_objects.filter(pk=full.model.pk).exists()


def test_files_deleted_before_the_model_and_stray_blobs_are_purged_with_it(
    full: FullModel, owner: Any
) -> None:
    first = full.files[0]
    # What a file deletion records: its own Deletion, pending, the row hidden under it.
    earlier = Deletion.objects.create(
        kind=Deletion.Kind.FILE,
        subject=first.pk,
        subject_name=first.name,
        model_id=full.model.pk,
        deleted_by=owner,
        purge_due=purge_module.timezone.now() + timedelta(days=30),
    )
    File.all_objects.filter(pk=first.pk).update(
        deleted_at=earlier.deleted_at, deleted_by=owner, deletion=earlier
    )
    ReleaseFile.objects.filter(file=first).delete()
    # The bytes of an upload that died before its row was written.
    stray = f"{model_blob_prefix(full.model.pk)}files/stray-upload"
    blob_store().put(stray, [b"half an upload"])
    deletion = delete(owner, full.model)
    window_passed(deletion)

    purge_deletion.delay(deletion.pk)

    earlier.refresh_from_db()
    assert earlier.state == Deletion.State.PURGED
    assert earlier.purged_at is not None
    assert_nothing_left_of(full.model.pk, [*full.blob_keys, stray])


# --- purge now and the command --------------------------------------------------------------------


def test_purge_now_in_the_admin_queues_the_purge_and_is_refused_the_second_time(
    full: FullModel,
    owner: Any,
    site_admin: Any,
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    deletion = delete(owner, full.model)
    client = client_for(site_admin)
    action = {"action": "purge_now", "_selected_action": [str(deletion.pk)]}

    # The purge is queued when the action's transaction commits (the test's transaction stands
    # in for it here), and runs there and then since tasks are eager.
    with django_capture_on_commit_callbacks(execute=True) as queued:
        page = client.post("/admin/deletion/deletion/", action, follow=True)

    assert page.status_code == 200
    assert len(queued) == 1
    assert (
        f"The purge of Model {full.model.name} is queued; its state shows its progress."
        in page.content.decode()
    )
    deletion.refresh_from_db()
    assert deletion.state == Deletion.State.PURGED
    assert_nothing_left_of(full.model.pk, full.blob_keys)
    requested = AuditEvent.objects.get(action=AuditAction.DELETION_PURGE, actor__startswith="user:")
    assert requested.detail == {"deletion": deletion.pk, "kind": "model", "requested": "now"}

    again = client.post("/admin/deletion/deletion/", action, follow=True)
    assert "was not purged: This deletion was already purged" in again.content.decode()


def test_manage_py_purge_due_runs_the_due_purges_without_a_worker(
    full: FullModel, owner: Any
) -> None:
    out = io.StringIO()
    call_command("purge_due", stdout=out)
    assert "No deletion is due" in out.getvalue()
    deletion = delete(owner, full.model)
    window_passed(deletion)

    call_command("purge_due", "--dry-run", stdout=out)
    assert f"Due: #{deletion.pk} model {full.model.name}" in out.getvalue()
    assert stored(full.blob_keys) == full.blob_keys

    call_command("purge_due", stdout=out)
    assert f"Purged: #{deletion.pk} model {full.model.name}: 5 blobs" in out.getvalue()
    assert_nothing_left_of(full.model.pk, full.blob_keys)
