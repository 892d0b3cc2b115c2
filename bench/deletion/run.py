"""Model deletion benchmark: the delete request and the purge of a large entry, on PostgreSQL.

Run from the repository root: ``.venv/bin/python bench/deletion/run.py`` (see README.md).

1. Creates the database ``bailo_bench_deletion`` (its own, never the development one) if missing
   and migrates it.
2. Builds a small entry (1 release, 1 file, 1 review, 1 access request) and a large one (100
   releases, 2,000 files with a tiny real blob each, 2,000 scans, 2,000 release-file links, 500
   reviews, 500 responses, 200 access requests, 20 tokens naming it).
3. Deletes each through the settings page's form (``POST /model/<id>/delete`` with the typed
   name, signed in as the owner, Django's test client), counting the SQL queries with
   ``CaptureQueriesContext`` and timing the request. The two counts must be equal.
4. Purges the large entry at once (``deletion.purge.deletion_purge``, as a worker would) and
   prints its duration, per step, and the objects removed per second; then runs
   ``storage_audit`` on the entry's prefix, which must find nothing.

Rows are counted table by table over the cascade declaration (``deletion.cascade.CASCADE``), so a
table added there is counted here too.

Blobs go to the stack's S3 server when ``.env`` names one (``--blobs s3``), to a temporary
directory otherwise (``--blobs filesystem``), or nowhere (``--blobs none``: rows only). The
registry is not used: the entry has no images.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import secrets
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from bench.common import ensure_database  # noqa: E402

S3_VARIABLES = ("S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY", "S3_REGION", "S3_BUCKET_UPLOADS")
REVIEW_ROLES = ("msro", "mtr", "sec")


# --- setup ---------------------------------------------------------------------------------------


def stack_s3() -> dict[str, str]:
    """The S3 variables of the stack's ``.env``, if it has them."""
    env_file = ROOT / ".env"
    if not env_file.is_file():
        return {}
    found = {}
    for line in env_file.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() in S3_VARIABLES:
            found[key.strip()] = value.strip()
    return found if found.get("S3_ENDPOINT") else {}


def configure_django(database: str, blobs: str, blob_root: Path) -> None:
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{database}"
    os.environ["BAILO_ENV_FILE"] = "none"
    os.environ["DEBUG"] = "false"
    os.environ["SECRET_KEY"] = secrets.token_urlsafe(40)
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1"
    (blob_root / "static").mkdir(parents=True, exist_ok=True)
    os.environ["STATIC_ROOT"] = str(blob_root / "static")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bailo_site.settings"
    for name in (*S3_VARIABLES, "REGISTRY_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    if blobs == "s3":
        s3 = stack_s3()
        if not s3:
            raise SystemExit("--blobs s3 needs the stack's .env with S3_ENDPOINT (make stack)")
        os.environ.update(s3)
    else:
        os.environ["BLOB_ROOT"] = str(blob_root)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- building entries ----------------------------------------------------------------------------


def users() -> dict[str, Any]:
    from django.contrib.auth.models import User

    names = ["bench-owner", "bench-reviewer", *[f"bench-requester{i:03d}" for i in range(200)]]
    User.objects.bulk_create([User(username=n, password="!") for n in names], ignore_conflicts=True)
    return {u.username: u for u in User.objects.filter(username__in=names)}


def put_blobs(keys: list[str], blobs: str) -> float:
    """Store a tiny blob under each key, 8 at a time; returns the seconds it took."""
    from core.ports.storage import blob_store

    if blobs == "none" or not keys:
        return 0.0
    store = blob_store()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda k: store.put(k, [f"bytes of {k}".encode()]), keys))
    return time.monotonic() - started


