"""Mirroring benchmark: export one large file and report the worker's memory and export rate.

Run from the repository root with the stack up: ``.venv/bin/python bench/mirroring/run.py
--size-mib 1024`` (the default, 64 MiB, is quick to try).

1. Creates (or reuses) the PostgreSQL database ``bailo_bench_mirroring`` and migrates it; makes
   an owner, a model with a card of two revisions and a destination model id, a file of the
   given size in the uploads bucket (random blocks, streamed, never held whole) and a release
   shipping it; turns export on with a fresh signing key.
2. Records the export (``mirroring.exports.export_start``, the route's own service) and runs
   ``export_run`` -- exactly what the Celery task runs -- in a separate Python process, the
   "worker", which prints its peak resident memory (``VmHWM``) when done.
3. Uploads the same bytes straight to the exports bucket with boto3 (``upload_fileobj``, its
   default multipart transfer) in the same run, for the rate beside it.

Prints both rates in MiB/s, the worker's peak RSS, and whether it stayed under 200 MiB.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import ensure_database  # noqa: E402

DATABASE = "bailo_bench_mirroring"
MIB = 1024 * 1024
GOAL_MIB = 200


def _environment(keys: tuple[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    for line in (ROOT / ".env").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            name, value = line.split("=", 1)
            env.setdefault(name, value)
    env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
    env["MIRROR_EXPORT_ENABLED"] = "1"
    env["MIRROR_SIGNING_KEY_FILE"] = keys[0]
    env["FILE_SCANNERS"] = ""
    env["CELERY_TASK_ALWAYS_EAGER"] = "1"
    env["DJANGO_SETTINGS_MODULE"] = "bailo_site.settings"
    return env


def _blocks(size: int, seed: int = 7) -> Iterator[bytes]:
    """``size`` bytes from a pool of random 1 MiB blocks (incompressible, cheap to make)."""
    rng = random.Random(seed)
    pool = [rng.randbytes(MIB) for _ in range(16)]
    sent = 0
    while sent < size:
        block = pool[rng.randrange(len(pool))][: size - sent]
        sent += len(block)
        yield block


def _peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child(export_id: str) -> None:
    """The worker: run one export, print its time and peak memory as JSON."""
    import django

    django.setup()
    from mirroring.exports import export_run

    started = time.monotonic()
    status = export_run(export_id=export_id)
    print(
        json.dumps(
            {"status": status, "seconds": time.monotonic() - started, "peak": _peak_rss_mib()}
        )
    )


def prepare(size: int) -> tuple[str, int]:
    """The data to export; the export's id and the file's size."""
    import django

    django.setup()
    from django.contrib.auth.models import User

    from core.ports.storage import blob_store
    from mirroring.exports import export_start
    from models_app.policy import Actor
    from models_app.services import card_from_schema, card_update, model_create
    from releases.files.services import new_file_id, storage_key_for
    from releases.models import File
    from releases.services import release_create

    user, _ = User.objects.get_or_create(username="bench-owner")
    actor = Actor(user=user)
    model = model_create(
        actor=actor,
        name=f"Mirroring bench {time.time():.0f}",
        description="bench",
        settings_={"mirror": {"destinationModelId": "bench-mirror-000001"}},
    )
    card_from_schema(actor=actor, model=model, schema_id="minimal-general-v10")
    card_update(actor=actor, model=model, metadata={"overview": {"modelSummary": "bench"}})
    key = storage_key_for(model.pk)
    digest = hashlib.sha256()

    def hashed() -> Iterator[bytes]:
        for block in _blocks(size):
            digest.update(block)
            yield block

    info = blob_store().put(key, hashed())
    file = File.objects.create(
        id=new_file_id(),
        model=model,
        name="big.bin",
        size=info.size,
        storage_key=key,
        complete=True,
        sha256=digest.hexdigest(),
    )
    model.refresh_from_db()
    release_create(actor=actor, model=model, semver="1.0.0", notes="bench", file_ids=[file.pk])
    model.refresh_from_db()
    export = export_start(actor=actor, model=model, disclaimer=True, semvers=["1.0.0"])
    return export.pk, info.size


def direct_upload(size: int) -> float:
    """Seconds for boto3's own multipart upload of the same bytes to the exports bucket."""
    import boto3
    from botocore.config import Config
    from django.conf import settings

    from mirroring.tarballs import _ChunkReader

    client = boto3.client(
        "s3",
        endpoint_url=settings.S3_ENDPOINT,
        aws_access_key_id=settings.S3_ACCESS_KEY,
        aws_secret_access_key=settings.S3_SECRET_KEY,
        region_name=settings.S3_REGION,
        config=Config(s3={"addressing_style": "path"}),
    )
    key = "bench/direct-upload.bin"
    started = time.monotonic()
    client.upload_fileobj(_ChunkReader(_blocks(size)), settings.S3_BUCKET_EXPORTS, key)
    seconds = time.monotonic() - started
    client.delete_object(Bucket=settings.S3_BUCKET_EXPORTS, Key=key)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=64, help="file size (default 64 MiB)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    from core.ports.signing import generate_key_pair

    ensure_database(DATABASE)
    with tempfile.TemporaryDirectory() as folder:
        keys = (str(Path(folder) / "bench.key"), str(Path(folder) / "bench.pub"))
        generate_key_pair(Path(keys[0]), Path(keys[1]))
        env = _environment(keys)
        os.environ.update(env)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        size = args.size_mib * MIB
        export_id, size = prepare(size)
        print(f"file: {size / MIB:.0f} MiB; export {export_id}")
        worker = subprocess.run(
            [sys.executable, __file__, "--child", export_id],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(worker.stdout.strip().splitlines()[-1])
        direct = direct_upload(size)
    export_rate = size / MIB / result["seconds"]
    direct_rate = size / MIB / direct
    print(f"export status:          {result['status']}")
    print(f"export (tar+gzip+sign): {result['seconds']:.1f} s, {export_rate:.1f} MiB/s")
    print(f"direct boto3 upload:    {direct:.1f} s, {direct_rate:.1f} MiB/s")
    print(f"export / direct:        {export_rate / direct_rate:.2f}")
    verdict = "under" if result["peak"] < GOAL_MIB else "OVER"
    print(f"worker peak RSS:        {result['peak']:.0f} MiB ({verdict} the {GOAL_MIB} MiB goal)")
    with open("/proc/loadavg") as handle:
        print(f"load average:           {handle.read().split()[0]}")


if __name__ == "__main__":
    main()
