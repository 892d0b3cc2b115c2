"""Peer comparison: the app against a bare Django list view and MLflow's model registry.

Run from the repository root (see bench/compare/README.md):

    .venv/bin/python -m bench.compare            # 100k and 10k entries, 3 ABAB rounds
    .venv/bin/python -m bench.compare --quick    # small data, short measures: a couple of minutes

1. Data, each in a PostgreSQL database of its own on 127.0.0.1:5432 (never the shared ones):
   the app's entries seeded by the marketplace benchmark's seeding (``--entries`` and
   ``--entries-small``), the bare project's rows (same count, comparable columns), and MLflow's
   registered models named after the small database's entries. All ANALYZEd after seeding.
2. Servers on free loopback ports: the app and the bare project under the same gunicorn
   settings (``--workers`` x ``--threads``, gthread), and ``mlflow server`` with one worker
   (installed into ``var/bench/mlflow-venv`` from the package index on first use, backend store
   in PostgreSQL).
3. Five comparisons, each alternating the two sides (ours, peer, ours, peer, ...) for
   ``--rounds`` rounds so that a change in the machine's load hits both:
   the marketplace page vs the bare page (large data, c=8); the search API vs the bare JSON list
   (large data, c=8); creating an entry through the API vs MLflow's create_registered_model
   (c=1, keep-alive); the search API with 100 rows vs MLflow's search_registered_models (small
   data, c=1); deleting an entry with 100 releases and 2,000 files vs deleting an MLflow
   registered model with 100 versions (one request each).
4. Prints the table (ours, peer, ratio, goal, met?) and the 1/5/15-minute load averages before
   and after each comparison.

The load generator is ``bench/compare/loadgen.py`` (threads with a keep-alive session each):
wrk is not installed here.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from bench.common import ensure_database, psql  # noqa: E402
from bench.compare.loadgen import Sample, run_load  # noqa: E402

PYTHON = Path(sys.executable)
VAR = ROOT / "var" / "bench"
MLFLOW_VENV = VAR / "mlflow-venv"
PG = "postgres://postgres@127.0.0.1:5432"
BENCH_USER = "bench"
BENCH_PASSWORD = "bench-" + "marketplace-password"  # bench/marketplace's throwaway account
SEARCH_TERMS = ["classifier", "satellite detector", "fraud", "calibration drift", "maritime"]
MLFLOW_API = "/api/2.0/mlflow"


def load_average() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- data -----------------------------------------------------------------------------------------


def ours(action: str, database: str, *extra: str) -> dict[str, Any]:
    """Run ``bench.compare.ours`` in a process of its own; its last output line is JSON."""
    VAR.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(
        [
            str(PYTHON),
            "-m",
            "bench.compare.ours",
            action,
            "--database",
            database,
            "--static-root",
            str(VAR / "static"),
            *extra,
        ],
        cwd=ROOT,
        env=base_env(),
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = out.stdout.strip().splitlines()
    for line in lines[:-1]:
        print("  " + line)
    return json.loads(lines[-1])  # type: ignore[no-any-return]


def seed_bare(database: str, entries: int) -> int:
    """Migrate the bare project's database and fill it with ``entries`` rows (80% public)."""
    ensure_database(database)
    env = {**base_env(), **bare_env(database)}
    subprocess.run(
        [str(PYTHON), "-m", "django", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    have = int(psql("SELECT count(*) FROM bare_entry", database))
    if have != entries:
        psql("TRUNCATE bare_entry", database)
        # Names and descriptions of the same shape and length as the app's seeded entries.
        psql(
            "INSERT INTO bare_entry (id, name, description, kind, visibility, organisation, "  # noqa: S608 (only an int is formatted in)
            "state, created_at, updated_at) "
            "SELECT 'entry-' || g, 'Rapid image classifier ' || g, "
            "'## Image classifier' || chr(10) || repeat(md5(g::text) || ' ', 12), "
            "(ARRAY['model','model','model','model','datacard','mirroredmodel'])[1 + g % 6], "
            "CASE WHEN g % 5 = 0 THEN 'private' ELSE 'public' END, "
            "(ARRAY['Example Organisation','Another Organisation'])[1 + g % 2], "
            "(ARRAY['','Development','Review','Production'])[1 + g % 4], "
            "now() - interval '400 days', now() - random() * interval '365 days' "
            f"FROM generate_series(1, {int(entries)}) AS g",
            database,
        )
        psql("VACUUM ANALYZE bare_entry", database)
    return int(psql("SELECT count(*) FROM bare_entry", database))


def ensure_mlflow() -> Path:
    """MLflow in a virtual environment of its own (reused when present)."""
    mlflow = MLFLOW_VENV / "bin" / "mlflow"
    if mlflow.exists():
        return mlflow
    print(f"installing MLflow into {MLFLOW_VENV} (first run only) ...", flush=True)
    VAR.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(MLFLOW_VENV)], check=True)
    subprocess.run(
        [
            str(MLFLOW_VENV / "bin" / "pip"),
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "mlflow",
            "psycopg2-binary",
        ],
        check=True,
    )
    return mlflow


