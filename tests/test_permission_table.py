"""Every API endpoint, every persona: the exact status each one gets, refusals included.

Each ``Row`` names an endpoint and the statuses of the seven personas, in ``PERSONAS`` order:

    owner, contributor, consumer, reviewer (msro), outsider, site_admin, anonymous

Rows about an entry give one tuple for the private entry and one for the public entry; rows about
no entry give ``anywhere``. 404 means "unknown or invisible", 403 "visible but not allowed", 401
"not signed in". A status other than those (409, 501, ...) means the permission check passed and
the request stopped later for another reason, which proves the check without changing anything.

Adding an endpoint is adding a row. Placeholders in paths and bodies:
``{model}`` (the entry of the column), ``{file}`` (its file, shipped by its release 1.0.0),
``{webhook}`` (its webhook), ``{other_webhook}`` (the other column's entry's webhook),
``{transfer}`` (the export id of its mirror transfer),
the inference service ``app:v1`` (each entry has one),
``{review}`` (the msro review of release 2.0.0, with one request for changes), ``{lifecycle}`` (the
entry's open lifecycle review) and ``{next_due}`` (a date 60 days ahead),
``{template}`` (a public entry that allows templating),
``{migration}`` (a final migration from the default model schema), ``{spare_schema}`` (a schema no
card uses), ``{my_token}`` (an access key of the caller's own) and ``{owner_token}`` (one of the
owner's). Each request runs inside a savepoint that is rolled back, so cells never see each
other's writes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone

from access.access_requests.services import access_request_create
from access.models import Token
from core.ports.storage import blob_store
from inference.models import InferenceService
from mirroring.models import ModelTransfer
from models_app.models import Model, Schema, SchemaMigration
from models_app.policy import Actor
from models_app.services import card_from_schema, card_update
from reviews.lifecycle.services import lifecycle_review_create
from reviews.models import Response, Review
from reviews.services import reviews_open_for_release
from tests.conftest import PERSONAS, basic, create_entry, create_personas
from tests.releases.release_helpers import make_file, make_release
from webhooks.services import webhook_create

pytestmark = pytest.mark.django_db

Statuses = tuple[int, int, int, int, int, int, int]

GOOD_CARD = {"overview": {"modelSummary": "Finds cats in pictures."}}
#                   owner contrib consumer reviewer outsider admin anonymous
SIGNED_IN: Statuses = (200, 200, 200, 200, 200, 200, 401)
EVERYONE: Statuses = (200, 200, 200, 200, 200, 200, 200)
ADMINS: Statuses = (403, 403, 403, 403, 403, 200, 401)
VIEW_PRIVATE: Statuses = (200, 200, 200, 200, 404, 200, 401)
VIEW_PUBLIC: Statuses = SIGNED_IN
TABLE_REQUEST = {
    "overview": {
        "name": "Table request",
        "entities": ["user:cody"],
    }
}


@dataclass(frozen=True)
class Row:
    """One endpoint and what each persona gets from it."""

    method: str
    path: str
    private: Statuses | None = None
    public: Statuses | None = None
    anywhere: Statuses | None = None
    body: Any = None

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"

    def columns(self) -> list[tuple[str, Statuses]]:
        found = [
            (name, statuses)
            for name, statuses in (
                ("private", self.private),
                ("public", self.public),
                ("anywhere", self.anywhere),
            )
            if statuses is not None
        ]
        assert found, f"{self.id} gives no expected statuses"
        return found


ROWS: list[Row] = [
    # --- system (core/api.py) ---------------------------------------------------------------------
    Row("GET", "/config/ui", anywhere=EVERYONE),
    Row("GET", "/system/status", anywhere=EVERYONE),
    Row("GET", "/system/health", anywhere=EVERYONE),
    Row("GET", "/openapi.json", anywhere=EVERYONE),
    Row("GET", "/api-docs/swagger.json", anywhere=EVERYONE),
    Row("GET", "/entities/me", anywhere=SIGNED_IN),
    Row("GET", "/system/peers", anywhere=SIGNED_IN),
    Row("GET", "/entity/owen/lookup", anywhere=SIGNED_IN),
    Row("GET", "/entity/no-such-person/lookup", anywhere=(404, 404, 404, 404, 404, 404, 401)),
    # Bailo's v3 API: rows whose path starts with /api/ name it whole.
    Row("GET", "/api/v3/entities/me", anywhere=SIGNED_IN),
    Row("GET", "/api/v3/api-docs/swagger.json", anywhere=EVERYONE),
    # {review} is the msro review of release 2.0.0, whose holder asked for changes (see world).
    # Asking its holders again: owners and contributors (tests/reviews/test_review_v3.py).
    Row(
        "POST",
        "/api/v3/review/{review}/notify",
        private=(200, 200, 403, 403, 404, 403, 401),
        public=(200, 200, 403, 403, 403, 403, 401),
    ),
    Row(
        "GET",
        "/api/v3/review/{review}/responses/latest",
        private=VIEW_PRIVATE,
        public=VIEW_PUBLIC,
    ),
    # Lifecycle reviews: {lifecycle} is the entry's open lifecycle review (see world), so opening
    # another is refused with 400 once the permission check has passed (owners and
    # administrators); tests/reviews/test_lifecycle.py shows the 200.
    Row(
        "POST",
        "/api/v3/review/{model}",
        private=(400, 403, 403, 403, 404, 400, 401),
        public=(400, 403, 403, 403, 403, 400, 401),
        body={"kind": "lifecycle", "dueDate": "{next_due}"},
    ),
    # Answered by holders of the literal role owner: not administrators who are not owners.
    Row(
        "POST",
        "/api/v3/review/{lifecycle}/response",
        private=(200, 403, 403, 403, 404, 403, 401),
        public=(200, 403, 403, 403, 403, 403, 401),
        body={"kind": "lifecycle", "decision": "approve", "dueDate": "{next_due}"},
    ),
    # --- entries (models_app/api/entries.py) ------------------------------------------------------
    Row("POST", "/models", anywhere=SIGNED_IN, body={"name": "New one", "description": "d"}),
    Row("GET", "/model/no-such-model-000000", anywhere=(404, 404, 404, 404, 404, 404, 401)),
    Row("GET", "/model/{model}", private=VIEW_PRIVATE, public=VIEW_PUBLIC),
    Row("GET", "/model/{model}?kind=model", private=VIEW_PRIVATE, public=VIEW_PUBLIC),
    # Both entries are models: asked for data cards only, nobody finds them.
    Row(
        "GET",
        "/model/{model}?kind=data-card",
        private=(404, 404, 404, 404, 404, 404, 401),
        public=(404, 404, 404, 404, 404, 404, 401),
    ),
    Row(
        "PATCH",
        "/model/{model}",
        body={"description": "Changed"},
        private=(200, 403, 403, 403, 404, 200, 401),
        public=(200, 403, 403, 403, 403, 200, 401),
    ),
    # Owners only; administrators restore deletions but do not delete (deletion/services.py).
    Row(
        "DELETE",
        "/model/{model}",
        private=(200, 403, 403, 403, 404, 403, 401),
        public=(200, 403, 403, 403, 403, 403, 401),
    ),
    Row("GET", "/model/{model}/permissions/mine", private=VIEW_PRIVATE, public=VIEW_PUBLIC),
    Row("GET", "/roles", anywhere=SIGNED_IN),
    Row("GET", "/roles?modelId={model}", private=VIEW_PRIVATE, public=VIEW_PUBLIC),
    Row("GET", "/entities?q=own", anywhere=SIGNED_IN),
    # --- cards ------------------------------------------------------------------------------------
    Row("GET", "/model/{model}/model-card/latest", private=VIEW_PRIVATE, public=VIEW_PUBLIC),
    Row("GET", "/model/{model}/model-card/1", private=VIEW_PRIVATE, public=VIEW_PUBLIC),
    Row("GET", "/model/{model}/model-card-revisions", private=VIEW_PRIVATE, public=VIEW_PUBLIC),
    Row("GET", "/model/{model}/model-card/latest/html", private=VIEW_PRIVATE, public=VIEW_PUBLIC),
    Row("GET", "/model/{model}/model-card/1/html", private=VIEW_PRIVATE, public=VIEW_PUBLIC),
    # Suggestions only (nothing is written), for those who may edit the card.
    Row(
        "POST",
        "/model/{model}/import-model-card-text",
        body={"text": "Summary: From the table"},
        private=(200, 200, 403, 403, 404, 403, 401),
        public=(200, 200, 403, 403, 403, 403, 401),
    ),
    Row(
        "PUT",
        "/model/{model}/model-cards",
        body={"metadata": GOOD_CARD},
        private=(200, 200, 403, 403, 404, 403, 401),
        public=(200, 200, 403, 403, 403, 403, 401),
    ),
    # The entries already have a card, so the allowed personas get 409 and nothing changes.
    Row(
        "POST",
        "/model/{model}/setup/from-schema",
        body={"schemaId": "minimal-general-v10"},
        private=(409, 409, 403, 403, 404, 403, 401),
        public=(409, 409, 403, 403, 403, 403, 401),
    ),
    Row(
        "POST",
        "/model/{model}/setup/from-template",
        body={"templateId": "{template}"},
        private=(409, 409, 403, 403, 404, 403, 401),
        public=(409, 409, 403, 403, 403, 403, 401),
    ),
    Row(
        "POST",
        "/model/{model}/migrate-schema/{migration}",
        private=(200, 403, 403, 403, 404, 200, 401),
        public=(200, 403, 403, 403, 403, 200, 401),
    ),
    # --- schemas (models_app/api/schemas.py) ------------------------------------------------------
    Row("GET", "/schemas", anywhere=SIGNED_IN),
    Row("GET", "/schemas?kind=model&hidden=false", anywhere=SIGNED_IN),
    Row("GET", "/schema/minimal-general-v10", anywhere=SIGNED_IN),
    Row("GET", "/schema/no-such-schema", anywhere=(404, 404, 404, 404, 404, 404, 401)),
    Row(
        "POST",
        "/schemas",
        anywhere=ADMINS,
        body={
            "id": "table-schema-v1",
            "name": "Table schema",
            "description": "",
            "kind": "model",
            "jsonSchema": {"type": "object", "properties": {}},
            "reviewRoles": [],
        },
    ),
    Row("PATCH", "/schema/{spare_schema}", anywhere=ADMINS, body={"hidden": True}),
    Row("DELETE", "/schema/{spare_schema}", anywhere=ADMINS),
    Row("GET", "/schema-migrations", anywhere=SIGNED_IN),
    Row("GET", "/schema-migrations?sourceSchema=minimal-general-v10", anywhere=SIGNED_IN),
    Row("GET", "/schema-migration/{migration}", anywhere=SIGNED_IN),
    Row(
        "POST",
        "/schema-migration",
        anywhere=ADMINS,
        body={
            "name": "Table plan",
            "sourceSchema": "minimal-general-v10",
            "targetSchema": "{spare_schema}",
            "questionMigrations": [],
        },
    ),
    Row("PUT", "/schema-migration/{migration}", anywhere=ADMINS, body={"name": "Renamed"}),
    # --- search (models_app/api/search.py) --------------------------------------------------------
    Row("GET", "/models/search", anywhere=SIGNED_IN),
    Row("GET", "/models/search?search=model&kind=model", anywhere=SIGNED_IN),
    Row("GET", "/models/tags", anywhere=SIGNED_IN),
    # --- releases and files (releases/api/) -------------------------------------------------------
    Row("GET", "/model/{model}/releases", private=VIEW_PRIVATE, public=VIEW_PUBLIC),
    Row("GET", "/model/{model}/files", private=VIEW_PRIVATE, public=VIEW_PUBLIC),
    # An empty body: those allowed to create releases get 400 (no semver), and nothing is made.
    Row(
        "POST",
        "/model/{model}/releases",
        body={},
        private=(400, 400, 403, 403, 404, 403, 401),
        public=(400, 400, 403, 403, 403, 403, 401),
    ),
    # Deletion of one file, release or image tag (deletion/artefacts.py). No such file, release
    # or tag: those who may get that far learn only that (404), and nothing is deleted; refusals
    # by role come first for images (tests/deletion/test_artefact_delete.py covers real ones).
    Row(
        "DELETE",
        "/model/{model}/file/no-such-file-000000",
        private=(404, 404, 404, 404, 404, 404, 401),
        public=(404, 404, 404, 404, 404, 404, 401),
    ),
    Row(
        "DELETE",
        "/model/{model}/release/9.9.9",
        private=(404, 404, 404, 404, 404, 404, 401),
        public=(404, 404, 404, 404, 404, 404, 401),
    ),
    Row(
        "DELETE",
        "/model/{model}/image/no-such-image/v1",
        private=(404, 404, 403, 403, 404, 403, 401),
        public=(404, 404, 403, 403, 403, 403, 401),
    ),
    # A release 1.0.0 shipping weights.bin sits on each entry (see ``world``).
    Row("GET", "/model/{model}/release/1.0.0", private=VIEW_PRIVATE, public=VIEW_PUBLIC),
    Row(
        "PUT",
        "/model/{model}/release/1.0.0",
        body={"notes": "Changed by the table"},
        private=(200, 403, 403, 403, 404, 403, 401),
        public=(200, 403, 403, 403, 403, 403, 401),
    ),
    Row(
        "PATCH",
        "/model/{model}/file/{file}",
        body={"name": "renamed.bin"},
        private=(200, 200, 403, 403, 404, 403, 401),
        public=(200, 200, 403, 403, 403, 403, 401),
    ),
    # Downloads: owners and contributors; the consumer's access request is not approved yet, and
    # administrators and reviewers hold no role that downloads.
    *[
        Row(
            "GET",
            path,
            private=(200, 200, 403, 403, 404, 403, 401),
            public=(200, 200, 403, 403, 403, 403, 401),
        )
        for path in (
            "/model/{model}/file/{file}/download",
            "/token/model/{model}/file/{file}/download",
            "/model/{model}/release/1.0.0/file/weights.bin/download",
            "/token/model/{model}/release/1.0.0/file/weights.bin/download",
        )
    ],
    # Uploads. Those who may upload get 400 because the request names no file (so nothing is
    # stored, in the bucket or the database); the refusals come before the input is read.
    *[
        Row(
            method,
            path,
            body=body,
            private=(400, 400, 403, 403, 404, 403, 401),
            public=(400, 400, 403, 403, 403, 403, 401),
        )
        for method, path, body in (
            ("POST", "/model/{model}/files/upload/simple", None),
            ("POST", "/model/{model}/files/upload/multipart/start", {}),
            ("POST", "/model/{model}/files/upload/multipart/part", None),
            ("GET", "/model/{model}/files/upload/multipart/parts", None),
            ("POST", "/model/{model}/files/upload/multipart/finish", {}),
        )
    ],
    # Images: the registry holds none for these entries, so a named tag is unknown to all.
    Row("GET", "/model/{model}/images", private=VIEW_PRIVATE, public=VIEW_PUBLIC),
    Row(
        "GET",
        "/model/{model}/image/no-such-image/v1",
        private=(404, 404, 404, 404, 404, 404, 401),
        public=(404, 404, 404, 404, 404, 404, 401),
    ),
    # --- scanning (releases/scanning/api.py) ---------------------------------------------------
    Row("GET", "/filescanning/info", anywhere=SIGNED_IN),
    # Owners only; the scan itself is queued after the commit, which the table rolls back.
    Row(
        "PUT",
        "/filescanning/model/{model}/file/{file}/scan",
        private=(200, 403, 403, 403, 404, 403, 401),
        public=(200, 403, 403, 403, 403, 403, 401),
    ),
    # Image scanning is not offered (501) to anyone who can see the entry.
    Row(
        "PUT",
        "/filescanning/model/{model}/image/no-such-image/v1/scan",
        private=(501, 501, 501, 501, 404, 501, 401),
        public=(501, 501, 501, 501, 501, 501, 401),
    ),
    # --- reviews and review roles (reviews/api.py) ------------------------------------------------
    Row("GET", "/reviews", anywhere=SIGNED_IN),
    Row("GET", "/reviews?open=false&mine=false&kind=release", anywhere=SIGNED_IN),
    Row("GET", "/reviews?kind=lifecycle", anywhere=SIGNED_IN),
    # The badge count: anonymous callers owe no reviews, so they get 200 and a count of 0.
    Row("HEAD", "/reviews", anywhere=EVERYONE),
    # No role given: those who can see the entry get 400 (holders get further: see
    # tests/reviews), and nothing is stored.
    Row(
        "POST",
        "/model/{model}/release/1.0.0/review",
        body={"decision": "approve"},
        private=(400, 400, 400, 400, 404, 400, 401),
        public=(400, 400, 400, 400, 400, 400, 401),
    ),
    Row(
        "POST",
        "/model/{model}/release/1.0.0/comment",
        body={"comment": ""},
        private=(400, 400, 400, 400, 404, 400, 401),
        public=(400, 400, 400, 400, 400, 400, 401),
    ),
    Row("GET", "/responses?parentIds[]=1", anywhere=SIGNED_IN),
    Row(
        "PATCH",
        "/response/999999",
        body={"comment": "Edited"},
        anywhere=(404, 404, 404, 404, 404, 404, 401),
    ),
    # Reactions on real responses are in tests/reviews/test_reactions.py (who may, per entry).
    Row(
        "PATCH",
        "/response/999999/reaction/like",
        anywhere=(404, 404, 404, 404, 404, 404, 401),
    ),
    Row("GET", "/review/roles", anywhere=SIGNED_IN),
    Row("GET", "/review/roles?schemaId=minimal-general-v10", anywhere=SIGNED_IN),
    Row("POST", "/review/roles", anywhere=ADMINS, body={"shortName": "t1", "name": "Table 1"}),
    Row("POST", "/review/role", anywhere=ADMINS, body={"shortName": "t2", "name": "Table 2"}),
    Row("PUT", "/review/role/mtr", anywhere=ADMINS, body={"name": "Renamed reviewer"}),
    Row("DELETE", "/review/role/mtr", anywhere=ADMINS),
    # --- personal access tokens (access/tokens/api.py) --------------------------------------------
    Row(
        "POST",
        "/user/tokens",
        anywhere=SIGNED_IN,
        body={"description": "From the table", "scope": "all", "actions": ["model:read"]},
    ),
    Row("GET", "/user/tokens", anywhere=SIGNED_IN),
    Row("GET", "/user/tokens/list", anywhere=SIGNED_IN),
    Row("DELETE", "/user/token/{my_token}", anywhere=SIGNED_IN),
    # Someone else's token looks exactly like an unknown one.
    Row("DELETE", "/user/token/{owner_token}", anywhere=(200, 404, 404, 404, 404, 404, 401)),
    # --- webhooks (webhooks/api.py) ---------------------------------------------------------------
    # Owners manage them (administrators too hold no role that does); anyone who can see the entry
    # lists them, without their tokens (tests/webhooks/test_webhooks_api.py).
    Row(
        "POST",
        "/model/{model}/webhooks",
        body={"name": "Table hook", "uri": "https://hooks.table.test/bailo"},
        private=(200, 403, 403, 403, 404, 403, 401),
        public=(200, 403, 403, 403, 403, 403, 401),
    ),
    Row("GET", "/model/{model}/webhooks", private=VIEW_PRIVATE, public=VIEW_PUBLIC),
    *[
        Row(
            method,
            "/model/{model}/webhook/{webhook}",
            body=body,
            private=(200, 403, 403, 403, 404, 403, 401),
            public=(200, 403, 403, 403, 403, 403, 401),
        )
        for method, body in (
            ("PUT", {"name": "Renamed hook", "uri": "https://hooks.table.test/other"}),
            ("DELETE", None),
        )
    ],
    # No such webhook on this entry, including the other entry's webhook, which its owner also
    # owns: a webhook is found only within the entry in the path. Refusals come first.
    *[
        Row(
            method,
            "/model/{model}/webhook/" + webhook,
            body=body,
            private=(404, 403, 403, 403, 404, 403, 401),
            public=(404, 403, 403, 403, 403, 403, 401),
        )
        for webhook in ("no-such-webhook-000000", "{other_webhook}")
        for method, body in (
            ("PUT", {"name": "Renamed hook", "uri": "https://hooks.table.test/other"}),
            ("DELETE", None),
        )
    ],
    # --- inference services (inference/api.py; on in this module, with no deploy service) ------
    # Owners and contributors create; owners change and remove (Bailo's docs); viewers read. The
    # create body's port is out of range: those allowed get the 400 it earns, which proves the
    # permission check passed without needing a registry image (tests/inference covers those).
    Row(
        "POST",
        "/model/{model}/inference",
        body={
            "image": "app",
            "tag": "v2",
            "description": "",
            "settings": {"processorType": "cpu", "port": 0, "memory": 1},
        },
        private=(400, 400, 403, 403, 404, 403, 401),
        public=(400, 400, 403, 403, 403, 403, 401),
    ),
    Row("GET", "/model/{model}/inferences", private=VIEW_PRIVATE, public=VIEW_PUBLIC),
    Row("GET", "/model/{model}/inference/app/v1", private=VIEW_PRIVATE, public=VIEW_PUBLIC),
    *[
        Row(
            method,
            "/model/{model}/inference/app/v1",
            body=body,
            private=(200, 403, 403, 403, 404, 403, 401),
            public=(200, 403, 403, 403, 403, 403, 401),
        )
        for method, body in (
            (
                "PUT",
                {"description": "", "settings": {"processorType": "cpu", "port": 9, "memory": 1}},
            ),
            ("DELETE", None),
        )
    ],
    # No such service: viewers learn only that; refusals come first.
    Row(
        "GET",
        "/model/{model}/inference/app/no-such-tag",
        private=(404, 404, 404, 404, 404, 404, 401),
        public=(404, 404, 404, 404, 404, 404, 401),
    ),
    *[
        Row(
            method,
            "/model/{model}/inference/app/no-such-tag",
            body=body,
            private=(404, 403, 403, 403, 404, 403, 401),
            public=(404, 403, 403, 403, 403, 403, 401),
        )
        for method, body in (
            (
                "PUT",
                {"description": "", "settings": {"processorType": "cpu", "port": 9, "memory": 1}},
            ),
            ("DELETE", None),
        )
    ],
    # --- mirroring (mirroring/api.py; export and import on in this module) ---------------------
    # Owners export: the world's entries have no destination model id, so the owner gets the 400
    # that earns once the permission check has passed (tests/mirroring shows the 200).
    Row(
        "POST",
        "/model/{model}/export/s3",
        body={"disclaimerAgreement": True},
        private=(400, 403, 403, 403, 404, 403, 401),
        public=(400, 403, 403, 403, 403, 403, 401),
    ),
    # Who may import depends on the mirrored model the tarball names; a payload on a host that is
    # not allowed is refused before anything is fetched (tests/mirroring/test_import_api.py has
    # every persona against a real tarball).
    Row(
        "POST",
        "/model/import/s3",
        body={"payloadUrl": "https://example.org/x.tar.gz"},
        anywhere=(400, 400, 400, 400, 400, 400, 401),
    ),
    # {transfer} is the entry's transfer (see world); anyone who can view reads it.
    Row("GET", "/transfer/{transfer}", private=VIEW_PRIVATE, public=VIEW_PUBLIC),
    Row("GET", "/model/{model}/transfers", private=VIEW_PRIVATE, public=VIEW_PUBLIC),
    # Owners retry; the world's transfer has no failed artefact, so the owner gets 400.
    Row(
        "POST",
        "/transfer/{transfer}/retry",
        body={},
        private=(400, 403, 403, 403, 404, 403, 401),
        public=(400, 403, 403, 403, 403, 403, 401),
    ),
    # --- access requests (access/access_requests/api.py) ------------------------------------------
    Row(
        "POST",
        "/model/{model}/access-requests",
        body={"schemaId": "minimal-access-request-general-v10", "metadata": TABLE_REQUEST},
        private=VIEW_PRIVATE,
        public=VIEW_PUBLIC,
    ),
    Row("GET", "/model/{model}/access-requests", private=VIEW_PRIVATE, public=VIEW_PUBLIC),
    # No request with this id: those who may see the entry learn only that (404), like the rest.
    *[
        Row(
            method,
            "/model/{model}/access-request/no-such-request-000000" + suffix,
            body=body,
            private=(404, 404, 404, 404, 404, 404, 401),
            public=(404, 404, 404, 404, 404, 404, 401),
        )
        for method, suffix, body in (
            ("GET", "", None),
            ("PATCH", "", {"metadata": {}}),
            ("DELETE", "", None),
            ("POST", "/comment", {"comment": "Hello"}),
            ("POST", "/review", {"role": "msro", "decision": "approve"}),
            ("GET", "/permissions/mine", None),
        )
    ],
    Row("GET", "/access-requests/search", anywhere=SIGNED_IN),
    Row("GET", "/access-requests/search?mine=true", anywhere=SIGNED_IN),
    # A real request, made by the consumer (who is named in it), on each entry.
    *[
        Row(
            method,
            "/model/{model}/access-request/{access_request}" + suffix,
            body=body,
            private=VIEW_PRIVATE,
            public=VIEW_PUBLIC,
        )
        for method, suffix, body in (
            ("GET", "", None),
            ("POST", "/comment", {"comment": "Hello"}),
            ("GET", "/permissions/mine", None),
        )
    ],
    # Only the entities it names and the entry's owners may change or withdraw it.
    *[
        Row(
            method,
            "/model/{model}/access-request/{access_request}",
            body=body,
            private=(200, 403, 200, 403, 404, 403, 401),
            public=(200, 403, 200, 403, 403, 403, 401),
        )
        for method, body in (("PATCH", {"metadata": TABLE_REQUEST}), ("DELETE", None))
    ],
    # Only holders of the review's role respond to it.
    Row(
        "POST",
        "/model/{model}/access-request/{access_request}/review",
        body={"role": "msro", "decision": "approve"},
        private=(403, 403, 403, 200, 404, 403, 401),
        public=(403, 403, 403, 200, 403, 403, 401),
    ),
]


@dataclass(frozen=True)
class TokenRow:
    """A request made with the owner's token, and what a token like that must get."""

    name: str
    method: str
    path: str
    status: int
    actions: tuple[str, ...] = ("model:read", "model:write")
    scope_models: tuple[str, ...] = ()  # "private" / "public": a token limited to those entries
    revoked: bool = False
    expired: bool = False
    body: Any = None


