"""The cascade declaration (``deletion.cascade``): complete, consistent, and obeyed.

- Completeness: Django's app registry is walked for every table with a path of foreign keys,
  one-to-ones or many-to-manys (auto-created through tables included) to an entry; each must be in
  the cascade or exempt, with a reason. A throw-away table proves the walk can fail.
- Consistency: lookups lead to the entry's id, the purge order deletes rows before the rows they
  point at, treatments fit the tables.
- Obedience: one entry with a row in every cascaded table is deleted, restored, deleted again and
  purged, and each table is checked by iterating the cascade, so a table added to it is checked
  without a line written here (and fails until the entry built here has a row of it).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.apps import apps
from django.conf import settings as django_settings
from django.db import models

from access.models import Token
from core.models import SoftDeleteModel
from core.ports import registry
from core.ports.storage import blob_store
from deletion.beneath import hide_beneath
from deletion.cascade import (
    CASCADE,
    ENTRY,
    EXEMPT,
    Table,
    Treatment,
    counted,
    tables_reaching_entries,
    unlisted_tables,
)
from deletion.models import Deletion
from deletion.services import (
    deletion_purge_now,
    deletion_restore,
    model_delete,
    model_deletion_preview,
)
from mirroring.models import Export, ModelTransfer
from models_app.models import Model
from models_app.policy import Actor
from releases.files.services import multipart_part, multipart_start
from releases.models import File, Release
from tests.conftest import stack_required
from tests.deletion.model_helpers import FullModel, build_full_model, deletion_env
from tests.releases.release_helpers import push_tiny_image

__all__ = ["deletion_env"]

SUBJECTS: dict[str, type[models.Model]] = {
    Deletion.Kind.FILE.value: File,
    Deletion.Kind.RELEASE.value: Release,
}


# --- completeness ---------------------------------------------------------------------------------


def test_every_table_that_reaches_an_entry_is_in_the_cascade_or_exempt() -> None:
    missing = unlisted_tables()

    assert missing == [], (
        "Tables that reach an entry (models_app.Model) through a foreign key, one-to-one or "
        f"many-to-many, but that deletion/cascade.py does not declare: {', '.join(missing)}. "
        "Add each to CASCADE (how its rows are found, hidden, counted, restored and purged), "
        "or to EXEMPT with the reason it does not belong to the entry."
    )


@pytest.fixture
def throwaway_table() -> Iterator[Any]:
    """Define a table in the real app registry (app ``deletion``) and take it out again."""
    defined: list[str] = []

    def define(**fields: Any) -> type[models.Model]:
        name = f"Throwaway{uuid.uuid4().hex[:8]}"
        meta = type("Meta", (), {"app_label": "deletion"})
        table = type(
            name, (models.Model,), {"__module__": "deletion.models", "Meta": meta, **fields}
        )
        defined.append(name.lower())
        apps.clear_cache()
        return table

    try:
        yield define
    finally:
        registered = apps.all_models["deletion"]
        for key in list(registered):
            if any(key.startswith(name) for name in defined):
                del registered[key]
        apps.clear_cache()
        assert unlisted_tables() == []


def test_the_walk_names_a_new_table_with_a_foreign_key_to_an_entry(throwaway_table: Any) -> None:
    table = throwaway_table(
        model=models.ForeignKey("models_app.Model", on_delete=models.CASCADE, related_name="+")
    )

    assert unlisted_tables() == [table._meta.label]


def test_the_walk_follows_foreign_keys_through_tables_the_entry_owns(
    throwaway_table: Any,
) -> None:
    table = throwaway_table(
        scan=models.ForeignKey("releases.ScanResult", on_delete=models.CASCADE, related_name="+")
    )

    assert unlisted_tables() == [table._meta.label]


def test_the_walk_names_a_many_to_many_to_an_entry_and_its_through_table(
    throwaway_table: Any,
) -> None:
    table = throwaway_table(models=models.ManyToManyField("models_app.Model", related_name="+"))
    through = table._meta.get_field("models").remote_field.through

    assert unlisted_tables() == sorted([table._meta.label, through._meta.label])


def test_a_table_of_an_exempt_table_does_not_belong_to_the_entry(throwaway_table: Any) -> None:
    throwaway_table(
        token=models.ForeignKey("access.Token", on_delete=models.CASCADE, related_name="+")
    )

    assert unlisted_tables() == []


def test_exemptions_are_few_still_needed_and_say_why() -> None:
    reaching = {m._meta.label for m in tables_reaching_entries()}
    listed = {table.label for table in CASCADE}

    assert len(EXEMPT) <= 3, "an entry should own what reaches it; exempt only what it cannot"
    for label, reason in EXEMPT.items():
        assert label in reaching, f"{label} no longer reaches an entry: drop its exemption"
        assert label not in listed, f"{label} is both cascaded and exempt"
        assert len(reason.split()) >= 8, f"say why {label} is exempt"


def test_every_cascaded_table_belongs_to_an_entry_and_is_listed_once() -> None:
    reaching = tables_reaching_entries()
    labels = [table.label for table in CASCADE]

    assert len(labels) == len(set(labels))
    assert len({table.name for table in CASCADE}) == len(CASCADE)
    assert ENTRY.model is Model and ENTRY.lookups == ("pk",)
    for table in CASCADE:
        assert table is ENTRY or table.model in reaching, f"{table.label} is not an entry's"


# --- consistency ----------------------------------------------------------------------------------


def _leads_to(model: type[models.Model], path: str, target: type[models.Model]) -> bool:
    """Whether the lookup ``path`` from ``model`` ends at the id of a ``target`` row."""
    *hops, last = path.split("__")
    for hop in hops:
        field = model._meta.get_field(hop)
        if not field.is_relation or field.related_model is None:
            return False
        model = field.related_model
    if last == "pk":
        return model is target
    field = model._meta.get_field(last)
    return bool(field.many_to_one or field.one_to_one) and field.related_model is target


def test_every_lookup_leads_to_the_entry_and_every_within_to_what_is_deleted() -> None:
    for table in CASCADE:
        assert table.lookups, table.label
        for path in table.lookups:
            assert _leads_to(table.model, path, Model), f"{table.label}: {path}"
        for kind, paths in table.within.items():
            assert kind in SUBJECTS, f"{table.label}: no {kind} deletion hides rows"
            assert table.treatment is Treatment.HIDE, f"{table.label} is hidden with a {kind}"
            for path in paths:
                assert _leads_to(table.model, path, SUBJECTS[kind]), f"{table.label}: {path}"


def test_the_purge_deletes_a_tables_rows_before_the_rows_they_point_at() -> None:
    place = {table.model: n for n, table in enumerate(CASCADE)}
    for n, table in enumerate(CASCADE):
        for field in table.model._meta.concrete_fields:
            target = field.related_model
            if not field.is_relation or target not in place or target is table.model:
                continue
            if field.remote_field.on_delete is models.SET_NULL:
                continue  # cleared by the database as the target goes (the entry's card)
            assert place[target] > n, f"{table.label}.{field.name} -> {target._meta.label}"


def test_each_treatment_fits_its_table() -> None:
    for table in CASCADE:
        soft = issubclass(table.model, SoftDeleteModel)
        assert soft == (table.treatment is Treatment.HIDE), table.label
        if table.treatment is Treatment.WITH_PARENT:
            assert _parents(table), f"{table.label} has no soft-deletable parent in the cascade"
        if table.blobs is not None:
            assert table.treatment is Treatment.HIDE, f"{table.label} holds blobs"
    # services._detach_tokens and _restore_tokens know how to detach and restore token scopes.
    detached = [table.model for table in CASCADE if table.treatment is Treatment.DETACH]
    assert detached == [Token.scoped_models.through]
    assert [table for table in CASCADE if table.manifests is not None] == [ENTRY]


@pytest.mark.django_db
def test_counts_have_one_key_and_one_place_each_and_the_preview_keeps_its_keys(
    entry: Model, owner: Any
) -> None:
    keys = [count.key for _, count in counted()]
    assert len(keys) == len(set(keys))
    assert len({count.shown for _, count in counted()}) == len(keys)

    preview = model_deletion_preview(actor=Actor(user=owner), model=entry)

    # What the confirmation dialog shows, in its order.
    assert list(preview.as_counts()) == [
        "releases",
        "files",
        "fileBytes",
        "images",
        "accessRequests",
        "reviews",
        "responses",
        "cardRevisions",
        "tokens",
        "webhooks",
        "inferenceServices",
    ]
    assert preview.file_bytes == preview.as_counts()["fileBytes"] == 0


def test_the_dialog_shows_every_previewed_count() -> None:
    template = Path(django_settings.BASE_DIR, "templates", "deletion", "_preview.html")
    source = template.read_text(encoding="utf-8")
    keys = [count.key for _, count in counted() if count.previewed]
    keys += [table.blobs.size_key for table in CASCADE if table.blobs is not None]

    for key in keys:
        attribute = re.sub(r"([A-Z])", lambda match: "_" + match.group(1).lower(), key)
        assert f"preview.{attribute}" in source, f"{template} does not show {key}"


def _parents(table: Table) -> list[str]:
    """Names of the foreign keys of ``table`` to soft-deletable cascaded tables it goes with."""
    hidden = {t.model for t in CASCADE if t.treatment is Treatment.HIDE}
    return [
        field.name
        for field in table.model._meta.concrete_fields
        if field.is_relation
        and field.related_model in hidden
        and field.remote_field.on_delete is models.CASCADE
    ]


# --- obedience: one entry with a row in every table, deleted, restored, deleted and purged --------


def registry_answers() -> bool:
    if registry.is_configured():
        try:
            requests.get(f"{django_settings.REGISTRY_URL}/v2/", timeout=3)
            return True
        except requests.RequestException:
            pass
    if stack_required():
        pytest.fail("the stack is required but the registry does not answer")
    return False


def fill_every_table(full: FullModel, owner: Any) -> list[tuple[str, str]]:
    """Add to ``full`` what ``build_full_model`` leaves out: a tag, an export and a transfer, an
    open multipart upload with one stored part, and (with a registry) an image; returns its
    (name, tag)."""
    actor = Actor(user=owner)
    model = full.model
    model.tag_rows.create(name="cascade")
    # A mirroring record of each kind (the feature's own tests make them for real).
    Export.objects.create(id="cascade-export", model=model, destination_model_id="m-000001")
    ModelTransfer.objects.create(export_id="cascade-transfer", model=model)
    upload, _ = multipart_start(
        actor=actor, model=model, name="open.bin", mime="", size=10, tags=None
    )
    multipart_part(
        actor=actor,
        file=upload,
        upload_id=upload.upload_id,
        part_number=1,
        stream=[b"0123456789"],
        length=10,
    )
    if not registry_answers():
        return []
    push_tiny_image(model.pk, "app", "v1")
    return [("app", "v1")]


def snapshot(table: Table, model_id: str) -> list[tuple[Any, ...]]:
    """A table's rows of the entry as values. Detached rows come back as new rows: their ids are
    left out."""
    fields = [
        f.attname
        for f in table.model._meta.concrete_fields
        if not (f.primary_key and table.treatment is Treatment.DETACH)
    ]
    return sorted(table.rows_of_entry(model_id).values_list(*fields), key=repr)


def assert_deleted(table: Table, model_id: str, deletion: Deletion) -> None:
    rows = table.rows_of_entry(model_id)
    if table.treatment is Treatment.HIDE:
        assert not table.live_rows_of_entry(model_id).exists(), f"{table.name} still live"
        assert set(rows.values_list("deletion_id", flat=True)) == {deletion.pk}, table.name
    elif table.treatment is Treatment.DETACH:
        assert not rows.exists(), f"{table.name} still attached"
    else:
        assert rows.exists(), f"{table.name} were removed, not left with their parent"
        for parent in _parents(table):
            live = rows.filter(**{f"{parent}__deleted_at__isnull": True})
            assert not live.exists(), f"{table.name} reachable through a live {parent}"


def blobs_of(model_id: str) -> tuple[list[str], list[tuple[str, str]]]:
    """The entry's blob keys and open multipart uploads, from the cascade's blob tables."""
    keys: list[str] = []
    uploads: list[tuple[str, str]] = []
    for table in CASCADE:
        if table.blobs is None:
            continue
        rows = table.rows_of_entry(model_id)
        keys += rows.values_list(table.blobs.key_field, flat=True)
        uploads += rows.exclude(**{table.blobs.upload_field: ""}).values_list(
            table.blobs.key_field, table.blobs.upload_field
        )
    return keys, uploads


def upload_is_open(key: str, upload_id: str) -> bool:
    try:
        blob_store().multipart_part(key, upload_id, 1, [b"x"], length=1)
    except Exception:  # each adapter raises its own "no such upload"
        return False
    return True


@pytest.mark.django_db
def test_every_cascaded_table_is_hidden_restored_and_purged_with_its_entry(
    deletion_env: None,
    entry: Model,
    public_entry: Model,
    owner: Any,
    reviewer: Any,
    consumer: Any,
    site_admin: Any,
    make_token: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    full = build_full_model(
        entry=entry,
        other_entry=public_entry,
        owner=owner,
        reviewer=reviewer,
        consumer=consumer,
        make_token=make_token,
    )
    images = fill_every_table(full, owner)
    model_id = full.model.pk
    before = {table.name: snapshot(table, model_id) for table in CASCADE}
    empty = [name for name, rows in before.items() if not rows]
    assert empty == [], f"build a row of {empty} in fill_every_table or build_full_model"
    keys, uploads = blobs_of(model_id)
    assert keys and uploads

    def delete() -> Deletion:
        return model_delete(
            actor=Actor(user=owner), model_id=model_id, confirm_name=full.model.name
        )

    # The request, then the worker's bulk step (inside a test's transaction nothing commits).
    settled = hide_beneath(delete().pk)
    assert settled is not None
    deletion = settled

    for table in CASCADE:
        assert_deleted(table, model_id, deletion)
        if table.count is not None:
            assert deletion.counts[table.count.key] == len(before[table.name]), table.name
    assert deletion.counts["images"] == len(images)

    deletion_restore(actor=Actor(user=site_admin), deletion_id=deletion.pk)

    for table in CASCADE:
        assert snapshot(table, model_id) == before[table.name], f"{table.name} not restored"

    # This time the bulk step has not run: the purge runs it first.
    again = delete()
    with django_capture_on_commit_callbacks(execute=True):
        deletion_purge_now(actor=Actor(user=site_admin), deletion_id=again.pk)

    again.refresh_from_db()
    assert again.state == Deletion.State.PURGED
    for table in CASCADE:
        assert not table.rows_of_entry(model_id).exists(), f"{table.name} of the entry remain"
    store = blob_store()
    assert [key for key in keys if store.exists(key)] == []
    assert [pair for pair in uploads if upload_is_open(*pair)] == []
    assert [image for image in images if registry.tag_exists(model_id, *image)] == []
