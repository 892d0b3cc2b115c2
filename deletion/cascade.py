"""What an entry owns: every table whose rows go when an entry (``models_app.Model``) is deleted,
declared once.

Deleting an entry (``services.model_delete``), its preview, a restore, the purge, the storage audit
and the deletion benchmark all iterate ``CASCADE``; nothing else lists tables. File and release
deletions (``artefacts``) hide the rows ``within`` names for them.

Each ``Table`` says:

- how the rows of one entry are found: ``lookups``, paths from a row to its entry's id, joined with
  OR (a response belongs to its entry through its review, its release or its access request);
- what a deletion does with them, its ``Treatment``;
- how they are counted (``Count``): the key in ``Deletion.counts`` and in the preview the
  confirmation dialog shows, the words the admin's summary uses, and the place in both;
- which of its rows a file or release deletion hides (``within``: paths to the deleted file's or
  release's id);
- what its rows hold outside the database: blobs in the uploads bucket (``blobs``), image
  manifests in the registry (``manifests``, on the entry itself), deployments another service runs
  (``outside``: told when the rows are hidden and when they come back).

``CASCADE`` is in purge order: the rows of a table go before the rows they point at, the entry
last. Hiding runs in the same order, so the entry is hidden last too.

``EXEMPT`` names the tables that reach an entry through a relation but are not the entry's, each
with its reason. ``tests/deletion/test_cascade.py`` walks Django's app registry
(``unlisted_tables``) and fails for a table that reaches an entry and is in neither.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import Q, QuerySet
from django.db.models.fields.reverse_related import ForeignObjectRel

from access.models import AccessRequest, AccessRequestEntity, Token
from deletion.models import Deletion
from inference.models import InferenceService
from inference.services import removals_abandon, removals_begin, removals_cancel
from inference.tasks import queue_removals
from mirroring.models import Export, ModelTransfer
from models_app.models import Collaborator, Model, ModelCardRevision, ModelTag
from releases.models import File, FilePart, Release, ReleaseFile, ScanResult
from reviews.models import Response, Review
from webhooks.models import Webhook, WebhookDelivery

# Where an entry's blobs live in the uploads bucket: ``beta/model/<modelId>/...`` (see
# ``releases.files.services.storage_key_for``). A purge removes everything under the prefix.
MODEL_BLOB_PREFIX = "beta/model/"


def model_blob_prefix(model_id: str) -> str:
    return f"{MODEL_BLOB_PREFIX}{model_id}/"


class Treatment(StrEnum):
    """What a deletion does with a table's rows."""

    # Soft-deletable rows (``core.models.SoftDeleteModel``): one UPDATE hides the live ones under
    # the Deletion; a restore clears them, the purge deletes them.
    HIDE = "hide"
    # Rows without soft-delete fields that belong to a hidden parent (collaborators, tags, file
    # parts, release-file links, access-request entities): left as they are, unreachable while
    # their parent is hidden, back with it on a restore, deleted by the purge.
    WITH_PARENT = "with its parent"
    # Links from something the entry does not own to the entry (a token's chosen models): removed
    # at once and recorded in the Deletion's progress, put back by a restore. A token left with no
    # model is revoked, and a restore revokes it no more (``services._detach_tokens``).
    DETACH = "detach"


@dataclass(frozen=True)
class Count:
    """How a table's rows are counted: ``key`` in ``Deletion.counts`` and in the preview,
    ``one``/``many`` as the admin's summary says it, ``shown`` its place in the summary and the
    preview. ``previewed=False`` keeps it out of the preview (it is counted when deleted)."""

    key: str
    one: str
    many: str
    shown: int
    previewed: bool = True


@dataclass(frozen=True)
class Blobs:
    """The blobs a table's rows name in the uploads bucket: the key, the id of a multipart upload
    still open (``""`` once finished; the purge aborts it, or its stored parts would stay), the
    size (the preview totals it under ``size_key``), and whether the blob must exist
    (``stored_field``: the storage audit reports the rows where it does not)."""

    key_field: str
    upload_field: str
    size_field: str
    size_key: str
    stored_field: str