def build_entry(
    people: dict[str, Any],
    *,
    name: str,
    releases: int,
    files: int,
    access_requests: int,
    tokens: int,
    blobs: str,
) -> tuple[Any, float]:
    """An entry with ``releases`` releases (3 reviews each, one decision per review), ``files``
    files spread over the releases (a scan each), ``access_requests`` requests (a review and a
    comment each) and ``tokens`` tokens scoped to it. Returns it and the seconds blobs took."""
    from access.models import AccessRequest, AccessRequestEntity, Token
    from models_app.policy import Actor, TokenAction
    from models_app.services import card_from_schema, model_create
    from releases.models import File, Release, ReleaseFile, ScanResult
    from reviews.models import Response, Review

    owner, reviewer = people["bench-owner"], people["bench-reviewer"]
    actor = Actor(user=owner)
    model = model_create(
        actor=actor,
        name=name,
        description="An entry for the deletion benchmark.",
        visibility="private",
        collaborators=[
            {"entity": "user:bench-owner", "roles": ["owner"]},
            {"entity": "user:bench-reviewer", "roles": list(REVIEW_ROLES[:2])},
        ],
    )
    card_from_schema(actor=actor, model=model, schema_id="minimal-general-v10")

    file_rows = []
    for n in range(files):
        data = f"bytes of file {n}".encode()
        file_rows.append(
            File(
                id=uuid.uuid4().hex[:24],
                model=model,
                name=f"weights-{n:05d}.bin",
                size=len(data),
                storage_key=f"beta/model/{model.pk}/files/{uuid.uuid4()}",
                complete=True,
                sha256=hashlib.sha256(data).hexdigest(),
            )
        )
    File.objects.bulk_create(file_rows, batch_size=1000)
    blob_seconds = put_blobs([f.storage_key for f in file_rows], blobs)
    ScanResult.objects.bulk_create(
        [ScanResult(file=f, tool_name="clamAV", state="complete") for f in file_rows],
        batch_size=1000,
    )

    release_rows = Release.objects.bulk_create(
        [
            Release(
                model=model,
                semver=f"1.{n}.0",
                major=1,
                minor_version=n,
                patch=0,
                notes=f"Release 1.{n}.0",
                model_card_version=1,
                created_by=owner,
            )
            for n in range(releases)
        ]
    )
    per_release = max(1, files // max(1, releases))
    ReleaseFile.objects.bulk_create(
        [
            ReleaseFile(release=release_rows[i // per_release], file=f)
            for i, f in enumerate(file_rows)
            if i // per_release < len(release_rows)
        ],
        batch_size=1000,
    )
    release_reviews = Review.objects.bulk_create(
        [
            Review(kind="release", model=model, role=role, release=release)
            for release in release_rows
            for role in REVIEW_ROLES
        ]
    )
    requesters = [people[f"bench-requester{i:03d}"] for i in range(access_requests)]
    request_rows = AccessRequest.objects.bulk_create(
        [
            AccessRequest(
                id=f"bench-request-{n}-{uuid.uuid4().hex[:6]}",
                model=model,
                schema_id="extended-access-request-v1",
                metadata={
                    "overview": {
                        "name": f"Request {n}",
                        "entities": [f"user:{user.username}"],
                        "justification": "Benchmarking.",
                    }
                },
                created_by=user,
            )
            for n, user in enumerate(requesters)
        ]
    )
    AccessRequestEntity.objects.bulk_create(
        [
            AccessRequestEntity(access_request=ar, entity=f"user:{user.username}")
            for ar, user in zip(request_rows, requesters, strict=True)
        ]
    )
    Review.objects.bulk_create(
        [Review(kind="access", model=model, role="msro", access_request=ar) for ar in request_rows]
    )
    Response.objects.bulk_create(
        [
            Response(
                kind="review",
                user=reviewer,
                entity="user:bench-reviewer",
                review=review,
                role=review.role,
                decision="approve",
            )
            for review in release_reviews
        ]
        + [
            Response(
                kind="comment",
                user=user,
                entity=f"user:{user.username}",
                comment="Please.",
                access_request=ar,
            )
            for ar, user in zip(request_rows, requesters, strict=True)
        ]
    )
    for n in range(tokens):
        token = Token.objects.create(
            user=owner,
            description=f"bench {n}",
            scope="models",
            actions=[TokenAction.MODEL_READ],
            access_key=f"BAC{uuid.uuid4().hex[:9]}",
            secret_hash="!",
        )
        token.scoped_models.add(model)
    return model, blob_seconds


def row_count(model_id: str) -> dict[str, int]:
    """Rows that belong to the entry, hidden or not, table by table (the cascade's tables)."""
    from deletion.cascade import CASCADE

    return {table.name: table.rows_of_entry(model_id).count() for table in CASCADE}


# --- measuring -----------------------------------------------------------------------------------


def delete_request(model: Any, owner: Any) -> tuple[int, float, int]:
    """POST the settings page's delete form: (queries, seconds, status)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(owner)
    client.get(f"/model/{model.pk}/settings")  # warm up: imports, URL resolver, templates
    with CaptureQueriesContext(connection) as queries:
        started = time.monotonic()
        answer = client.post(f"/model/{model.pk}/delete", {"confirm_name": model.name})
        seconds = time.monotonic() - started
    if os.environ.get("BENCH_SHOW_QUERIES"):
        for query in sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:8]:
            print(f"    {float(query['time']) * 1000:7.1f} ms  {query['sql'][:160]}")
    return len(queries), seconds, answer.status_code


def bulk_step(model: Any) -> tuple[int, float]:
    """Run the bulk step the delete request queued (``deletion.beneath``: hide the rows beneath
    the entry) in this process, as a worker would: (queries, seconds)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from deletion.beneath import hide_beneath
    from deletion.models import Deletion

    deletion = Deletion.objects.get(subject=model.pk, kind=Deletion.Kind.MODEL)
    with CaptureQueriesContext(connection) as queries:
        started = time.monotonic()
        hide_beneath(deletion.pk)
        seconds = time.monotonic() - started
    return len(queries), seconds


def hold_bulk_steps() -> None:
    """Tasks run eagerly here (no broker): keep the delete request's queued bulk step out of the
    request, as a broker does, so ``bulk_step`` can run and time it on its own."""
    from deletion.tasks import hide_entry_beneath

    hide_entry_beneath.delay = lambda *args, **kwargs: None


def _entry_tables() -> list[str]:
    """The tables of the cascade, plus the deletion records."""
    from deletion.cascade import CASCADE
    from deletion.models import Deletion

    return [table.model._meta.db_table for table in CASCADE] + [Deletion._meta.db_table]


def vacuum() -> None:
    """Clear the dead rows earlier runs' purges left (the shared server runs no autovacuum), so
    every run starts from the same tables."""
    from django.db import connection

    with connection.cursor() as cursor:
        for name in _entry_tables():
            cursor.execute(f'VACUUM "{name}"')


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for name in _entry_tables():
            cursor.execute(f'ANALYZE "{name}"')


def forget_statistics() -> None:
    """Make the cascade's tables look never analysed: no column statistics, no row estimate.
    Needs a superuser (the benchmark connects as ``postgres``)."""
    from django.db import connection

    with connection.cursor() as cursor:
        for name in _entry_tables():
            cursor.execute("DELETE FROM pg_statistic WHERE starelid = %s::regclass", [f'"{name}"'])
            cursor.execute(
                "UPDATE pg_class SET reltuples = -1, relpages = 0 WHERE oid = %s::regclass",
                [f'"{name}"'],
            )


def purge_now(model: Any) -> None:
    """Purge a deleted entry at once (its blobs too), as the worker would once it is due."""
    from django.utils import timezone

    from deletion.models import Deletion
    from deletion.purge import deletion_purge

    deletion = Deletion.objects.get(subject=model.pk, kind=Deletion.Kind.MODEL)
    Deletion.objects.filter(pk=deletion.pk).update(purge_due=timezone.now())
    deletion_purge(deletion_id=deletion.pk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="bailo_bench_deletion")
    parser.add_argument("--blobs", choices=["s3", "filesystem", "none"], default=None)
    parser.add_argument("--releases", type=int, default=100)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--access-requests", type=int, default=200)
    parser.add_argument("--tokens", type=int, default=20)
    args = parser.parse_args()
    blobs = args.blobs or ("s3" if stack_s3() else "filesystem")

    ensure_database(args.database)
    blob_root = Path(tempfile.mkdtemp(prefix="bailo-bench-deletion-"))
    configure_django(args.database, blobs, blob_root)
    from django.conf import settings
    from django.core.management import CommandError, call_command
    from django.utils import timezone

    from deletion.cascade import model_blob_prefix
    from deletion.models import Deletion
    from deletion.purge import deletion_purge

    call_command("migrate", verbosity=0)
    # DEBUG is off, as in production: pages need the hashed static files.
    call_command("collectstatic", interactive=False, verbosity=0)
    print(f"database {args.database}; blobs: {blobs} ({settings.S3_ENDPOINT or blob_root})")
    people = users()
    owner = people["bench-owner"]
    vacuum()
    hold_bulk_steps()

    def build_pair(label: str) -> tuple[Any, Any]:
        small, _ = build_entry(
            people,
            name=f"Small bench {uuid.uuid4().hex[:6]}",
            releases=1,
            files=1,
            access_requests=1,
            tokens=1,
            blobs=blobs,
        )
        started = time.monotonic()
        large, blob_seconds = build_entry(
            people,
            name=f"Large bench {uuid.uuid4().hex[:6]}",
            releases=args.releases,
            files=args.files,
            access_requests=args.access_requests,
            tokens=args.tokens,
            blobs=blobs,
        )
        built = time.monotonic() - started
        rows = row_count(large.pk)
        print(
            f"\n[{label}] built the large entry in {built:.1f} s ({blob_seconds:.1f} s of it "
            f"storing {args.files if blobs != 'none' else 0} blobs): "
            + ", ".join(f"{n} {name}" for name, n in rows.items())
        )
        return small, large

    def measure(label: str, small: Any, large: Any) -> None:
        small_queries, small_seconds, small_status = delete_request(small, owner)
        large_queries, large_seconds, large_status = delete_request(large, owner)
        assert small_status == large_status == 302, (small_status, large_status)
        print(f"delete request (POST /model/<id>/delete, the settings page's form), {label}")
        print(f"  small entry: {small_queries} queries, {small_seconds * 1000:.0f} ms")
        print(f"  large entry: {large_queries} queries, {large_seconds * 1000:.0f} ms")
        if small_queries != large_queries:
            print("  WARNING: the query count grows with the entry")
        small_step = bulk_step(small)
        large_step = bulk_step(large)
        print("  then the bulk step a worker runs (deletion.beneath: hide the rows beneath)")
        print(f"  small entry: {small_step[0]} queries, {small_step[1] * 1000:.0f} ms")
        print(f"  large entry: {large_step[0]} queries, {large_step[1] * 1000:.0f} ms")
        if small_step[0] != large_step[0]:
            print("  WARNING: the bulk step's query count grows with the entry")

    # 1. Fresh statistics, as after autovacuum's ANALYZE.
    small, large = build_pair("with statistics")
    analyze()
    measure("tables ANALYZEd", small, large)
    purge_now(small)
    # 2. No statistics at all, as on a server without autovacuum after a burst of inserts: the
    # large entry is purged further down, with the figures printed.
    small, large = build_pair("without statistics")
    forget_statistics()
    measure("no statistics (pg_statistic emptied, reltuples unknown)", small, large)
    purge_now(small)

    deletion = Deletion.objects.get(subject=large.pk, kind=Deletion.Kind.MODEL)
    Deletion.objects.filter(pk=deletion.pk).update(purge_due=timezone.now())
    # Counted again: the token scopes went with the delete request, not the purge.
    removed_rows = sum(row_count(large.pk).values())
    started = time.monotonic()
    purged = deletion_purge(deletion_id=deletion.pk)
    seconds = time.monotonic() - started
    assert purged is not None and purged.state == Deletion.State.PURGED, purged
    removed_blobs = int(purged.progress.get("blobsDeleted", 0))
    steps = purged.progress.get("seconds", {})
    left = sum(row_count(large.pk).values())
    print("\npurge (deletion.purge.deletion_purge, in this process, as a worker runs it)")
    print(
        f"  {seconds:.2f} s: blobs {steps.get('blobs', 0):.2f} s, manifests "
        f"{steps.get('manifests', 0):.2f} s, rows {steps.get('rows', 0):.2f} s"
    )
    print(
        f"  removed {removed_blobs} blobs and {removed_rows} rows: "
        f"{(removed_blobs + removed_rows) / seconds:,.0f} objects/s "
        f"(blobs {removed_blobs / max(steps.get('blobs', 0), 1e-9):,.0f}/s, "
        f"rows {removed_rows / max(steps.get('rows', 0), 1e-9):,.0f}/s); rows left: {left}"
    )
    out = io.StringIO()
    try:
        call_command("storage_audit", prefix=model_blob_prefix(large.pk), quiet=True, stdout=out)
        print("  storage_audit on the entry's prefix: no orphans, nothing missing")
    except CommandError as exc:
        print(f"  storage_audit: {exc}\n{out.getvalue()}")
    analyze()  # leave the database with statistics


if __name__ == "__main__":
    main()