def seed_mlflow(base: str, database: str, names: list[str]) -> int:
    """Registered models named after ``names``: one through the API (so the row is what MLflow
    writes), the rest copied from it with SQL. Reused when the count matches."""
    import psycopg
    import requests

    def count() -> int:
        return int(
            psql("SELECT count(*) FROM registered_models WHERE name NOT LIKE 'compare-%'", database)
        )

    if count() >= len(names):
        return count()
    template = "compare-template"
    requests.post(
        f"{base}{MLFLOW_API}/registered-models/create", json={"name": template}, timeout=30
    )
    columns = psql(
        "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) "
        "FROM information_schema.columns WHERE table_name = 'registered_models'",
        database,
    ).split(",")
    picked = ", ".join("n.name" if c == "name" else f"t.{c}" for c in columns)
    with psycopg.connect(f"{PG}/{database}", autocommit=True) as conn:
        conn.execute("DELETE FROM registered_models WHERE name NOT LIKE 'compare-%'")
        conn.execute(
            f"INSERT INTO registered_models ({', '.join(columns)}) "  # noqa: S608 (catalogue names)
            f"SELECT {picked} FROM registered_models t, unnest(%s::text[]) AS n(name) "
            "WHERE t.name = %s",
            (names, template),
        )
        conn.execute("VACUUM ANALYZE")
    return count()


def entry_names(database: str) -> list[str]:
    import psycopg

    with psycopg.connect(f"{PG}/{database}") as conn:
        rows = conn.execute(
            "SELECT name FROM models_app_model WHERE name NOT LIKE 'Compare %' ORDER BY id"
        ).fetchall()
    return [row[0] for row in rows]


# --- servers --------------------------------------------------------------------------------------


def base_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "MALLOC_ARENA_MAX")
    return {k: v for k, v in os.environ.items() if k in keep}


