"""``manage.py storage_audit``: orphaned blobs, missing blobs, and its exit codes.

Each test audits only the blobs of its own entry (``--prefix beta/model/<id>/``): the stack's
bucket is shared with every other test run and with the development database.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command, execute_from_command_line
from django.db import connections

from core.ports.storage import blob_store
from deletion.cascade import model_blob_prefix
from deletion.services import model_delete
from models_app.models import Model
from models_app.policy import Actor
from tests.deletion.model_helpers import deletion_env, make_files
from tests.deletion.purge_helpers import audit_entry, storage_audit
from tests.releases.release_helpers import make_file

pytestmark = pytest.mark.django_db

__all__ = ["deletion_env"]


@pytest.fixture(autouse=True)
def _env(deletion_env: None) -> None:
    """Eager tasks and a private blob directory for every test here."""


def test_an_entry_whose_blobs_all_have_rows_passes(entry: Model) -> None:
    files = make_files(entry, 3, store=True)

    code, report = audit_entry(entry.pk)

    assert code == 0, report
    assert f"Bucket {blob_store().bucket}, prefix '{model_blob_prefix(entry.pk)}'" in report
    assert "Orphaned blobs (no file row references them): 0" in report
    assert "Missing blobs (complete file rows without bytes): 0" in report
    assert "no problems found" in report
    assert all(f.storage_key not in report for f in files)


def test_a_blob_that_no_row_references_is_reported_as_an_orphan(entry: Model) -> None:
    make_files(entry, 2, store=True)
    orphan = f"{model_blob_prefix(entry.pk)}files/lost-upload"
    blob_store().put(orphan, [b"nobody remembers me"])

    code, report = audit_entry(entry.pk)

    assert code == 1
    assert "Orphaned blobs (no file row references them): 1" in report
    assert f"  {orphan}" in report
    assert "Missing blobs (complete file rows without bytes): 0" in report
    assert "found 1 orphaned and 0 missing blobs" in report
    blob_store().delete(orphan)


def test_complete_rows_without_their_blob_are_reported_missing_deleted_ones_included(
    entry: Model, owner: Any
) -> None:
    live = make_file(entry, "live.bin", store=False)
    stored_then_lost = make_files(entry, 2, store=True)
    model_delete(actor=Actor(user=owner), model_id=entry.pk, confirm_name=entry.name)
    blob_store().delete(stored_then_lost[0].storage_key)

    code, report = audit_entry(entry.pk)

    assert code == 1
    assert "Missing blobs (complete file rows without bytes): 2" in report
    assert f"  {live.storage_key} (file {live.pk} of {entry.pk}, soft-deleted)" in report
    lost = stored_then_lost[0]
    assert f"  {lost.storage_key} (file {lost.pk} of {entry.pk}, soft-deleted)" in report
    assert stored_then_lost[1].storage_key not in report


def test_a_live_row_without_its_blob_is_reported_as_live(entry: Model) -> None:
    missing = make_file(entry, "weights.bin", store=False)

    code, report = audit_entry(entry.pk)

    assert code == 1
    assert f"  {missing.storage_key} (file {missing.pk} of {entry.pk}, live)" in report


def test_an_unfinished_upload_without_bytes_is_not_missing(entry: Model) -> None:
    make_file(entry, "uploading.bin", complete=False, store=False)

    code, report = audit_entry(entry.pk)

    assert code == 0, report


def test_quiet_prints_only_the_counts(entry: Model) -> None:
    orphan = f"{model_blob_prefix(entry.pk)}files/quiet-orphan"
    blob_store().put(orphan, [b"x"])
    out = io.StringIO()

    with pytest.raises(CommandError):
        call_command("storage_audit", prefix=model_blob_prefix(entry.pk), quiet=True, stdout=out)

    assert "Orphaned blobs (no file row references them): 1" in out.getvalue()
    assert orphan not in out.getvalue()
    blob_store().delete(orphan)


def test_manage_py_exits_zero_when_clean_and_one_when_it_finds_a_problem(
    entry: Model, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # manage.py closes every database connection when a command ends, the test's own included
    # (on PostgreSQL that would end the test's transaction): keep it open.
    monkeypatch.setattr(connections, "close_all", lambda: None)
    make_files(entry, 1, store=True)
    argv = ["manage.py", "storage_audit", "--prefix", model_blob_prefix(entry.pk)]

    execute_from_command_line(argv)  # returns: exit code 0
    assert "no problems found" in capsys.readouterr().out

    make_file(entry, "gone.bin", store=False)
    with pytest.raises(SystemExit) as exited:
        execute_from_command_line(argv)
    assert exited.value.code == 1
    assert "found 0 orphaned and 1 missing blobs" in capsys.readouterr().err


def test_an_unreachable_store_exits_two(entry: Model, settings: Any) -> None:
    settings.BLOB_STORAGE = "s3"
    settings.S3_ENDPOINT = "http://127.0.0.1:9"  # the discard port: nothing listens
    settings.S3_ACCESS_KEY = "nobody"
    settings.S3_SECRET_KEY = "nothing"
    blob_store.cache_clear()

    code, report = storage_audit(model_blob_prefix(entry.pk))

    assert code == 2
    assert "The audit could not run" in report
