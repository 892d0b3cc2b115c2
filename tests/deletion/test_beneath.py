"""The bulk step of a model deletion (``deletion.beneath``): what the request leaves to a worker,
and why nothing beneath the entry can be reached before the worker has run.

``test_model_gone.py`` walks every page and endpoint under the entry with the step held back;
here are the reads that do not name the entry (by-id routes, global lists, background tasks, the
admin, the storage audit) and the step's life: run, retried, restored before and after, purged
before it ran, raced by a second delete, re-queued by the sweep.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from deletion import purge as purge_module
from deletion.beneath import hide_beneath, is_queued
from deletion.cascade import CASCADE, ENTRY, Treatment
from deletion.models import Deletion
from deletion.services import deletion_purge_now, deletion_restore, model_delete
from deletion.tasks import hide_entry_beneath, purge_due
from models_app.models import Model
from models_app.policy import Actor
from releases.files import services as file_services
from releases.models import File
from releases.scanning import services as scan_services
from reviews.models import Response, Review
from tests.conftest import stack_required
from tests.deletion.model_helpers import (
    SOFT_DELETABLE,
    FullModel,
    build_full_model,
    deletion_env,
    is_postgresql,
    rows_of,
)
from tests.deletion.purge_helpers import audit_entry

pytestmark = pytest.mark.django_db

__all__ = ["deletion_env"]


@pytest.fixture(autouse=True)
def _env(deletion_env: None) -> None:
    """Eager tasks and a private blob directory for every test here."""


@pytest.fixture
def full(
    make_entry: Any,
    entry: Model,
    owner: Any,
    reviewer: Any,
    consumer: Any,
    make_token: Any,
) -> FullModel:
    return build_full_model(
        entry=make_entry("Doomed model", visibility="public"),
        other_entry=entry,
        owner=owner,
        reviewer=reviewer,
        consumer=consumer,
        make_token=make_token,
    )


def request_only(full: FullModel, owner: Any) -> Deletion:
    """The request's transaction alone: inside a test's transaction nothing commits, so the
    bulk step it queues on commit never runs unless a test runs it."""
    return model_delete(actor=Actor(user=owner), model_id=full.model.pk, confirm=False)


def live_beneath(model_id: str) -> dict[str, int]:
    """Live rows per soft-deletable table beneath the entry (the entry itself left out)."""
    return {
        table.name: table.live_rows_of_entry(model_id).count()
        for table in CASCADE
        if table.treatment is Treatment.HIDE and table is not ENTRY
    }


def assert_restored(before: dict[str, Any], after: dict[str, Any]) -> None:
    for name in ("models", "files", "releases", "reviews", "responses", "scans", "webhooks"):
        assert after[name] == before[name], name
    # Token scopes come back as new rows of the same pairs.
    pairs = [
        {(r["token_id"], r["model_id"]) for r in rows["tokenScopes"]} for rows in (before, after)
    ]
    assert pairs[0] == pairs[1]


# --- what the request does, and does not do ---------------------------------------------------


def test_the_request_hides_the_entry_detaches_tokens_and_queues_the_rest(
    full: FullModel, owner: Any
) -> None:
    deletion = request_only(full, owner)

    assert not Model.objects.filter(pk=full.model.pk).exists()
    assert Model.all_objects.get(pk=full.model.pk).deletion_id == deletion.pk
    assert all(live_beneath(full.model.pk).values()), live_beneath(full.model.pk)
    assert is_queued(deletion)
    assert deletion.counts == {"tokens": 2, "images": deletion.counts["images"]}
    assert deletion.total_bytes == 0


# --- reads that do not name the entry, with the step held back --------------------------------


def test_by_id_routes_and_global_lists_find_nothing_before_the_step(
    full: FullModel, owner: Any, reviewer: Any, consumer: Any, client_for: Any
) -> None:
    response = Response.objects.filter(review__model=full.model, user=reviewer).get()
    review = Review.objects.filter(model=full.model, release=full.release, role="msro").get()
    request_only(full, owner)

    as_reviewer = client_for(reviewer)
    # The author's own response, by id: neither editable nor reactable.
    edit = as_reviewer.patch(
        f"/api/v2/response/{response.pk}", {"comment": "Changed"}, content_type="application/json"
    )
    assert edit.status_code == 404, edit.content
    react = as_reviewer.patch(f"/api/v2/response/{response.pk}/reaction/like")
    assert react.status_code == 404, react.content
    # Responses by their parents' ids, and the review by id through API v3.
    listed = as_reviewer.get(
        "/api/v2/responses",
        {"parentIds": [str(review.pk), full.access_request.pk, f"release:{full.release.pk}"]},
    )
    assert listed.status_code == 200 and listed.json().get("responses", []) == [], listed.content
    answer = as_reviewer.post(
        f"/api/v3/review/{review.pk}/response",
        {"decision": "approve", "comment": "again"},
        content_type="application/json",
    )
    assert answer.status_code == 404, answer.content
    # Global lists: the reviewer's queue, the requester's access (page and search).
    assert full.model.pk not in as_reviewer.get("/reviews").content.decode()
    assert full.model.pk not in as_reviewer.get("/api/v2/reviews").content.decode()
    as_consumer = client_for(consumer)
    assert full.access_request.pk not in as_consumer.get("/access").content.decode()
    found = as_consumer.get("/api/v2/access-requests/search", {"mine": "true"})
    assert full.access_request.pk not in found.content.decode()


def test_background_work_picks_up_nothing_beneath_the_entry_before_the_step(
    full: FullModel, owner: Any
) -> None:
    file = full.files[0]
    File.objects.filter(pk=file.pk).update(sha256="")
    scan = file.scans.get()
    old = timezone.now() - timedelta(days=1)
    type(scan).objects.filter(pk=scan.pk).update(state="error", last_run_at=old)
    request_only(full, owner)

    assert scan_services.file_scan_run(file_id=file.pk) == []
    assert file.pk not in scan_services.scan_retry_due()
    assert file_services.file_set_sha256(file_id=file.pk) is None


def test_the_admin_lists_rows_beneath_a_deleted_entry_as_deleted_before_the_step(
    full: FullModel, owner: Any, site_admin: Any, client_for: Any
) -> None:
    deletion = request_only(full, owner)
    admin = client_for(site_admin)

    deleted = admin.get("/admin/releases/file/", {"deleted": "deleted"}).content.decode()
    live = admin.get("/admin/releases/file/", {"deleted": "live"}).content.decode()
    assert all(f.pk in deleted and f.pk not in live for f in full.files)
    listing = admin.get("/admin/deletion/deletion/").content.decode()
    assert "the rows beneath the entry are being hidden" in listing
    hide_beneath(deletion.pk)
    listing = admin.get("/admin/deletion/deletion/").content.decode()
    assert "the rows beneath the entry are being hidden" not in listing
    assert "3 files" in listing


def test_the_storage_audit_reports_a_missing_blob_beneath_a_deleted_entry_as_deleted(
    full: FullModel, owner: Any
) -> None:
    from core.ports.storage import blob_store

    lost = full.files[0]
    request_only(full, owner)
    blob_store().delete(lost.storage_key)

    code, report = audit_entry(full.model.pk)
    assert code == 1
    assert f"  {lost.storage_key} (file {lost.pk} of {full.model.pk}, soft-deleted)" in report


# --- the step -----------------------------------------------------------------------------------


def test_the_step_hides_every_row_under_the_deletion_and_records_counts_and_bytes(
    full: FullModel, owner: Any
) -> None:
    before = rows_of(full.model.pk)
    deletion = request_only(full, owner)

    done = hide_entry_beneath.delay(deletion.pk).get()

    assert done == "done"
    deletion.refresh_from_db()
    assert not is_queued(deletion)
    assert live_beneath(full.model.pk) == dict.fromkeys(live_beneath(full.model.pk), 0)
    for name, model_class in SOFT_DELETABLE.items():
        ids = [row["id"] for row in before[name]]
        hidden = model_class.all_objects.filter(pk__in=ids)
        assert set(hidden.values_list("deletion_id", flat=True)) == {deletion.pk}, name
        assert set(hidden.values_list("deleted_at", flat=True)) == {deletion.deleted_at}, name
    assert deletion.counts["files"] == len(full.files)
    assert deletion.counts["responses"] == len(before["responses"])
    assert deletion.counts["tokens"] == 2
    assert deletion.total_bytes == sum(f.size for f in full.files) > 0


def test_the_step_run_three_times_hides_once_and_counts_once(full: FullModel, owner: Any) -> None:
    deletion = request_only(full, owner)
    first = hide_beneath(deletion.pk)
    assert first is not None
    snapshot = rows_of(full.model.pk)

    for _ in range(2):  # a retried task, a message delivered twice
        again = hide_beneath(deletion.pk)
        assert again is not None
        assert again.counts == first.counts and again.total_bytes == first.total_bytes

    assert rows_of(full.model.pk) == snapshot


def test_a_restore_before_the_step_brings_the_entry_back_and_the_step_then_does_nothing(
    full: FullModel, owner: Any, site_admin: Any
) -> None:
    before = rows_of(full.model.pk)
    deletion = request_only(full, owner)

    deletion_restore(actor=Actor(user=site_admin), deletion_id=deletion.pk)
    late = hide_beneath(deletion.pk)

    assert late is not None and late.state == Deletion.State.RESTORED
    after = rows_of(full.model.pk)
    assert_restored(before, after)
    assert Model.objects.filter(pk=full.model.pk).exists()


def test_a_restore_after_the_step_brings_everything_back(
    full: FullModel, owner: Any, site_admin: Any
) -> None:
    before = rows_of(full.model.pk)
    deletion = request_only(full, owner)
    hide_beneath(deletion.pk)

    deletion_restore(actor=Actor(user=site_admin), deletion_id=deletion.pk)

    after = rows_of(full.model.pk)
    assert_restored(before, after)


def test_a_purge_before_the_step_runs_it_first(
    full: FullModel,
    owner: Any,
    site_admin: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    deletion = request_only(full, owner)
    assert is_queued(deletion)

    with django_capture_on_commit_callbacks(execute=True):
        deletion_purge_now(actor=Actor(user=site_admin), deletion_id=deletion.pk)

    deletion.refresh_from_db()
    assert deletion.state == Deletion.State.PURGED
    assert not is_queued(deletion)
    assert deletion.counts["files"] == len(full.files)
    for table in CASCADE:
        assert not table.rows_of_entry(full.model.pk).exists(), table.name


def test_the_sweep_queues_the_step_again_when_it_is_overdue(
    full: FullModel, owner: Any, monkeypatch: Any
) -> None:
    deletion = request_only(full, owner)
    assert purge_module.beneath_overdue() == []
    later = timezone.now() + purge_module.stale_after() + timedelta(minutes=1)
    assert purge_module.beneath_overdue(now=later) == [deletion.pk]
    monkeypatch.setattr(purge_module.timezone, "now", lambda: later)  # the sweep's clock

    purge_due.delay().get()

    deletion.refresh_from_db()
    assert not is_queued(deletion)
    assert live_beneath(full.model.pk) == dict.fromkeys(live_beneath(full.model.pk), 0)


@pytest.mark.django_db(transaction=True)
def test_a_second_delete_racing_the_step_is_not_found_and_the_step_finishes(
    make_entry: Any,
    entry: Model,
    owner: Any,
    reviewer: Any,
    consumer: Any,
    make_token: Any,
    monkeypatch: Any,
) -> None:
    if not is_postgresql():
        if stack_required():
            pytest.fail("the stack is required but the database is not PostgreSQL")
        pytest.skip("row locks need PostgreSQL")
    full = build_full_model(
        entry=make_entry("Raced model"),
        other_entry=entry,
        owner=owner,
        reviewer=reviewer,
        consumer=consumer,
        make_token=make_token,
    )
    # Hold the step (it would run eagerly on commit), delete, then race a second delete with it.
    monkeypatch.setattr(hide_entry_beneath, "delay", lambda deletion_id: None)
    deletion = model_delete(actor=Actor(user=owner), model_id=full.model.pk, confirm=False)
    outcomes: list[Any] = []
    start = threading.Barrier(2)

    def step() -> None:
        try:
            start.wait()
            outcomes.append(hide_beneath(deletion.pk))
        finally:
            connection.close()

    def second() -> None:
        try:
            start.wait()
            model_delete(actor=Actor(user=owner), model_id=full.model.pk, confirm=False)
            outcomes.append("deleted twice")
        except Exception as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=step), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert Deletion.objects.count() == 1
    assert "deleted twice" not in outcomes
    assert any(type(o).__name__ == "NotFound" for o in outcomes), outcomes
    deletion.refresh_from_db()
    assert not is_queued(deletion)
    rows = rows_of(full.model.pk)
    for name in SOFT_DELETABLE:
        assert {row["deletion_id"] for row in rows[name]} == {deletion.pk}, name