TOKEN_ROWS: list[TokenRow] = [
    TokenRow("a token with the actions works", "GET", "/model/{private}", 200),
    TokenRow(
        "a token without model:export cannot export",
        "POST",
        "/model/{private}/export/s3",
        403,
        actions=("model:read", "model:write"),
        body={"disclaimerAgreement": True},
    ),
    # Past the permission check: the world's entry has no destination model id.
    TokenRow(
        "a token with model:export may export",
        "POST",
        "/model/{private}/export/s3",
        400,
        actions=("model:read", "model:export"),
        body={"disclaimerAgreement": True},
    ),
    TokenRow(
        "a token without model:read cannot read",
        "GET",
        "/model/{private}",
        403,
        actions=("model:write",),
    ),
    TokenRow(
        "a token without model:write cannot update",
        "PATCH",
        "/model/{private}",
        403,
        actions=("model:read",),
        body={"description": "Changed"},
    ),
    TokenRow(
        "a token without model:write cannot save the card",
        "PUT",
        "/model/{private}/model-cards",
        403,
        actions=("model:read",),
        body={"metadata": GOOD_CARD},
    ),
    TokenRow(
        "a token without model:write cannot create entries",
        "POST",
        "/models",
        403,
        actions=("model:read",),
        body={"name": "By token", "description": "d"},
    ),
    TokenRow(
        "a token limited to another model does not see this one",
        "GET",
        "/model/{private}",
        404,
        scope_models=("public",),
    ),
    TokenRow(
        "a token limited to another model cannot update this one",
        "PATCH",
        "/model/{private}",
        404,
        scope_models=("public",),
        body={"description": "Changed"},
    ),
    TokenRow(
        "a token limited to a model works on that model",
        "GET",
        "/model/{public}",
        200,
        scope_models=("public",),
    ),
    TokenRow(
        "a token without model:read cannot list reviews",
        "GET",
        "/reviews",
        403,
        actions=("release:read",),
    ),
    TokenRow(
        "a token without model:write cannot comment on a release",
        "POST",
        "/model/{private}/release/1.0.0/comment",
        403,
        actions=("model:read", "release:read"),
        body={"comment": "From a read-only token"},
    ),
    TokenRow(
        "a token without model:write cannot delete the model",
        "DELETE",
        "/model/{private}",
        403,
        actions=("model:read",),
    ),
    TokenRow(
        "a token limited to another model cannot delete this one",
        "DELETE",
        "/model/{private}",
        404,
        scope_models=("public",),
    ),
    TokenRow("a token with model:write deletes the model", "DELETE", "/model/{private}", 200),
    TokenRow("a revoked token is refused", "GET", "/model/{private}", 401, revoked=True),
    TokenRow("an expired token is refused", "GET", "/model/{private}", 401, expired=True),
    TokenRow(
        "a revoked token is refused on public endpoints too",
        "GET",
        "/config/ui",
        401,
        revoked=True,
    ),
    TokenRow(
        "a token without model:write cannot create webhooks",
        "POST",
        "/model/{private}/webhooks",
        403,
        actions=("model:read",),
        body={"name": "By token", "uri": "https://hooks.table.test/bailo"},
    ),
    TokenRow(
        "a token with model:write creates webhooks",
        "POST",
        "/model/{private}/webhooks",
        200,
        body={"name": "By token", "uri": "https://hooks.table.test/bailo"},
    ),
    TokenRow(
        "a token limited to another model cannot create webhooks on this one",
        "POST",
        "/model/{private}/webhooks",
        404,
        scope_models=("public",),
        body={"name": "By token", "uri": "https://hooks.table.test/bailo"},
    ),
    TokenRow(
        "a token without model:read cannot list webhooks",
        "GET",
        "/model/{private}/webhooks",
        403,
        actions=("model:write",),
    ),
    TokenRow(
        "a token without model:write cannot create inference services",
        "POST",
        "/model/{private}/inference",
        403,
        actions=("model:read", "image:read"),
        body={"image": "app", "tag": "v2", "settings": {"processorType": "cpu", "port": 0}},
    ),
    TokenRow(
        "a token limited to another model cannot remove this one's inference services",
        "DELETE",
        "/model/{private}/inference/app/v1",
        404,
        scope_models=("public",),
    ),
    TokenRow(
        "a token with model:write removes inference services",
        "DELETE",
        "/model/{private}/inference/app/v1",
        200,
    ),
    TokenRow(
        "a token without model:read cannot list inference services",
        "GET",
        "/model/{private}/inferences",
        403,
        actions=("model:write",),
    ),
    TokenRow(
        "a token cannot mint tokens",
        "POST",
        "/user/tokens",
        403,
        body={"description": "Child", "scope": "all", "actions": ["model:read"]},
    ),
    # Only a signed-in person manages tokens: a token, whatever it may do, neither lists nor
    # revokes them ({self} is the calling token, {sibling} another token of the same owner).
    TokenRow("a token cannot list tokens", "GET", "/user/tokens", 403),
    TokenRow("a token cannot revoke itself", "DELETE", "/user/token/{self}", 403),
    TokenRow("a token cannot revoke a sibling", "DELETE", "/user/token/{sibling}", 403),
    TokenRow(
        "a token limited to another model cannot list tokens",
        "GET",
        "/user/tokens",
        403,
        scope_models=("public",),
    ),
    TokenRow(
        "a token limited to another model cannot revoke a sibling",
        "DELETE",
        "/user/token/{sibling}",
        403,
        scope_models=("public",),
    ),
]