@dataclass(frozen=True)
class Outside:
    """What a deletion also does, outside the database, for the rows it hides: ``hidden`` runs in
    the deletion's transaction once the rows are hidden (it queues its work for after the commit,
    so the deletion never waits on another service); ``restored`` runs in the restore's
    transaction before they come back; ``purged`` runs in the purge before they are deleted.
    Each gets the ``Deletion`` and returns how many rows it acted on."""

    hidden: Callable[[Deletion], int]
    restored: Callable[[Deletion], int]
    # Runs in the purge before the rows go: what is still owed outside is given up, loudly.
    purged: Callable[[Deletion], int]


@dataclass(frozen=True)
class Table:
    """One table an entry owns. ``name`` is how tests and the benchmark call it."""

    model: type[models.Model]
    name: str
    lookups: tuple[str, ...]
    treatment: Treatment
    count: Count | None = None
    within: dict[str, tuple[str, ...]] = field(default_factory=dict)
    blobs: Blobs | None = None
    manifests: Count | None = None
    outside: Outside | None = None

    @property
    def label(self) -> str:
        return str(self.model._meta.label)

    def all_rows(self) -> QuerySet[Any]:
        """Every row of the table, hidden ones included."""
        return self.model._base_manager.all()

    def rows_of_entry(self, model_id: str) -> QuerySet[Any]:
        """The rows of one entry, hidden or not, whichever deletion hid them."""
        return self.all_rows().filter(_any_of(self.lookups, model_id))

    def live_rows_of_entry(self, model_id: str) -> QuerySet[Any]:
        """The rows of one entry that no deletion has hidden."""
        rows = self.rows_of_entry(model_id)
        if self.treatment is Treatment.HIDE:
            rows = rows.filter(deleted_at__isnull=True)
        return rows

    def rows_within(self, kind: str, subject_id: Any) -> QuerySet[Any]:
        """The rows a deletion of ``kind`` (file, release) of ``subject_id`` hides."""
        return self.all_rows().filter(_any_of(self.within[kind], subject_id))

    def rows_of_deletion(self, deletion: Deletion) -> QuerySet[Any]:
        """The rows ``deletion`` hid (soft-deletable tables only)."""
        return self.all_rows().filter(deletion=deletion)


def _any_of(lookups: tuple[str, ...], value: Any) -> Q:
    condition = Q()
    for lookup in lookups:
        condition |= Q(**{lookup: value})
    return condition


@dataclass
class EntryRows:
    """What a deletion reads of one entry before hiding it: the primary keys of every row of the
    tables other tables reach the entry through (``parents``: files, releases, reviews, access
    requests...), and the bytes the live rows' blobs hold (``live_bytes``).

    With them each hiding ``UPDATE`` names its rows by an indexed equality: on the entry's id, or
    on its parents' keys (a scan by its file's key) rather than a join from every scan to every
    file. A join's plan depends on the statistics: without them PostgreSQL compared every scan with
    every file of the entry (400 ms at 2,000 files). These plans do not.
    """

    model_id: str
    parents: dict[type[models.Model], list[Any]] = field(default_factory=dict)
    live_bytes: int = 0

    def condition(self, table: Table) -> Q | None:
        """The rows of ``table`` that belong to the entry (hidden or not), by keys; None: none."""
        condition = Q()
        matched = False
        for lookup in table.lookups:
            if lookup in ("model_id", "pk"):
                condition |= Q(**{lookup: self.model_id})
                matched = True
                continue
            parent_field, parent = _parent_of(table, lookup)
            keys = self.parents[parent]
            if keys:
                condition |= Q(**{f"{parent_field}_id__in": keys})
                matched = True
        return condition if matched else None


def _parent_of(table: Table, lookup: str) -> tuple[str, type[models.Model]]:
    """``"file__model_id"`` -> ``("file", File)``: the relation a lookup reaches the entry by."""
    parent_field, _, rest = lookup.partition("__")
    if rest != "model_id":
        raise ValueError(f"{table.name}: {lookup} does not reach the entry through one parent")
    parent = table.model._meta.get_field(parent_field).related_model
    assert isinstance(parent, type)
    return parent_field, parent


