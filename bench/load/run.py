"""A load test across processes: Locust users against `make deploy-local` (nginx in front of two
web processes, a worker per queue), then the same with one web process, then with one of the two
killed (SIGKILL) half-way. See bench/load/README.md.

    make deploy-local
    .venv/bin/python bench/load/run.py                      # all three runs, 50 users, 60 s each
    .venv/bin/python bench/load/run.py --runs two --users 20 --seconds 30

After each run every upload that finished is downloaded again and checked against its SHA-256,
and ``manage.py storage_audit`` must find nothing: no blob without its row, no row without its
blob.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
DEPLOY = ROOT / "scripts" / "deploy-local.sh"
STATE = ROOT / "var" / "deploy-local"
USERNAME = "load-tester"
PASSWORD = "load-test-password-1"
ENTRIES = 20


def host() -> str:
    return f"http://127.0.0.1:{os.environ.get('DEPLOY_PORT', '8080')}"


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bailo_site.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()


def make_fixtures(path: Path) -> dict[str, Any]:
    """A user with a password, ``ENTRIES`` private entries they own (each with a card) and a
    token with every action, in the deployment's database."""
    django_setup()
    from django.contrib.auth import get_user_model

    from access.models import Token
    from access.tokens.credentials import hash_secret, new_access_key, new_secret
    from models_app.models import Model
    from models_app.policy import Actor, TokenAction
    from models_app.services import card_from_schema, card_update, model_create

    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username=USERNAME)
    user.set_password(PASSWORD)
    user.save()
    actor = Actor(user=user)
    entries = list(
        Model.objects.filter(name__startswith="Load test entry ", created_by=user).values_list(
            "pk", flat=True
        )
    )
    for n in range(len(entries), ENTRIES):
        model = model_create(
            actor=actor,
            name=f"Load test entry {n}",
            description=f"Entry {n} for bench/load",
            collaborators=[{"entity": f"user:{USERNAME}", "roles": ["owner"]}],
        )
        card_from_schema(actor=actor, model=model, schema_id="minimal-general-v10")
        card_update(
            actor=actor, model=model, metadata={"overview": {"modelSummary": "Load testing."}}
        )
        entries.append(model.pk)
    secret = new_secret()
    token = Token.objects.create(
        user=user,
        access_key=new_access_key(),
        secret_hash=hash_secret(secret),
        description="bench/load",
        actions=[action.value for action in TokenAction],
    )
    fixtures = {
        "username": USERNAME,
        "password": PASSWORD,
        "entries": entries,
        "accessKey": token.access_key,
        "secretKey": secret,
    }
    path.write_text(json.dumps(fixtures))
    return fixtures


