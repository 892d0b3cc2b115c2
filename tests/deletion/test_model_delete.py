"""The model deletion service: what it hides, what it records, and what it refuses.

``model_delete`` hides the entry and detaches its tokens in one transaction; the worker's step
(``deletion.beneath``) then hides the rows beneath with one bulk UPDATE per table. These tests
check every kind of row the two hide, both query counts, that a failure half way changes nothing,
and that refusals (wrong name, gone, invisible, not an owner, a racing second delete) leave every
row as it was.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from access.models import Token
from core.audit import AuditAction
from core.errors import BadRequest, Forbidden, NotFound
from core.models import AuditEvent
from core.ports.storage import blob_store
from deletion import services
from deletion.beneath import hide_beneath
from deletion.models import Deletion
from deletion.services import model_delete, model_deletion_preview
from models_app import listing_cache
from models_app.models import Model
from models_app.policy import Actor
from releases.models import File, ReleaseFile
from tests.conftest import stack_required
from tests.deletion.model_helpers import (
    SOFT_DELETABLE,
    FullModel,
    build_full_model,
    deletion_env,
    full,
    is_postgresql,
    make_files,
    make_scans,
    rows_of,
)
from tests.releases.release_helpers import make_release, with_card

pytestmark = pytest.mark.django_db

__all__ = ["deletion_env", "full"]


@pytest.fixture(autouse=True)
def _env(deletion_env: None) -> None:
    """Eager tasks and a private blob directory for every test here."""


def delete_as(user: Any, model: Model, name: Any = None, *, beneath: bool = True) -> Deletion:
    """Delete ``model`` as ``user``; with ``beneath``, then hide the rows beneath it as the
    worker does once the request has committed (inside a test's transaction nothing commits)."""
    deletion = model_delete(
        actor=Actor(user=user),
        model_id=model.pk,
        confirm_name=model.name if name is None else name,
    )
    if beneath:
        settled = hide_beneath(deletion.pk)
        assert settled is not None
        deletion = settled
    return deletion


# --- the cascade ------------------------------------------------------------------------------


def test_deleting_a_model_hides_every_row_under_it_under_one_deletion(
    full: FullModel, owner: Any
) -> None:
    before = rows_of(full.model.pk)
    deletion = delete_as(owner, full.model)

    assert Deletion.objects.count() == 1
    for name, model_class in SOFT_DELETABLE.items():
        rows = before[name]
        assert rows, f"the fixture has no {name}"
        ids = [row["id"] for row in rows]
        assert not model_class.objects.filter(pk__in=ids).exists(), f"{name} still visible"
        hidden = model_class.all_objects.filter(pk__in=ids)
        assert hidden.count() == len(ids), f"{name} rows were removed, not hidden"
        assert set(hidden.values_list("deletion_id", flat=True)) == {deletion.pk}, name
        assert set(hidden.values_list("deleted_by_id", flat=True)) == {owner.pk}, name
        assert set(hidden.values_list("deleted_at", flat=True)) == {deletion.deleted_at}, name


def test_the_deletion_record_says_who_when_what_and_how_many_bytes(
    full: FullModel, owner: Any, settings: Any
) -> None:
    before = rows_of(full.model.pk)
    deletion = delete_as(owner, full.model)

    assert deletion.kind == Deletion.Kind.MODEL
    assert deletion.subject == full.model.pk
    assert deletion.subject_name == full.model.name
    assert deletion.model_id == full.model.pk
    assert deletion.deleted_by == owner
    assert deletion.state == Deletion.State.PENDING
    assert deletion.purge_due == deletion.deleted_at + settings.DELETION_RETENTION
    assert deletion.total_bytes == sum(f.size for f in full.files) > 0
    counts = deletion.counts
    assert counts["files"] == len(full.files) == 3
    assert counts["scans"] == len(before["scans"]) == 3
    assert counts["releases"] == 1
    assert counts["cardRevisions"] == 2
    assert counts["accessRequests"] == 1
    # Two release reviews (the schema's roles) and one access-request review.
    assert counts["reviews"] == len(before["reviews"]) == 3
    # The msro decision, the release comment and the access request comment.
    assert counts["responses"] == len(before["responses"]) == 3
    assert counts["tokens"] == 2
    assert counts["webhooks"] == 1
    assert counts["inferenceServices"] == 1
    audit = AuditEvent.objects.get(action=AuditAction.MODEL_DELETE, subject=full.model.pk)
    assert audit.actor == f"user:{owner.username}"
    assert audit.detail["deletion"] == deletion.pk


def test_links_and_blobs_stay_until_the_purge(full: FullModel, owner: Any) -> None:
    delete_as(owner, full.model)

    assert ReleaseFile.objects.filter(release=full.release).count() == len(full.files)
    store = blob_store()
    assert all(store.exists(key) for key in full.blob_keys)


def test_a_token_scoped_only_to_the_model_is_revoked_and_one_scoped_wider_keeps_the_rest(
    full: FullModel, owner: Any, public_entry: Model
) -> None:
    deletion = delete_as(owner, full.model)

    only = Token.objects.get(pk=full.only_token.pk)
    shared = Token.objects.get(pk=full.shared_token.pk)
    wide = Token.objects.get(pk=full.wide_token.pk)
    assert only.revoked_at is not None
    assert list(only.scoped_models.all()) == []
    assert shared.revoked_at is None
    assert list(shared.scoped_models.values_list("pk", flat=True)) == [public_entry.pk]
    assert wide.revoked_at is None
    recorded = deletion.progress["tokens"]
    assert sorted(recorded["detached"]) == sorted([full.only_token.pk, full.shared_token.pk])
    assert recorded["revoked"] == [full.only_token.pk]


def test_a_token_already_revoked_is_not_revoked_again(
    entry: Model, owner: Any, make_token: Any
) -> None:
    token, _ = make_token(owner, scope="models", actions=["model:read"])
    token.scoped_models.set([entry])
    Token.objects.filter(pk=token.pk).update(revoked_at="2020-01-01T00:00:00Z")

    deletion = delete_as(owner, entry)

    assert deletion.progress["tokens"] == {"detached": [token.pk], "revoked": []}
    revoked_at = Token.objects.get(pk=token.pk).revoked_at
    assert revoked_at is not None and revoked_at.year == 2020


def test_rows_hidden_by_an_earlier_deletion_keep_their_own_record(
    full: FullModel, owner: Any
) -> None:
    earlier = Deletion.objects.create(
        kind=Deletion.Kind.FILE,
        subject=full.files[0].pk,
        model_id=full.model.pk,
        purge_due=full.model.created_at + timedelta(days=30),
    )
    File.all_objects.filter(pk=full.files[0].pk).update(
        deleted_at=earlier.deleted_at, deletion=earlier
    )

    deletion = delete_as(owner, full.model)

    assert File.all_objects.get(pk=full.files[0].pk).deletion_id == earlier.pk
    assert deletion.counts["files"] == len(full.files) - 1
    assert deletion.total_bytes == sum(f.size for f in full.files[1:])


def test_the_preview_counts_what_the_deletion_will_take(full: FullModel, owner: Any) -> None:
    preview = model_deletion_preview(actor=Actor(user=owner), model=full.model)
    deletion = delete_as(owner, full.model)

    assert preview.releases == deletion.counts["releases"]
    assert preview.files == deletion.counts["files"]
    assert preview.file_bytes == deletion.total_bytes
    assert preview.access_requests == deletion.counts["accessRequests"]
    assert preview.reviews == deletion.counts["reviews"]
    assert preview.responses == deletion.counts["responses"]
    assert preview.card_revisions == deletion.counts["cardRevisions"]
    assert preview.tokens == deletion.counts["tokens"]


def test_only_owners_may_see_the_preview(entry: Model, contributor: Any, outsider: Any) -> None:
    with pytest.raises(Forbidden):
        model_deletion_preview(actor=Actor(user=contributor), model=entry)
    with pytest.raises(NotFound):
        model_deletion_preview(actor=Actor(user=outsider), model=entry)


def test_the_query_count_is_the_same_for_one_file_and_for_two_hundred(
    make_entry: Any, owner: Any
) -> None:
    counts: list[int] = []
    worker: list[int] = []
    for n, files in enumerate((1, 200)):
        model = with_card(make_entry(f"Sized model {n}"), owner)
        rows = make_files(model, files)
        make_scans(rows)
        make_release(model, owner, "1.0.0", file_ids=[f.id for f in rows])
        with CaptureQueriesContext(connection) as queries:
            deletion = delete_as(owner, model, beneath=False)
        counts.append(len(queries))
        # The worker's step: its statements do not grow with the rows either.
        with CaptureQueriesContext(connection) as queries:
            settled = hide_beneath(deletion.pk)
        assert settled is not None and settled.counts["files"] == files
        worker.append(len(queries))
    assert counts[0] == counts[1], counts
    assert worker[0] == worker[1], worker


def test_a_purge_is_scheduled_on_commit_when_the_retention_is_zero(
    entry: Model, owner: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.DELETION_RETENTION = timedelta(0)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        delete_as(owner, entry, beneath=False)
    assert len(_besides_the_marketplace_cache(callbacks)) == 1


def test_no_purge_is_scheduled_inside_the_retention_window(
    entry: Model, owner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        delete_as(owner, entry, beneath=False)
    assert _besides_the_marketplace_cache(callbacks) == []


def _besides_the_marketplace_cache(callbacks: list[Any]) -> list[Any]:
    """The callbacks left once the marketplace's cache clearing (listing_cache) and the bulk
    hiding of the rows beneath the entry (always queued) are set aside."""
    return [
        c
        for c in callbacks
        if (c.__module__, c.__name__) != (listing_cache.__name__, "forget")
        and c.__name__ != "queue_hiding_beneath"
    ]


# --- atomicity --------------------------------------------------------------------------------


@pytest.mark.parametrize("step", ["_detach_tokens", "audit_record"])
def test_a_failure_half_way_through_the_cascade_leaves_every_row_exactly_as_before(
    step: str, full: FullModel, owner: Any, monkeypatch: Any
) -> None:
    before = rows_of(full.model.pk)

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the database went away")

    # Both steps run in the request's transaction (the audit after the entry's UPDATE).
    monkeypatch.setattr(services, step, fail)
    with pytest.raises(RuntimeError):
        delete_as(owner, full.model)

    assert rows_of(full.model.pk) == before
    assert Model.objects.filter(pk=full.model.pk).exists()


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["", "Private", "private model", "PRIVATE MODEL", "Private model ", " Private model", None, 7],
    ids=[
        "empty",
        "partial",
        "lower case",
        "upper case",
        "trailing space",
        "leading space",
        "none",
        "number",
    ],
)
def test_a_name_that_does_not_match_exactly_deletes_nothing(
    typed: Any, full: FullModel, owner: Any
) -> None:
    assert full.model.name == "Private model"
    before = rows_of(full.model.pk)

    with pytest.raises(BadRequest):
        model_delete(actor=Actor(user=owner), model_id=full.model.pk, confirm_name=typed)

    assert rows_of(full.model.pk) == before


def test_a_model_already_deleted_is_not_found(entry: Model, owner: Any) -> None:
    delete_as(owner, entry)

    with pytest.raises(NotFound):
        delete_as(owner, entry)
    assert Deletion.objects.count() == 1


def test_an_unknown_model_is_not_found(owner: Any) -> None:
    with pytest.raises(NotFound):
        model_delete(actor=Actor(user=owner), model_id="no-such-model-000000", confirm_name="x")


def test_someone_who_cannot_see_the_model_gets_not_found_not_forbidden(
    full: FullModel, outsider: Any
) -> None:
    before = rows_of(full.model.pk)

    with pytest.raises(NotFound):
        delete_as(outsider, full.model)

    assert rows_of(full.model.pk) == before


def test_an_anonymous_user_gets_not_found(entry: Model) -> None:
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(NotFound):
        delete_as(AnonymousUser(), entry)


@pytest.mark.parametrize("persona", ["contributor", "consumer", "reviewer", "site_admin"])
def test_someone_who_can_see_the_model_but_is_not_an_owner_is_forbidden(
    persona: str, full: FullModel, personas: dict[str, Any]
) -> None:
    before = rows_of(full.model.pk)

    with pytest.raises(Forbidden):
        delete_as(personas[persona], full.model)

    assert rows_of(full.model.pk) == before


def test_an_outsider_is_forbidden_on_a_public_model(public_entry: Model, outsider: Any) -> None:
    with pytest.raises(Forbidden):
        delete_as(outsider, public_entry)
    assert Model.objects.filter(pk=public_entry.pk).exists()


def test_a_wrong_name_is_not_even_considered_for_a_non_owner(
    entry: Model, contributor: Any
) -> None:
    with pytest.raises(Forbidden):
        delete_as(contributor, entry, name="not the name")


def test_without_confirmation_the_permission_is_still_checked(
    entry: Model, contributor: Any
) -> None:
    with pytest.raises(Forbidden):
        model_delete(actor=Actor(user=contributor), model_id=entry.pk, confirm=False)
    assert Model.objects.filter(pk=entry.pk).exists()


def test_an_owners_token_without_model_write_is_forbidden(
    entry: Model, owner: Any, make_token: Any
) -> None:
    token, _ = make_token(owner, actions=["model:read"])
    with pytest.raises(Forbidden):
        model_delete(actor=Actor(user=owner, token=token), model_id=entry.pk, confirm=False)


def test_an_owners_token_limited_to_another_model_does_not_find_this_one(
    entry: Model, public_entry: Model, owner: Any, make_token: Any
) -> None:
    token, _ = make_token(owner, scope="models", actions=["model:read", "model:write"])
    token.scoped_models.set([public_entry])
    with pytest.raises(NotFound):
        model_delete(actor=Actor(user=owner, token=token), model_id=entry.pk, confirm=False)


# --- a second delete racing the first ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_second_delete_racing_the_first_gets_not_found_and_nothing_is_half_deleted(
    make_entry: Any,
    public_entry: Model,
    owner: Any,
    reviewer: Any,
    consumer: Any,
    make_token: Any,
    monkeypatch: Any,
) -> None:
    if not is_postgresql():
        if stack_required():
            pytest.fail("the stack is required but the database is not PostgreSQL")
        pytest.skip("row locks (SELECT ... FOR UPDATE) need PostgreSQL")
    full = build_full_model(
        entry=make_entry("Raced model"),
        other_entry=public_entry,
        owner=owner,
        reviewer=reviewer,
        consumer=consumer,
        make_token=make_token,
    )
    detach = services._detach_tokens

    def slow_detach(*args: Any, **kwargs: Any) -> Any:
        # Hold the row lock long enough for the other request to reach it and wait.
        time.sleep(0.5)
        return detach(*args, **kwargs)

    monkeypatch.setattr(services, "_detach_tokens", slow_detach)
    start = threading.Barrier(2)
    outcomes: list[Any] = []

    def attempt() -> None:
        try:
            start.wait()
            outcomes.append(delete_as(owner, full.model))
        except Exception as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    deletions = [o for o in outcomes if isinstance(o, Deletion)]
    refusals = [o for o in outcomes if isinstance(o, NotFound)]
    assert len(deletions) == 1 and len(refusals) == 1, outcomes
    assert Deletion.objects.count() == 1
    rows = rows_of(full.model.pk)
    for name in SOFT_DELETABLE:
        assert {row["deletion_id"] for row in rows[name]} == {deletions[0].pk}, name
    assert Token.objects.get(pk=full.only_token.pk).revoked_at is not None
