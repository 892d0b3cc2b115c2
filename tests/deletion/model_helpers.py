"""Building an entry with one of every kind of row a model deletion must hide, and snapshotting
every row of an entry so a test can prove that nothing changed.

Releases, reviews, responses and card revisions go through their services; file rows, scans and
access requests are written straight to the database (their own features test how they are made)
and file bytes really go to blob storage.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection

from access.models import AccessRequest, AccessRequestEntity, Token
from bailo_site.celery import app as celery_app
from core.ports.storage import blob_store
from deletion.cascade import CASCADE, hidden_tables
from deletion.models import Deletion
from inference.models import InferenceService
from models_app.models import Model
from models_app.policy import Actor
from releases.models import File, Release, ScanResult
from reviews.models import Response, Review
from reviews.services import (
    comment_add,
    review_respond,
    reviews_open_for_release,
)
from tests.conftest import blob_store_follow_settings
from tests.releases.release_helpers import make_release, with_card
from webhooks.models import DeliveryState, Webhook, WebhookDelivery

ACCESS_SCHEMA = "minimal-access-request-general-v10"


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


@dataclass
class FullModel:
    """An entry with card revisions, files (and blobs), scans, a release, its reviews and
    responses, an access request with its review and a comment, tokens that name it, a
    webhook with a delivery record and an inference service."""

    model: Model
    files: list[File]
    release: Release
    access_request: AccessRequest
    only_token: Token
    shared_token: Token
    wide_token: Token
    webhook: Webhook
    inference_service: InferenceService
    secrets: dict[str, str] = field(default_factory=dict)
    blob_keys: list[str] = field(default_factory=list)


def make_files(
    model: Model, count: int, *, store: bool = False, prefix: str = "file"
) -> list[File]:
    """``count`` complete file rows of ``model`` in one query; with ``store`` their bytes are
    written to blob storage too."""
    rows = []
    for n in range(count):
        data = f"{prefix} {n} of {model.pk}".encode()
        key = f"beta/model/{model.pk}/files/{uuid.uuid4()}"
        if store:
            blob_store().put(key, [data])
        rows.append(
            File(
                id=uuid.uuid4().hex[:24],
                model=model,
                name=f"{prefix}-{n}.bin",
                size=len(data),
                storage_key=key,
                complete=True,
                sha256=hashlib.sha256(data).hexdigest(),
            )
        )
    return File.objects.bulk_create(rows)


def make_scans(files: list[File]) -> list[ScanResult]:
    return ScanResult.objects.bulk_create(
        [ScanResult(file=f, tool_name="clamAV", state="complete") for f in files]
    )


def make_access_request(model: Model, requester: User, name: str = "Project Kite") -> AccessRequest:
    """An access request with its entity row, its reviews and a comment."""
    access_request = AccessRequest.objects.create(
        id=f"{name.lower().replace(' ', '-')}-{uuid.uuid4().hex[:6]}",
        model=model,
        schema_id=ACCESS_SCHEMA,
        metadata={
            "overview": {
                "name": name,
                "entities": [f"user:{requester.username}"],
            }
        },
        created_by=requester,
    )
    AccessRequestEntity.objects.create(
        access_request=access_request, entity=f"user:{requester.username}"
    )
    Review.objects.create(kind="access", model=model, role="msro", access_request=access_request)
    Response.objects.create(
        kind=Response.Kind.COMMENT,
        user=requester,
        entity=f"user:{requester.username}",
        comment="Please let us in.",
        access_request=access_request,
    )
    return access_request


def make_webhook(model: Model) -> Webhook:
    """A webhook of ``model`` with one finished delivery record (written straight to the
    database: tests/webhooks covers how they are made and sent)."""
    webhook = Webhook.objects.create(
        id=f"ci-hook-{uuid.uuid4().hex[:6]}",
        model=model,
        name="CI hook",
        uri="https://hooks.example.com/bailo",
        token="bearer-token",
        secret="BWS_" + "0" * 48,
        events=["createRelease"],
    )
    WebhookDelivery.objects.create(
        webhook=webhook,
        event="createRelease",
        body='{"event":"createRelease"}',
        state=DeliveryState.SUCCEEDED,
        attempt_count=1,
        attempts=[{"number": 1, "statusCode": 200, "durationMs": 5, "error": "", "response": ""}],
    )
    return webhook


def make_inference_service(model: Model, owner: User) -> InferenceService:
    """A running inference service of ``model`` (written straight to the database:
    tests/inference covers how the deploy service is asked)."""
    return InferenceService.objects.create(
        model=model,
        image="app",
        tag="v1",
        description="Try the model",
        processor_type="cpu",
        memory=2,
        port=8080,
        created_by=owner,
    )


def build_full_model(
    *,
    entry: Model,
    other_entry: Model,
    owner: User,
    reviewer: User,
    consumer: User,
    make_token: Any,
    files: int = 3,
) -> FullModel:
    """Fill ``entry`` with every kind of row a model deletion must hide."""
    model = with_card(entry, owner, versions=2)
    file_rows = make_files(model, files, store=True)
    make_scans(file_rows)
    release = make_release(model, owner, "1.0.0", file_ids=[f.id for f in file_rows])
    # Reviews open once the release is committed; inside a test's transaction, open them now.
    reviews_open_for_release(release)
    msro = Review.objects.get(release=release, role="msro")
    review_respond(actor=Actor(user=reviewer), review=msro, decision="approve", comment="Fine.")
    comment_add(actor=Actor(user=owner), text="Shipped.", release=release)
    access_request = make_access_request(model, consumer)
    actions = ["model:read", "file:read", "image:read", "release:read", "access_request:read"]
    only, only_secret = make_token(owner, scope="models", actions=actions, description="only")
    only.scoped_models.set([model])
    shared, shared_secret = make_token(owner, scope="models", actions=actions, description="shared")
    shared.scoped_models.set([model, other_entry])
    wide, wide_secret = make_token(owner, actions=[*actions, "image:write"], description="wide")
    webhook = make_webhook(model)
    inference_service = make_inference_service(model, owner)
    return FullModel(
        model=model,
        files=file_rows,
        release=release,
        access_request=access_request,
        only_token=only,
        shared_token=shared,
        wide_token=wide,
        webhook=webhook,
        inference_service=inference_service,
        secrets={
            only.access_key: only_secret,
            shared.access_key: shared_secret,
            wide.access_key: wide_secret,
        },
        blob_keys=[f.storage_key for f in file_rows],
    )


# The soft-deletable tables by name ("models" is the entry itself), from the cascade.
SOFT_DELETABLE: dict[str, Any] = {table.name: table.model for table in hidden_tables()}


def rows_of(model_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every row that belongs to an entry, hidden or not, table by table over the cascade, as
    plain values in a stable order: what a failed deletion must leave exactly as it was. Token
    scopes, tokens and deletions are every row, not only the entry's: a deletion must not touch
    the others either."""
    tables: dict[str, Any] = {table.name: table.rows_of_entry(model_id) for table in CASCADE}
    tables["tokenScopes"] = Token.scoped_models.through.objects.all()
    tables["tokens"] = Token.objects.all()
    tables["deletions"] = Deletion.objects.all()
    return {name: list(qs.order_by("pk").values()) for name, qs in tables.items()}


@pytest.fixture
def deletion_env(tmp_path: Path, settings: Any) -> Iterator[None]:
    """Tasks run eagerly; filesystem blobs live in a fresh directory per test. Import this into a
    test module and use it as autouse there."""
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    if settings.BLOB_STORAGE == "filesystem":
        settings.BLOB_ROOT = tmp_path / "blobs"
    blob_store_follow_settings()
    yield
    blob_store_follow_settings()
    celery_app.conf.task_always_eager = eager


@pytest.fixture
def full(
    entry: Model,
    public_entry: Model,
    owner: Any,
    reviewer: Any,
    consumer: Any,
    make_token: Any,
) -> FullModel:
    """The private ``entry`` full of rows under it (``build_full_model``), beside a public one
    that must stay untouched. Import it into a test module to use it."""
    return build_full_model(
        entry=entry,
        other_entry=public_entry,
        owner=owner,
        reviewer=reviewer,
        consumer=consumer,
        make_token=make_token,
    )