def entry_rows(model_id: str) -> EntryRows:
    """Read the keys of the entry's parent rows, parents before children, and its live blob
    bytes: one query per soft-deletable table that is a parent or holds blobs."""
    found = EntryRows(model_id=model_id)
    parents = {
        _parent_of(table, lookup)[1]
        for table in CASCADE
        if table.treatment is Treatment.HIDE
        for lookup in table.lookups
        if lookup not in ("model_id", "pk")
    }
    for table in reversed(CASCADE):
        if table.treatment is not Treatment.HIDE:
            continue
        if table.model not in parents and table.blobs is None:
            continue
        condition = found.condition(table)
        keys: list[Any] = []
        if condition is not None:
            fields = ["pk", "deleted_at"] + ([table.blobs.size_field] if table.blobs else [])
            for row in table.all_rows().filter(condition).order_by().values_list(*fields):
                keys.append(row[0])
                if table.blobs is not None and row[1] is None:
                    found.live_bytes += int(row[2] or 0)
        found.parents[table.model] = keys
    return found


HIDE, WITH_PARENT, DETACH = Treatment.HIDE, Treatment.WITH_PARENT, Treatment.DETACH
FILE, RELEASE = Deletion.Kind.FILE.value, Deletion.Kind.RELEASE.value

CASCADE: tuple[Table, ...] = (
    Table(
        Response,
        "responses",
        ("review__model_id", "release__model_id", "access_request__model_id"),
        HIDE,
        Count("responses", "response", "responses", shown=6),
        within={RELEASE: ("release_id", "review__release_id")},
    ),
    Table(
        Review,
        "reviews",
        ("model_id",),
        HIDE,
        Count("reviews", "review", "reviews", shown=5),
        within={RELEASE: ("release_id",)},
    ),
    Table(
        ScanResult,
        "scans",
        ("file__model_id",),
        HIDE,
        Count("scans", "scan", "scans", shown=8, previewed=False),
        within={FILE: ("file_id",)},
    ),
    Table(FilePart, "fileParts", ("file__model_id",), WITH_PARENT),
    Table(ReleaseFile, "releaseFiles", ("release__model_id", "file__model_id"), WITH_PARENT),
    Table(
        File,
        "files",
        ("model_id",),
        HIDE,
        Count("files", "file", "files", shown=2),
        within={FILE: ("pk",)},
        blobs=Blobs(
            key_field="storage_key",
            upload_field="upload_id",
            size_field="size",
            size_key="fileBytes",
            stored_field="complete",
        ),
    ),
    Table(
        Release,
        "releases",
        ("model_id",),
        HIDE,
        Count("releases", "release", "releases", shown=1),
        within={RELEASE: ("pk",)},
    ),
    Table(AccessRequestEntity, "accessRequestEntities", ("access_request__model_id",), WITH_PARENT),
    Table(
        AccessRequest,
        "accessRequests",
        ("model_id",),
        HIDE,
        Count("accessRequests", "access request", "access requests", shown=4),
    ),
    Table(
        Token.scoped_models.through,
        "tokenScopes",
        ("model_id",),
        DETACH,
        Count("tokens", "token", "tokens", shown=9),
    ),
    # Hidden webhooks send nothing: a delivery still queued finds its webhook hidden and is
    # dropped (webhooks/delivery.py).
    Table(WebhookDelivery, "webhookDeliveries", ("webhook__model_id",), WITH_PARENT),
    Table(
        Webhook,
        "webhooks",
        ("model_id",),
        HIDE,
        Count("webhooks", "webhook", "webhooks", shown=10),
    ),
    # A model's exports and a mirrored model's transfers are records of what moved: they stay
    # with the hidden entry (unreachable: every read filters on a live entry) and go with it.
    # The tarballs already in the exports bucket are the destination's business, not ours.
    Table(Export, "mirrorExports", ("model_id",), WITH_PARENT),
    Table(ModelTransfer, "mirrorTransfers", ("model_id",), WITH_PARENT),
    # A hidden service's deployment is removed from the deploy service in the background,
    # retried until it is gone; a restore before then keeps it running (inference/services.py).
    Table(
        InferenceService,
        "inferenceServices",
        ("model_id",),
        HIDE,
        Count("inferenceServices", "inference service", "inference services", shown=11),
        outside=Outside(
            hidden=lambda deletion: removals_begin(deletion, queue=queue_removals),
            restored=removals_cancel,
            purged=removals_abandon,
        ),
    ),
    Table(
        ModelCardRevision,
        "cardRevisions",
        ("model_id",),
        HIDE,
        Count("cardRevisions", "card revision", "card revisions", shown=7),
    ),
    Table(Collaborator, "collaborators", ("model_id",), WITH_PARENT),
    Table(ModelTag, "tags", ("model_id",), WITH_PARENT),
    # The entry itself, last. Its images live in the registry, in ``<modelId>/<name>`` and, for
    # tags deleted one by one, ``soft_deleted/<modelId>/<name>``; they are counted as tags.
    Table(
        Model,
        "models",
        ("pk",),
        HIDE,
        manifests=Count("images", "image", "images", shown=3),
    ),
)