def locust(users: int, seconds: int, fixtures: Path, uploads: Path, prefix: Path) -> None:
    env = {
        **os.environ,
        "BAILO_LOAD_FIXTURES": str(fixtures),
        "BAILO_LOAD_UPLOADS": str(uploads),
    }
    command = [
        str(ROOT / ".venv" / "bin" / "locust"),
        "-f",
        str(Path(__file__).with_name("locustfile.py")),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(max(users // 5, 1)),
        "--run-time",
        f"{seconds}s",
        "--host",
        host(),
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    subprocess.run(command, env=env, check=False, capture_output=True, text=True)


def read_stats(prefix: Path) -> list[dict[str, str]]:
    with open(f"{prefix}_stats.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def read_failures(prefix: Path) -> list[dict[str, str]]:
    path = Path(f"{prefix}_failures.csv")
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def print_stats(title: str, rows: list[dict[str, str]]) -> dict[str, str]:
    print(f"\n## {title}\n")
    print(f"{'request':24} {'count':>7} {'fail':>5} {'req/s':>7} {'p50':>6} {'p95':>6} {'p99':>6}")
    total: dict[str, str] = {}
    for row in rows:
        name = row["Name"] if row["Name"] != "Aggregated" else "ALL"
        if row["Name"] == "Aggregated":
            total = row
        print(
            f"{name:24} {row['Request Count']:>7} {row['Failure Count']:>5} "
            f"{float(row['Requests/s']):7.1f} {row['50%']:>6} {row['95%']:>6} {row['99%']:>6}"
        )
    return total


def auth_header(fixtures: dict[str, Any]) -> dict[str, str]:
    raw = f"{fixtures['accessKey']}:{fixtures['secretKey']}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def check_uploads(fixtures: dict[str, Any], uploads: Path) -> tuple[int, int]:
    """Download every finished upload again; (checked, wrong)."""
    if not uploads.exists():
        return 0, 0
    records = [json.loads(line) for line in uploads.read_text().splitlines() if line]
    wrong = 0
    for record in records:
        digest = hashlib.sha256()
        with requests.get(
            f"{host()}/api/v2/model/{record['model']}/file/{record['file']}/download",
            headers=auth_header(fixtures),
            stream=True,
            timeout=120,
        ) as response:
            if response.status_code != 200:
                wrong += 1
                continue
            for chunk in response.iter_content(1024 * 1024):
                digest.update(chunk)
        wrong += digest.hexdigest() != record["sha256"]
    return len(records), wrong


def storage_audit(entries: list[str]) -> tuple[int, str]:
    """``storage_audit`` over the load test's entries (the bucket may hold other tests' blobs):
    the worst exit code, and the last line of each audit that found something."""
    worst, found = 0, []
    for entry in entries:
        result = subprocess.run(
            [
                str(ROOT / ".venv" / "bin" / "python"),
                "manage.py",
                "storage_audit",
                "--quiet",
                "--prefix",
                f"beta/model/{entry}/",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        worst = max(worst, result.returncode)
        if result.returncode:
            found.append((result.stdout + result.stderr).strip().splitlines()[-1])
    return worst, "; ".join(found) or f"nothing found under {len(entries)} entries"


def deploy(*args: str) -> None:
    subprocess.run([str(DEPLOY), *args], check=True, capture_output=True, text=True)


def nginx_upstream_errors(port: str, since: float) -> int:
    """Requests nginx lost on the web process at ``port`` (in flight when it died)."""
    log = STATE / "nginx" / "error.log"
    if not log.exists():
        return 0
    count = 0
    for line in log.read_text(errors="replace").splitlines():
        match = re.match(r"(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d)", line)
        if not match or f"127.0.0.1:{port}" not in line:
            continue
        stamp = time.mktime(time.strptime(match.group(1), "%Y/%m/%d %H:%M:%S"))
        if stamp >= int(since) and "connect() failed" not in line:
            count += 1
    return count


def one_run(
    title: str, args: argparse.Namespace, fixtures_path: Path, work: Path, kill_at: float = 0
) -> dict[str, Any]:
    uploads = work / f"{title}-uploads.jsonl"
    prefix = work / title
    killer = None
    killed_at = [0.0]
    if kill_at:

        def kill() -> None:
            time.sleep(kill_at)
            killed_at[0] = time.time()
            deploy("kill-web", "1")

        killer = threading.Thread(target=kill, daemon=True)
        killer.start()
    started = time.time()
    locust(args.users, args.seconds, fixtures_path, uploads, prefix)
    rows = read_stats(prefix)
    total = print_stats(f"{title}: {args.users} users, {args.seconds} s", rows)
    failures = read_failures(prefix)
    for failure in failures[:10]:
        print(
            f"  failure: {failure['Method']} {failure['Name']}: {failure['Error'][:140]} "
            f"x{failure['Occurrences']}"
        )
    fixtures = json.loads(fixtures_path.read_text())
    checked, wrong = check_uploads(fixtures, uploads)
    code, audit = storage_audit(fixtures["entries"])
    print(f"uploads finished and downloaded again: {checked}, wrong or missing: {wrong}")
    print(f"storage_audit: exit {code}: {audit}")
    lost = 0
    if kill_at:
        web1_port = os.environ.get("DEPLOY_WEB_PORTS", "8101 8102").split()[0]
        lost = nginx_upstream_errors(web1_port, killed_at[0] or started)
        print(f"requests in flight on the killed process (nginx's upstream errors): {lost}")
    return {
        "title": title,
        "requests": int(total.get("Request Count", 0)),
        "failures": int(total.get("Failure Count", 0)),
        "rps": float(total.get("Requests/s", 0)),
        "p50": total.get("50%"),
        "p95": total.get("95%"),
        "p99": total.get("99%"),
        "uploads": checked,
        "wrong": wrong,
        "audit": code,
        "in_flight_lost": lost,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--runs", choices=["all", "two", "one", "kill"], default="all")
    args = parser.parse_args()
    try:
        requests.get(f"{host()}/api/v2/system/status", timeout=5).raise_for_status()
    except requests.RequestException as exc:
        print(f"deploy-local is not answering on {host()} ({exc}): run `make deploy-local`")
        return 2
    work = Path(tempfile.mkdtemp(prefix="bailo-load-"))
    fixtures_path = work / "fixtures.json"
    make_fixtures(fixtures_path)
    print(f"fixtures and Locust's CSV files: {work}")
    results = []
    if args.runs in {"all", "two"}:
        results.append(one_run("two-web-processes", args, fixtures_path, work))
    if args.runs in {"all", "one"}:
        deploy("stop-web", "2")
        try:
            results.append(one_run("one-web-process", args, fixtures_path, work))
        finally:
            deploy("up")
    if args.runs in {"all", "kill"}:
        results.append(
            one_run("web-1-killed-half-way", args, fixtures_path, work, kill_at=args.seconds / 2)
        )
        deploy("up")
    print("\n## Summary\n")
    print(json.dumps(results, indent=2))
    ok = True
    for r in results:
        allowed = r["in_flight_lost"] if r["title"].startswith("web-1-killed") else 0
        if r["wrong"] or r["audit"] != 0 or r["failures"] > allowed:
            print(f"FAILED: {r['title']}")
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