# --- the world the table runs in ------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """The personas (each with a signed-in client), both entries with a card, a stored file and a
    release, a template, a spare schema and a final migration plan.

    Every test only reads it, so it is built once for the module, in a transaction rolled back
    when the module ends; each test's own writes are rolled back at the end of the test (and each
    request's at the end of the request), so the tests still never see each other's writes."""
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (
        django_db_blocker.unblock(),
        # Webhook targets on hooks.table.test need no DNS (an allowed name is not resolved).
        # Inference on, with no deploy service (calls are only recorded).
        override_settings(
            PASSWORD_HASHERS=fast,
            WEBHOOK_ALLOWED_HOSTS=["hooks.table.test"],
            INFERENCE_ENABLED=True,
            INFERENCE_HOST="",
            MIRROR_EXPORT_ENABLED=True,
            MIRROR_IMPORT_ENABLED=True,
        ),
        transaction.atomic(),
    ):
        built = build_world(create_personas())
        try:
            yield built
        finally:
            for file in built["files"].values():
                blob_store().delete(file.storage_key)
        transaction.set_rollback(True)


def build_world(personas: dict[str, Any]) -> dict[str, Any]:
    people = [personas[name] for name in ("owner", "contributor", "consumer", "reviewer")]
    entry = create_entry(*people, "Private model")
    public_entry = create_entry(*people, "Public model", visibility="public")
    make_entry = partial(create_entry, *people)
    owner = Actor(user=personas["owner"])
    template = make_entry(
        "Template model", visibility="public", settings_={"allowTemplating": True}
    )
    for model in (entry, public_entry, template):
        card_from_schema(actor=owner, model=model, schema_id="minimal-general-v10")
        card_update(actor=owner, model=model, metadata=GOOD_CARD)
    spare = Schema.objects.create(
        id="spare-schema-v1",
        name="Spare",
        kind="model",
        json_schema={"type": "object", "properties": {"notes": {"type": "string"}}},
    )
    migration = SchemaMigration.objects.create(
        id="to-spare-abcdef",
        name="To spare",
        source_schema_id="minimal-general-v10",
        target_schema=spare,
        draft=False,
        question_migrations=[
            {
                "id": "q1",
                "kind": "move",
                "sourcePath": "overview.modelSummary",
                "targetPath": "notes",
                "propertyType": "string",
            }
        ],
    )
    files = {}
    for column, model in (("private", entry), ("public", public_entry)):
        file = make_file(model, store=True)
        carded = Model.objects.get(pk=model.pk)  # the instance predates its card
        make_release(carded, personas["owner"], "1.0.0", file_ids=[file.pk])
        files[column] = file
    consumer = Actor(user=personas["consumer"])
    requests = {
        column: access_request_create(
            actor=consumer,
            model=model,
            schema_id="minimal-access-request-general-v10",
            metadata=TABLE_REQUEST,
        )
        for column, model in (("private", entry), ("public", public_entry))
    }
    hooks = {
        column: webhook_create(
            actor=owner,
            model=model,
            fields={"name": "Table hook", "uri": "https://hooks.table.test/bailo", "token": "t"},
        )
        for column, model in (("private", entry), ("public", public_entry))
    }
    for model in (entry, public_entry):
        InferenceService.objects.create(
            model=model,
            image="app",
            tag="v1",
            processor_type="cpu",
            memory=1,
            port=8080,
            created_by=personas["owner"],
        )
    # Release 2.0.0 (no files, so its reviewers may download nothing more) has its reviews open,
    # and the reviewer asks for changes on its msro review, so that review has a latest response
    # and is still open to asking again.
    reviews, lifecycles = {}, {}
    for column, model in (("private", entry), ("public", public_entry)):
        release = make_release(
            Model.objects.get(pk=model.pk), personas["owner"], "2.0.0", file_ids=[]
        )
        # Reviews open after the release's commit, which the world's transaction never reaches.
        reviews_open_for_release(release)
        review = Review.objects.get(release=release, role="msro")
        Response.objects.create(
            kind=Response.Kind.REVIEW,
            review=review,
            user=personas["reviewer"],
            entity=f"user:{personas['reviewer'].username}",
            role="msro",
            decision="request_changes",
            comment="Say which data it was trained on",
        )
        reviews[column] = review
        lifecycles[column] = lifecycle_review_create(
            actor=owner, model=model, due_date=(timezone.now() + timedelta(days=30)).isoformat()
        )
    transfers = {
        column: ModelTransfer.objects.create(
            export_id=f"table-{column}",
            model=model,
            artefacts=[{"key": model.pk, "kind": "documents", "status": "completed"}],
        )
        for column, model in (("private", entry), ("public", public_entry))
    }
    clients = {name: Client() for name in personas}
    for name, user in personas.items():
        if user is not None:
            clients[name].force_login(user)
    return {
        "personas": personas,
        "clients": clients,
        "entries": {"private": entry, "public": public_entry},
        "access_requests": requests,
        "reviews": reviews,
        "lifecycles": lifecycles,
        "webhooks": hooks,
        "transfers": transfers,
        "files": files,
        "template": template,
        "spare_schema": spare.id,
        "migration": migration.id,
    }


def fill(template: Any, values: dict[str, str]) -> Any:
    """Replace ``{placeholders}`` in a path or (recursively) in a JSON body."""
    if isinstance(template, str):
        for key, value in values.items():
            template = template.replace("{" + key + "}", value)
        assert "{" not in template, f"unfilled placeholder in {template}"
        return template
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    return template


def request(client: Client, method: str, path: str, body: Any, **extra: Any) -> Any:
    """One API call inside a savepoint that is rolled back afterwards."""
    data = json.dumps(body) if body is not None else ""
    url = path if path.startswith("/api/") else f"/api/v2{path}"
    savepoint = transaction.savepoint()
    try:
        return getattr(client, method.lower())(
            url, data=data, content_type="application/json", **extra
        )
    finally:
        transaction.savepoint_rollback(savepoint)


def own_token(make_token: Any, user: Any) -> str:
    token, _ = make_token(user, actions=["model:read"])
    return str(token.access_key)


# --- the tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_each_persona_gets_exactly_the_expected_status(
    row: Row, world: dict[str, Any], make_token: Any
) -> None:
    personas, clients = world["personas"], world["clients"]
    tokens: dict[str, str] = {}
    if "_token}" in row.path:
        tokens = {name: own_token(make_token, user) for name, user in personas.items() if user}
        tokens["anonymous"] = tokens["owner"]
    mismatches = []
    for column, expected in row.columns():
        values = {
            "template": world["template"].id,
            "spare_schema": world["spare_schema"],
            "migration": world["migration"],
        }
        if column != "anywhere":
            values["model"] = world["entries"][column].id
            values["access_request"] = world["access_requests"][column].id
            values["review"] = str(world["reviews"][column].pk)
            values["lifecycle"] = str(world["lifecycles"][column].pk)
            values["next_due"] = (timezone.now() + timedelta(days=60)).date().isoformat()
            values["file"] = world["files"][column].id
            values["webhook"] = world["webhooks"][column].id
            other = "public" if column == "private" else "private"
            values["other_webhook"] = world["webhooks"][other].id
            values["transfer"] = world["transfers"][column].export_id
        for persona, status in zip(PERSONAS, expected, strict=True):
            if tokens:
                values |= {"my_token": tokens[persona], "owner_token": tokens["owner"]}
            path = fill(row.path, values)
            response = request(clients[persona], row.method, path, fill(row.body, values))
            if response.status_code != status:
                mismatches.append(
                    f"{column:8} {persona:11} expected {status}, got {response.status_code}: "
                    f"{response.content[:160]!r}"
                )
            elif status >= 400:
                assert set(response.json()) == {"error"}, f"{persona}: {response.content!r}"
    assert not mismatches, f"{row.id}\n" + "\n".join(mismatches)


def test_every_api_route_has_a_row_in_the_table() -> None:
    """A new endpoint without a row fails here, so the table keeps up with the API."""
    from bailo_site.api import api, api_v3

    row_paths = [(row.method, row.path.split("?")[0]) for row in ROWS]
    missing = []
    routers = [(prefix, router) for prefix, router in api._routers]
    routers += [("/api/v3" + prefix, router) for prefix, router in api_v3._routers]
    for prefix, router in routers:
        for path, path_view in router.path_operations.items():
            # "/model/{model_id}" matches a row's "/model/{model}" or "/model/some-literal-id".
            pattern = re.compile(
                "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(prefix + path)) + "$"
            )
            for operation in path_view.operations:
                for method in operation.methods:
                    route = f"{method} {prefix}{path}"
                    if not any(m == method and pattern.match(p) for m, p in row_paths):
                        missing.append(route)
    assert not missing, "endpoints without a row in ROWS:\n" + "\n".join(sorted(missing))


@pytest.mark.parametrize("row", TOKEN_ROWS, ids=[row.name for row in TOKEN_ROWS])
def test_a_token_is_held_to_its_actions_models_and_lifetime(
    row: TokenRow, world: dict[str, Any], make_token: Any
) -> None:
    owner = world["personas"]["owner"]
    fields: dict[str, Any] = {"actions": list(row.actions)}
    if row.scope_models:
        fields["scope"] = "models"
    if row.revoked:
        fields["revoked_at"] = timezone.now()
    if row.expired:
        fields["expires_at"] = timezone.now() - timedelta(minutes=1)
    token, secret = make_token(owner, **fields)
    token.scoped_models.set([world["entries"][name] for name in row.scope_models])
    sibling, _ = make_token(owner, actions=["model:read"])
    values = {name: model.id for name, model in world["entries"].items()}
    values |= {"self": token.access_key, "sibling": sibling.access_key}
    before = Token.objects.count()
    revoked_before = Token.objects.filter(revoked_at__isnull=False).count()
    response = request(
        Client(),
        row.method,
        fill(row.path, values),
        row.body,
        **basic(token.access_key, secret),
    )
    assert response.status_code == row.status, response.content
    if row.status >= 400:
        assert set(response.json()) == {"error"}
    assert Token.objects.count() == before
    assert Token.objects.filter(revoked_at__isnull=False).count() == revoked_before
