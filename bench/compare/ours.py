"""The app's side of the comparison, run in a process of its own (Django is set up once per
process, against one database): seed entries, build entries to delete, sign-in passwords.

    python -m bench.compare.ours seed --database bailo_bench_cmp_100000 --entries 100000
    python -m bench.compare.ours deletable --database D --count 3 --releases 100 --files 2000

Prints one JSON line on stdout as its last line (what the caller needs). Reuses the marketplace
benchmark's seeding (same entries, tags, collaborators and the user ``bench``) and the deletion
benchmark's entry builder (releases, files, scans, reviews, access requests, tokens).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Sign-in passwords for the throwaway accounts of the benchmark's throwaway databases.
OWNER = "bench-owner"
OWNER_PASSWORD = "bench-" + "owner-password"


def _setup(database: str, static_root: Path) -> None:
    from bench.common import ensure_database
    from bench.marketplace.run import configure_django

    ensure_database(database)
    configure_django(database, static_root)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(database: str, entries: int, static_root: Path) -> dict[str, object]:
    _setup(database, static_root)
    from django.core.management import call_command
    from django.db import connection

    from bench.marketplace.run import seed as marketplace_seed
    from models_app.models import Model

    if not (static_root / "staticfiles.json").exists():
        call_command("collectstatic", interactive=False, verbosity=0)
    marketplace_seed(entries)
    with connection.cursor() as cursor:
        # Statistics for whatever earlier runs added (creates), as after seeding.
        cursor.execute("ANALYZE")
    return {"entries": Model.objects.count()}


def deletable(
    database: str, count: int, releases: int, files: int, static_root: Path
) -> dict[str, object]:
    """``count`` entries of ``releases`` releases and ``files`` files each, owned by
    ``bench-owner`` (whose password is set), then ANALYZE."""
    _setup(database, static_root)
    from django.db import connection

    from bench.deletion.run import build_entry, users

    people = users()
    owner = people[OWNER]
    owner.set_password(OWNER_PASSWORD)
    owner.save()
    ids = []
    for _ in range(count):
        model, _seconds = build_entry(
            people,
            name=f"Compare delete {uuid.uuid4().hex[:8]}",
            releases=releases,
            files=files,
            access_requests=min(200, releases * 2),
            tokens=20,
            blobs="none",
        )
        ids.append(model.pk)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"ids": ids, "user": OWNER, "password": OWNER_PASSWORD}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["seed", "deletable"])
    parser.add_argument("--database", required=True)
    parser.add_argument("--static-root", type=Path, default=None)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--releases", type=int, default=100)
    parser.add_argument("--files", type=int, default=2000)
    args = parser.parse_args()
    static_root = args.static_root or Path(tempfile.mkdtemp(prefix="bench-static-"))
    if args.action == "seed":
        answer = seed(args.database, args.entries, static_root)
    else:
        answer = deletable(args.database, args.count, args.releases, args.files, static_root)
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