def app_env(database: str, redis_url: str | None, blob_root: Path) -> dict[str, str]:
    env = {
        "DATABASE_URL": f"{PG}/{database}",
        "BAILO_ENV_FILE": "none",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "STATIC_ROOT": str(VAR / "static"),
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "BLOB_ROOT": str(blob_root),
        "DJANGO_SETTINGS_MODULE": "bailo_site.settings",
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def bare_env(database: str) -> dict[str, str]:
    return {
        "BARE_DATABASE_URL": f"{PG}/{database}",
        "DJANGO_SETTINGS_MODULE": "bench.compare.bare.settings",
        "SECRET_KEY": secrets.token_urlsafe(40),
    }


@contextmanager
def serve(label: str, command: list[str], env: dict[str, str], ready_path: str) -> Iterator[str]:
    """Start ``command`` (which binds the port in ``env['PORT']``), wait until ``ready_path``
    answers, yield the base URL, then stop it."""
    import requests

    port = env["PORT"]
    log = tempfile.NamedTemporaryFile(prefix=f"bench-compare-{label}-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"{label} exited early; see {log.name}")
            try:
                requests.get(base + ready_path, timeout=10)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise SystemExit(
                        f"{label} did not answer within 180 s; see {log.name}"
                    ) from None
                time.sleep(0.5)
        waited = settle(proc.pid)
        print(f"  {label} on {base} (log {log.name}; quiet after {waited:.1f} s)", flush=True)
        yield base
    finally:
        # The server's own process group: gunicorn's or uvicorn's workers go with it.
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def _group_cpu_seconds(group: int) -> float:
    """CPU seconds used so far by the live processes of process group ``group`` (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        # After the command's name: state, ppid, pgrp, ... utime (14th field), stime (15th).
        if int(fields[2]) == group:
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def settle(group: int, *, quiet: float = 0.05, longest: float = 60.0) -> float:
    """Wait until a server's processes are idle (under ``quiet`` of a core over a second), at
    most ``longest`` seconds; returns the seconds waited. A server that answers its first request
    may still be starting helpers (MLflow 3 starts job workers that import for several seconds):
    measuring then would charge that start-up to whichever side runs first."""
    if not Path("/proc/self/stat").exists():
        return 0.0
    start = time.monotonic()
    used = _group_cpu_seconds(group)
    while time.monotonic() - start < longest:
        time.sleep(1.0)
        now = _group_cpu_seconds(group)
        if now - used < quiet:
            break
        used = now
    return time.monotonic() - start


def gunicorn_command(
    app: str, port: int, args: argparse.Namespace, config: Path | None = None
) -> list[str]:
    """The same gunicorn settings for every side; ``config``: a side's own gunicorn config file
    (the app's start-up hook, as deployed)."""
    return [
        str(PYTHON),
        "-m",
        "gunicorn",
        app,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(args.workers),
        "--threads",
        str(args.threads),
        "--worker-class",
        "gthread",
        "--timeout",
        "120",
        *(["--config", str(config)] if config else []),
    ]


# The app's gunicorn config, as every deployment starts it (deploy/docker-entrypoint.sh).
OURS_GUNICORN_CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
# The bare project's: the same collector setting (gc.freeze once a worker has started).
BARE_GUNICORN_CONFIG = ROOT / "bench" / "compare" / "bare" / "gunicorn.conf.py"


def sign_in(base: str, username: str, password: str) -> dict[str, str]:
    """Sign in through the login form; returns the cookies (session and CSRF)."""
    import requests

    session = requests.Session()
    form = session.get(base + "/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    if token is None:
        raise SystemExit("no CSRF token on the login page")
    answer = session.post(
        base + "/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token.group(1)},
        headers={"Referer": base + "/login/"},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code != 302 or "sessionid" not in session.cookies:
        raise SystemExit(f"sign-in as {username} failed with {answer.status_code}")
    session.get(base + "/", timeout=60)  # a CSRF cookie for the API's unsafe methods
    return session.cookies.get_dict()


def session_factory(cookies: dict[str, str] | None = None) -> Callable[[], Any]:
    import requests

    def make() -> Any:
        session = requests.Session()
        if cookies:
            session.cookies.update(cookies)
            if "csrftoken" in cookies:
                session.headers["X-CSRFToken"] = cookies["csrftoken"]
        return session

    return make


# --- measuring ------------------------------------------------------------------------------------


@dataclass
class Row:
    measure: str
    ours: Sample = field(default_factory=Sample)
    peer: Sample = field(default_factory=Sample)
    rounds: list[float] = field(default_factory=list)  # the ratio of each round
    kind: str = "rate"  # "rate": ours/peer req/s; "time": ours/peer mean ms
    goal: str = ""
    check: Callable[[Row], bool] = lambda row: False
    load: tuple[str, str] = ("", "")

    @property
    def ratio(self) -> float:
        if self.kind == "rate":
            return self.ours.rate / self.peer.rate if self.peer.rate else float("nan")
        return self.ours.mean / self.peer.mean if self.peer.mean else float("nan")

    def figure(self, sample: Sample) -> str:
        if self.kind == "rate":
            return f"{sample.rate:.1f} req/s, p50 {sample.p50:.0f} / p99 {sample.p99:.0f} ms"
        return f"{sample.mean:.1f} ms (p50 {sample.p50:.1f}, n={sample.count})"


def alternate(
    row: Row,
    rounds: int,
    ours_side: Callable[[], Sample],
    peer_side: Callable[[], Sample],
) -> Row:
    """ABAB: each round measures ours then the peer; ratios per round are kept."""
    row.load = (load_average(), "")
    for n in range(rounds):
        a, b = ours_side(), peer_side()
        row.ours.add(a)
        row.peer.add(b)
        ratio = a.rate / b.rate if row.kind == "rate" else a.mean / b.mean
        row.rounds.append(ratio)
        print(
            f"    round {n + 1}: ours {row.figure(a)}; peer {row.figure(b)}; ratio {ratio:.2f}"
            + (f"  [errors ours {a.errors}, peer {b.errors}]" if a.errors or b.errors else ""),
            flush=True,
        )
    row.load = (row.load[0], load_average())
    return row


def timed_get(make: Callable[[], Any], url_of: Callable[[int], str], **kw: Any) -> Sample:
    def send(session: Any, n: int) -> int:
        return int(session.get(url_of(n), timeout=60).status_code)

    return run_load(make, send, **kw)


def warm(make: Callable[[], Any], url: str, times: int = 6) -> None:
    session = make()
    for _ in range(times):
        session.get(url, timeout=120)
    session.close()


def measure_large(args: argparse.Namespace, rows: list[Row], redis_url: str | None) -> None:
    database, bare_db = f"{args.prefix}_{args.entries}", f"{args.prefix}_bare_{args.entries}"
    print(f"\n[1/2] {args.entries} entries: marketplace page and search API vs bare Django")
    empty_cache(redis_url)
    print(f"  seeding {database} ...", flush=True)
    seeded = ours("seed", database, "--entries", str(args.entries))
    print(f"  {database}: {seeded['entries']} entries")
    print(f"  {bare_db}: {seed_bare(bare_db, args.entries)} rows")
    blob_root = Path(tempfile.mkdtemp(prefix="bench-compare-blobs-"))
    ours_port, bare_port = free_port(), free_port()
    ours_env = {
        **base_env(),
        **app_env(database, redis_url, blob_root),
        **args.app_settings,
        "PORT": str(ours_port),
    }
    peer_env = {**base_env(), **bare_env(bare_db), "PORT": str(bare_port)}
    with (
        serve(
            "app",
            gunicorn_command("bailo_site.wsgi:application", ours_port, args, OURS_GUNICORN_CONFIG),
            ours_env,
            "/login/",
        ) as app,
        serve(
            "bare",
            gunicorn_command(
                "bench.compare.bare.wsgi:application", bare_port, args, BARE_GUNICORN_CONFIG
            ),
            peer_env,
            "/",
        ) as bare,
    ):
        signed = session_factory(sign_in(app, BENCH_USER, BENCH_PASSWORD))
        plain = session_factory()
        load = {"concurrency": args.concurrency, "seconds": args.seconds}
        if "page" in args.only:
            print(f"  marketplace page / vs bare page, c={args.concurrency}", flush=True)
            warm(signed, app + "/")
            warm(plain, bare + "/")
            rows.append(
                alternate(
                    Row(
                        f"marketplace `/` at {args.entries}, c={args.concurrency} / bare page",
                        goal=">= 0.7x, p99 <= 2x bare",
                        check=lambda r: r.ratio >= 0.7 and r.ours.p99 <= 2 * r.peer.p99,
                    ),
                    args.rounds,
                    lambda: timed_get(signed, lambda n: f"{app}/?page={n % 50 + 1}", **load),
                    lambda: timed_get(plain, lambda n: f"{bare}/?page={n % 50 + 1}", **load),
                )
            )
        if "search" in args.only:
            print(f"  search API vs bare JSON list, c={args.concurrency}", flush=True)

            def search_url(n: int) -> str:
                term = quote(SEARCH_TERMS[n % len(SEARCH_TERMS)])
                return f"{app}/api/v2/models/search?search={term}"

            warm(signed, search_url(0))
            warm(plain, bare + "/api/list")
            rows.append(
                alternate(
                    Row(
                        f"search API at {args.entries}, c={args.concurrency} / bare list",
                        goal=">= 0.6x",
                        check=lambda r: r.ratio >= 0.6,
                    ),
                    args.rounds,
                    lambda: timed_get(signed, search_url, **load),
                    lambda: timed_get(
                        plain, lambda n: f"{bare}/api/list?page={n % 50 + 1}", **load
                    ),
                )
            )


def forget_creates(database: str, ml_db: str) -> None:
    """Remove what the create measure added on both sides (our ``Compare <hex>`` entries with
    their owner rows and audit events, MLflow's ``compare-<hex>`` models), so that the search
    after it and later runs measure the data they say: a day of runs had grown the 10,000-entry
    database to 60,000. The entries built to delete (``Compare delete ...``) stay."""
    created = (
        "SELECT id FROM models_app_model "
        "WHERE name LIKE 'Compare %' AND name NOT LIKE 'Compare delete %'"
    )
    psql(
        f"BEGIN; DELETE FROM models_app_collaborator WHERE model_id IN ({created}); "  # noqa: S608
        f"DELETE FROM core_auditevent WHERE subject IN ({created}); "
        f"DELETE FROM models_app_modeltag WHERE model_id IN ({created}); "
        f"DELETE FROM models_app_model WHERE id IN ({created}); COMMIT",
        database,
    )
    # FULL: the table is rewritten without the space the rows took (a scan reads no empty pages).
    psql("VACUUM FULL ANALYZE models_app_model", database)
    psql("VACUUM FULL ANALYZE models_app_collaborator", database)
    psql("VACUUM FULL ANALYZE core_auditevent", database)
    known = psql(f"SELECT count(*) FROM pg_database WHERE datname = '{ml_db}'")  # noqa: S608
    if int(known) and int(
        psql("SELECT count(*) FROM pg_tables WHERE tablename = 'registered_models'", ml_db)
    ):
        psql(
            "DELETE FROM registered_models "
            "WHERE name LIKE 'compare-%' AND name <> 'compare-template'",
            ml_db,
        )
        psql("VACUUM FULL ANALYZE registered_models", ml_db)


def empty_cache(redis_url: str | None) -> None:
    """Empty the app's Redis database: each part of a run starts from a cold cache, and nothing
    kept over one database is read over another."""
    if redis_url:
        import redis

        redis.Redis.from_url(redis_url).flushdb()


def flush_writes() -> None:
    """Write the harness's own changes (seeding, the entries to delete, ANALYZE) to disk before
    measuring: otherwise PostgreSQL's checkpoint and the kernel's writeback of them slow the first
    round's commits, which charges them to whichever side runs first."""
    psql("CHECKPOINT")
    os.sync()


def measure_small(args: argparse.Namespace, rows: list[Row], redis_url: str | None) -> None:
    database, ml_db = f"{args.prefix}_{args.entries_small}", f"{args.prefix}_mlflow"
    empty_cache(redis_url)
    print(f"\n[2/2] {args.entries_small} entries: create, search and delete vs MLflow")
    if int(psql(f"SELECT count(*) FROM pg_database WHERE datname = '{database}'")):  # noqa: S608
        forget_creates(database, ml_db)
    print(f"  seeding {database} ...", flush=True)
    seeded = ours("seed", database, "--entries", str(args.entries_small))
    print(f"  {database}: {seeded['entries']} entries")
    doomed: dict[str, Any] = {"ids": []}
    if "delete" in args.only:
        print(
            f"  building {args.rounds} entries of {args.releases} releases and {args.files} files "
            "to delete ...",
            flush=True,
        )
        doomed = ours(
            "deletable",
            database,
            "--count",
            str(args.rounds),
            "--releases",
            str(args.releases),
            "--files",
            str(args.files),
        )
    flush_writes()
    mlflow = ensure_mlflow()
    ensure_database(ml_db)
    blob_root = Path(tempfile.mkdtemp(prefix="bench-compare-blobs-"))
    ours_port, ml_port = free_port(), free_port()
    ours_env = {
        **base_env(),
        **app_env(database, redis_url, blob_root),
        **args.app_settings,
        "PORT": str(ours_port),
    }
    ml_env = {**base_env(), "PORT": str(ml_port), "MLFLOW_ENABLE_WORKSPACES": "false"}
    ml_command = [
        str(mlflow),
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(ml_port),
        "--workers",
        "1",
        "--backend-store-uri",
        f"postgresql+psycopg2://postgres@127.0.0.1:5432/{ml_db}",
        "--default-artifact-root",
        str(VAR / "mlflow-artifacts"),
    ]
    if args.mlflow_server == "gunicorn":
        # Flask served directly by one sync gunicorn worker: the faster of MLflow's two servers
        # here (uvicorn runs Flask behind a WSGI bridge and logs every request).
        ml_command += ["--gunicorn-opts", "--log-level warning"]
    with (
        serve(
            "app",
            gunicorn_command("bailo_site.wsgi:application", ours_port, args, OURS_GUNICORN_CONFIG),
            ours_env,
            "/login/",
        ) as app,
        serve("mlflow", ml_command, ml_env, "/health") as ml,
    ):
        names = entry_names(database)[: args.entries_small]
        print(f"  {ml_db}: {seed_mlflow(ml, ml_db, names)} registered models")
        signed = session_factory(sign_in(app, BENCH_USER, BENCH_PASSWORD))
        plain = session_factory()
        one = {"concurrency": 1, "seconds": args.seconds}

        if "create" in args.only:
            print("  create through the API vs MLflow create_registered_model, c=1", flush=True)

            def create_ours(session: Any, n: int) -> int:
                body = {"name": f"Compare {uuid.uuid4().hex[:10]}", "description": "A create."}
                return int(session.post(f"{app}/api/v2/models", json=body, timeout=60).status_code)

            def create_peer(session: Any, n: int) -> int:
                body = {"name": f"compare-{uuid.uuid4().hex[:10]}", "description": "A create."}
                url = f"{ml}{MLFLOW_API}/registered-models/create"
                return int(session.post(url, json=body, timeout=60).status_code)

            run_load(signed, create_ours, concurrency=1, seconds=1, max_requests=5)
            run_load(plain, create_peer, concurrency=1, seconds=1, max_requests=5)
            rows.append(
                alternate(
                    Row(
                        "create an entry, c=1 / MLflow create_registered_model",
                        kind="time",
                        goal="<= 1.0x",
                        check=lambda r: r.ratio <= 1.0,
                    ),
                    args.rounds,
                    lambda: run_load(signed, create_ours, **one),
                    lambda: run_load(plain, create_peer, **one),
                )
            )
            forget_creates(database, ml_db)
            empty_cache(redis_url)  # the rows went behind the app's back

        if "search-small" in args.only:
            print(
                f"  search, 100 rows, at {args.entries_small}, c=1 vs MLflow "
                "search_registered_models",
                flush=True,
            )
            term = "classifier"
            ours_url = f"{app}/api/v2/models/search?search={term}&pageSize=100"
            peer_url = f"{ml}{MLFLOW_API}/registered-models/search?max_results=100&filter=" + quote(
                f"name ILIKE '%{term}%'"
            )
            got_ours = len(signed().get(ours_url, timeout=60).json()["models"])
            got_peer = len(plain().get(peer_url, timeout=60).json().get("registered_models", []))
            print(f"    rows per answer: ours {got_ours}, MLflow {got_peer}")
            warm(signed, ours_url)
            warm(plain, peer_url)
            rows.append(
                alternate(
                    Row(
                        f"search, 100 rows, at {args.entries_small}, c=1 / MLflow search",
                        kind="time",
                        goal="<= 0.8x",
                        check=lambda r: r.ratio <= 0.8,
                    ),
                    args.rounds,
                    lambda: timed_get(signed, lambda n: ours_url, **one),
                    lambda: timed_get(plain, lambda n: peer_url, **one),
                )
            )

        if "delete" in args.only and doomed["ids"]:
            print(
                f"  delete an entry ({args.releases} releases, {args.files} files) vs MLflow "
                f"delete ({args.releases} versions)",
                flush=True,
            )
            owner = session_factory(sign_in(app, doomed["user"], doomed["password"]))
            peer_names = [
                mlflow_model_with_versions(ml, args.releases) for _ in range(len(doomed["ids"]))
            ]
            ours_ids = list(doomed["ids"])

            def delete_ours() -> Sample:
                model_id = ours_ids.pop(0)
                return run_load(
                    owner,
                    lambda s, n: int(
                        s.delete(f"{app}/api/v2/model/{model_id}", timeout=120).status_code
                    ),
                    concurrency=1,
                    seconds=600,
                    max_requests=1,
                )

            def delete_peer() -> Sample:
                name = peer_names.pop(0)
                url = f"{ml}{MLFLOW_API}/registered-models/delete"
                return run_load(
                    plain,
                    lambda s, n: int(s.delete(url, json={"name": name}, timeout=120).status_code),
                    concurrency=1,
                    seconds=600,
                    max_requests=1,
                )

            rows.append(
                alternate(
                    Row(
                        f"delete ({args.releases} releases, {args.files} files) / MLflow "
                        f"delete ({args.releases} versions)",
                        kind="time",
                        goal="<= 100 ms and <= 1.5x",
                        check=lambda r: r.ours.mean <= 100 and r.ratio <= 1.5,
                    ),
                    len(ours_ids),
                    delete_ours,
                    delete_peer,
                )
            )


def mlflow_model_with_versions(base: str, versions: int) -> str:
    """A registered model with ``versions`` versions (created through the API, 8 at a time)."""
    from concurrent.futures import ThreadPoolExecutor

    import requests

    name = f"compare-delete-{uuid.uuid4().hex[:8]}"
    answer = requests.post(
        f"{base}{MLFLOW_API}/registered-models/create", json={"name": name}, timeout=60
    )
    answer.raise_for_status()

    def version(n: int) -> None:
        answer = requests.post(
            f"{base}{MLFLOW_API}/model-versions/create",
            json={"name": name, "source": f"s3://bench/{name}/{n}", "description": f"v{n}"},
            timeout=60,
        )
        answer.raise_for_status()

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(version, range(versions)))
    return name


# --- report ---------------------------------------------------------------------------------------


def table(rows: list[Row]) -> str:
    lines = [
        "| measure | ours | peer | ratio (per round) | goal | met? |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        per_round = ", ".join(f"{r:.2f}" for r in row.rounds)
        lines.append(
            f"| {row.measure} | {row.figure(row.ours)} | {row.figure(row.peer)} | "
            f"{row.ratio:.2f}x ({per_round}) | {row.goal} | {'yes' if row.check(row) else 'NO'} |"
        )
    lines.append("")
    lines.append("ratio: ours/peer requests per second (rate rows) or mean time (time rows)")
    for row in rows:
        errors = f"errors ours {row.ours.errors}, peer {row.peer.errors}"
        lines.append(
            f"load average (1/5/15 min) {row.load[0]} -> {row.load[1]}: {row.measure}; {errors}"
        )
    return "\n".join(lines)


MEASURES = ("page", "search", "create", "search-small", "delete")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, short measures")
    parser.add_argument("--entries", type=int, default=None, help="large data (100,000)")
    parser.add_argument("--entries-small", type=int, default=None, help="small data (10,000)")
    parser.add_argument("--seconds", type=float, default=None, help="per side per round")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (app and bare)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--releases", type=int, default=None)
    parser.add_argument("--files", type=int, default=None)
    parser.add_argument(
        "--mlflow-server",
        choices=["gunicorn", "uvicorn"],
        default="gunicorn",
        help="how MLflow is served (1 worker either way)",
    )
    parser.add_argument("--prefix", default="bailo_bench_cmp", help="database name prefix")
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
        help="the app's Redis (cache, queues); 'none' for none. Emptied at the end.",
    )
    parser.add_argument(
        "--only", default=",".join(MEASURES), help=f"comma-separated among {', '.join(MEASURES)}"
    )
    parser.add_argument(
        "--app-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment setting for the app's server (repeatable), e.g. "
        "MARKETPLACE_CACHE_SECONDS=0 to measure without the listing and search caches",
    )
    args = parser.parse_args(argv)
    args.app_settings = {}
    for setting in args.app_setting:
        name, sep, value = setting.partition("=")
        if not sep or not name:
            parser.error(f"--app-setting wants NAME=VALUE, not {setting!r}")
        args.app_settings[name] = value
    quick = args.quick
    defaults = {
        "entries": 2_000 if quick else 100_000,
        "entries_small": 1_000 if quick else 10_000,
        "seconds": 2.0 if quick else 15.0,
        "rounds": 2 if quick else 3,
        "releases": 10 if quick else 100,
        "files": 200 if quick else 2000,
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.only = {m.strip() for m in args.only.split(",") if m.strip()}
    unknown = args.only - set(MEASURES)
    if unknown:
        parser.error(f"unknown measures: {', '.join(sorted(unknown))}")
    if args.redis_url == "none":
        args.redis_url = None
    return args


def redis_ok(url: str | None) -> str | None:
    if not url:
        return None
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:  # any failure: run without Redis
        print(f"Redis at {url} unreachable ({exc}): the app runs without it (tasks eager)")
        return None
    return url


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    redis_url = redis_ok(args.redis_url)
    started = time.monotonic()
    before = load_average()
    print(
        f"bench.compare{' --quick' if args.quick else ''}: {os.cpu_count()} CPUs, load average "
        f"(1/5/15 min) {before}; gunicorn {args.workers} workers x {args.threads} threads "
        f"(gthread) for the app and the bare page; MLflow server with 1 {args.mlflow_server} "
        f"worker, PostgreSQL backend store; {args.rounds} ABAB rounds of {args.seconds:g} s "
        "per side; load from Python threads with keep-alive sessions (wrk is not installed)"
    )
    rows: list[Row] = []
    try:
        if args.only & {"page", "search"}:
            measure_large(args, rows, redis_url)
        if args.only & {"create", "search-small", "delete"}:
            measure_small(args, rows, redis_url)
    finally:
        if redis_url:
            import redis

            redis.Redis.from_url(redis_url).flushdb()
    print()
    print(table(rows))
    print(
        f"\nload average (1/5/15 min) before {before}, after {load_average()}; "
        f"{time.monotonic() - started:.0f} s in all"
    )
    print(f"medians of per-round ratios: {[round(statistics.median(r.rounds), 2) for r in rows]}")


if __name__ == "__main__":
    main()