ENTRY: Table = CASCADE[-1]

# Tables that reach an entry through a relation but do not belong to it: label -> why.
EXEMPT: dict[str, str] = {
    "access.Token": (
        "belongs to its user, not to an entry: deleting an entry detaches it from the token's "
        "chosen models (the tokenScopes rows above) and revokes a token left with none"
    ),
}


def hidden_tables() -> Iterator[Table]:
    """The soft-deletable tables, in purge order."""
    return (table for table in CASCADE if table.treatment is Treatment.HIDE)


def blob_tables() -> Iterator[tuple[Table, Blobs]]:
    """The tables whose rows name blobs, with how."""
    return ((table, table.blobs) for table in CASCADE if table.blobs is not None)


def counted() -> list[tuple[Table, Count]]:
    """Every count the cascade keeps (rows, and the entry's images), in the order shown."""
    found = [(table, table.count) for table in CASCADE if table.count is not None]
    found += [(table, table.manifests) for table in CASCADE if table.manifests is not None]
    return sorted(found, key=lambda pair: pair[1].shown)


def count_labels() -> dict[str, tuple[str, str]]:
    """``{key: (one, many)}`` in the order shown: how the admin's summary reads counts."""
    return {count.key: (count.one, count.many) for _, count in counted()}


# --- checking the declaration against Django's app registry -------------------------------------


def _points_at(model: type[models.Model]) -> set[type[models.Model]]:
    """The models ``model`` points at with a foreign key, one-to-one or many-to-many of its own
    (reverse relations are the other model's). Generic foreign keys name no model: not seen."""
    found: set[type[models.Model]] = set()
    for relation in model._meta.get_fields(include_hidden=True):
        if not relation.is_relation or isinstance(relation, ForeignObjectRel):
            continue
        target = relation.related_model
        if isinstance(target, type) and issubclass(target, models.Model):
            found.add(target)
    return found


def tables_reaching_entries() -> set[type[models.Model]]:
    """Every installed model (auto-created through tables included) with a path of relations to
    an entry: it points at ``models_app.Model``, or at a model that does. An exempt model ends a
    path: what points at it belongs to it, not to the entry."""
    candidates = [m for m in apps.get_models(include_auto_created=True) if m is not Model]
    exempt = {apps.get_model(label) for label in EXEMPT}
    targets = {m: _points_at(m) for m in candidates}
    reaching: set[type[models.Model]] = set()
    grew = True
    while grew:
        grew = False
        owners = {Model} | (reaching - exempt)
        for candidate in candidates:
            if candidate not in reaching and targets[candidate] & owners:
                reaching.add(candidate)
                grew = True
    return reaching


def unlisted_tables() -> list[str]:
    """Labels of the tables that reach an entry but are neither in ``CASCADE`` nor ``EXEMPT``."""
    listed = {table.model for table in CASCADE}
    return sorted(
        str(m._meta.label)
        for m in tables_reaching_entries()
        if m not in listed and m._meta.label not in EXEMPT
    )
