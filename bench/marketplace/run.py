"""Marketplace and search benchmark: 100,000 entries on PostgreSQL, the app under gunicorn.

Run from the repository root: ``.venv/bin/python bench/marketplace/run.py`` (see README.md).

1. Creates the database ``bailo_bench`` (its own, never the development one) if missing, migrates
   it and seeds it with entries, tags, collaborators and users unless it already holds them.
2. Counts the SQL queries of the marketplace page and of the search API for page sizes 10 and 50,
   inside this process (``CaptureQueriesContext``): the count must not grow with the page size.
3. Starts gunicorn bound to 127.0.0.1 on a free port against that database, signs in through the
   login form (a session cookie, as a browser does), and sends each scenario at concurrency 8
   from threads, bounded by a request count and a time limit. Prints p50, p99 and requests/s.

Everything stays on the loopback interface.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from bench.common import ensure_database  # noqa: E402

PYTHON = Path(sys.executable)
BENCH_USER = "bench"
BENCH_PASSWORD = "bench-" + "marketplace-password"  # a throwaway account in a throwaway database

ADJECTIVES = [
    "sentinel", "rapid", "robust", "quantised", "compact", "federated", "sparse", "deep",
    "shallow", "adaptive", "causal", "bayesian", "streaming", "multilingual", "lightweight",
    "explainable", "ensemble", "contrastive", "generative", "hierarchical",
]  # fmt: skip
NOUNS = [
    "classifier", "detector", "segmenter", "translator", "forecaster", "ranker", "tagger",
    "summariser", "encoder", "recommender", "parser", "tracker", "estimator", "embedder",
    "transcriber", "captioner", "retriever", "scorer", "planner", "denoiser",
]  # fmt: skip
DOMAINS = [
    "image", "fraud", "speech", "satellite", "medical", "traffic", "weather", "document",
    "network", "energy", "retail", "maritime", "aviation", "genomics", "sentiment", "malware",
]  # fmt: skip
WORDS = [
    "model", "trained", "evaluated", "dataset", "accuracy", "precision", "recall", "latency",
    "transformer", "convolutional", "network", "features", "labels", "validation", "benchmark",
    "production", "deployment", "monitoring", "drift", "calibration", "threshold", "inference",
    "batch", "gpu", "cpu", "quantisation", "pruning", "distillation", "baseline", "ablation",
    "robustness", "fairness", "bias", "privacy", "licence", "documentation", "reproducible",
    "pipeline", "preprocessing", "augmentation", "tokenizer", "vocabulary", "embedding",
    "attention", "encoder", "decoder", "regression", "classification", "segmentation",
    "detection", "forecasting", "anomaly", "clustering",
]  # fmt: skip
TAGS = [
    "vision", "nlp", "audio", "tabular", "pytorch", "tensorflow", "onnx", "sklearn", "xgboost",
    "llm", "timeseries", "geospatial", "healthcare", "finance", "security", "experimental",
    "production-ready", "research", "edge", "cloud", "gpu", "cpu", "small", "large",
    "english", "multilingual", "open-data", "restricted", "benchmark", "baseline",
    "reinforcement", "graph", "recommendation", "ocr", "speech", "translation", "vision-language",
    "anomaly", "forecasting", "embedding",
]  # fmt: skip
SEARCH_TERMS = ["classifier", "satellite detector", "fraud", "calibration drift", "maritime"]


# --- database ------------------------------------------------------------------------------------


def configure_django(database: str, static_root: Path) -> None:
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{database}"
    os.environ["BAILO_ENV_FILE"] = "none"
    os.environ["DEBUG"] = "false"
    os.environ["SECRET_KEY"] = secrets.token_urlsafe(40)
    os.environ["STATIC_ROOT"] = str(static_root)
    # Plain HTTP on loopback: the session cookie must travel without TLS.
    os.environ["SESSION_COOKIE_SECURE"] = "false"
    os.environ["CSRF_COOKIE_SECURE"] = "false"
    os.environ["LOG_LEVEL"] = "WARNING"
    # Loopback for gunicorn, and Django's test client for the in-process query counts.
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"
    os.environ["DJANGO_SETTINGS_MODULE"] = "bailo_site.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _description(rng: random.Random, domain: str, noun: str) -> str:
    words = rng.sample(WORDS, rng.randint(18, 40))
    body = " ".join(words)
    return (
        f"## {domain.title()} {noun}\n\nA **{domain}** {noun} for internal use. {body}.\n\n"
        f"- owner team: {rng.choice(ADJECTIVES)}\n- see the card for evaluation details"
    )


def seed(entries: int, batch: int = 5000) -> None:
    """Insert ``entries`` entries with tags and collaborators, in batches, unless present."""
    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.db import connection, transaction

    from models_app.models import Collaborator, EntryKind, Model, ModelTag

    existing = Model.objects.count()
    if existing >= entries:
        print(f"database already holds {existing} entries: not seeding")
        return
    if existing:
        print(f"database holds {existing} entries, fewer than {entries}: reseeding")
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE models_app_collaborator, models_app_modeltag, models_app_model CASCADE"
            )

    rng = random.Random(20260101)
    bench, _ = User.objects.get_or_create(username=BENCH_USER)
    bench.set_password(BENCH_PASSWORD)
    bench.save()
    team, _ = Group.objects.get_or_create(name="bench-team")
    bench.groups.add(team)
    owners = [f"owner{i:03d}" for i in range(200)]
    User.objects.bulk_create(
        [User(username=name, password="!") for name in owners], ignore_conflicts=True
    )
    organisations = settings.BAILO_UI["modelDetails"]["organisations"]
    states = ["", *settings.BAILO_UI["modelDetails"]["states"]]
    tag_weights = [1 / (i + 1) for i in range(len(TAGS))]
    kinds = [EntryKind.MODEL] * 16 + [EntryKind.DATA_CARD] * 3 + [EntryKind.MIRRORED_MODEL]

    started = time.monotonic()
    made = 0
    while made < entries:
        size = min(batch, entries - made)
        models: list[Model] = []
        tags: list[ModelTag] = []
        collaborators: list[Collaborator] = []
        for i in range(made, made + size):
            domain, adjective, noun = (
                rng.choice(DOMAINS),
                rng.choice(ADJECTIVES),
                rng.choice(NOUNS),
            )
            name = f"{adjective.title()} {domain} {noun} {i}"
            kind = rng.choice(kinds)
            model = Model(
                id=f"{adjective}-{domain}-{noun}-{i}-{i % 36:x}{rng.randrange(36**5):05x}"[:140],
                name=name,
                description=_description(rng, domain, noun),
                kind=kind,
                visibility="private" if rng.random() < 0.2 else "public",
                organisation=rng.choice(organisations),
                state=rng.choice(states),
                mirror_source_model_id=f"source-{i}" if kind == EntryKind.MIRRORED_MODEL else "",
            )
            models.append(model)
            for tag in set(rng.choices(TAGS, weights=tag_weights, k=rng.randint(0, 4))):
                tags.append(ModelTag(model=model, name=tag))
            collaborators.append(
                Collaborator(model=model, entity=f"user:{rng.choice(owners)}", role="owner")
            )
            if rng.random() < 0.3:
                collaborators.append(
                    Collaborator(model=model, entity=f"user:{rng.choice(owners)}", role="consumer")
                )
            if rng.random() < 0.01:
                role = rng.choice(["owner", "contributor", "consumer"])
                collaborators.append(
                    Collaborator(model=model, entity=f"user:{BENCH_USER}", role=role)
                )
            if rng.random() < 0.005:
                collaborators.append(
                    Collaborator(model=model, entity="group:bench-team", role="consumer")
                )
        with transaction.atomic():
            Model.objects.bulk_create(models, batch_size=batch)
            ModelTag.objects.bulk_create(tags, batch_size=batch, ignore_conflicts=True)
            Collaborator.objects.bulk_create(collaborators, batch_size=batch, ignore_conflicts=True)
        made += size
        print(f"  seeded {made}/{entries} entries ({time.monotonic() - started:.0f} s)", flush=True)
    with connection.cursor() as cursor:
        # Spread the update times over a year so "newest first" means something.
        cursor.execute(
            "UPDATE models_app_model SET updated_at = now() - random() * interval '365 days', "
            "created_at = now() - interval '400 days'"
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"seeded {entries} entries in {time.monotonic() - started:.0f} s")


BENCH_TABLES = (
    "models_app_model",
    "models_app_modeltag",
    "models_app_collaborator",
    "auth_user",
    "auth_group",
    "auth_user_groups",
)


def statistics_set(mode: str) -> None:
    """``analyze``: fresh statistics. ``none``: the tables look never analysed (no column
    statistics, no row estimate), as after a burst of inserts with autovacuum off."""
    from django.db import connection

    with connection.cursor() as cursor:
        for name in BENCH_TABLES:
            if mode == "analyze":
                cursor.execute(f"ANALYZE {name}")
                continue
            cursor.execute("DELETE FROM pg_statistic WHERE starelid = %s::regclass", [name])
            cursor.execute(
                "UPDATE pg_class SET reltuples = -1, relpages = 0 WHERE oid = %s::regclass", [name]
            )


# --- query counts (in this process) -------------------------------------------------------------


def query_counts() -> dict[str, dict[int, int]]:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    user = User.objects.get(username=BENCH_USER)
    client = Client()
    client.force_login(user)
    counts: dict[str, dict[int, int]] = {"page": {}, "api": {}}
    for size in (10, 50):
        paths = {
            "page": f"/?per_page={size}",
            "api": f"/api/v2/models/search?search=classifier&pageSize={size}",
        }
        for label, path in paths.items():
            client.get(path)  # warm caches (sessions, content types) so both sizes compare fairly
            with CaptureQueriesContext(connection) as captured:
                response = client.get(path)
            if response.status_code != 200:
                raise SystemExit(f"{path} answered {response.status_code}")
            counts[label][size] = len(captured.captured_queries)
    return counts


def explain_search(term: str) -> str:
    """The plan of the search API's page query, to show the GIN index in use."""
    from django.contrib.auth.models import User

    from models_app.policy import Actor
    from models_app.search import model_search_queryset, search_spec

    actor = Actor(user=User.objects.get(username=BENCH_USER))
    qs = model_search_queryset(actor=actor, spec=search_spec(text=term))[:20]
    return str(qs.explain())


# --- the server and the load --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn(workers: int, threads: int) -> Iterator[str]:
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(
        [
            str(PYTHON),
            "-m",
            "gunicorn",
            "bailo_site.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",
            "gthread" if threads > 1 else "sync",
            "--timeout",
            "60",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        import requests

        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"gunicorn exited early; see {log.name}")
            try:
                requests.get(base + "/login/", timeout=10)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise SystemExit(
                        f"gunicorn did not answer within 60 s; see {log.name}"
                    ) from None
                time.sleep(0.3)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        print(f"gunicorn log: {log.name}")


def sign_in(base: str) -> Any:
    import requests

    session = requests.Session()
    form = session.get(base + "/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    if token is None:
        raise SystemExit("no CSRF token on the login page")
    answer = session.post(
        base + "/login/",
        data={
            "username": BENCH_USER,
            "password": BENCH_PASSWORD,
            "csrfmiddlewaretoken": token.group(1),
        },
        headers={"Referer": base + "/login/"},
        allow_redirects=False,
        timeout=10,
    )
    if answer.status_code != 302 or "sessionid" not in session.cookies:
        raise SystemExit(f"sign-in failed with {answer.status_code}")
    return session


@dataclass
class Result:
    label: str
    count: int
    errors: int
    elapsed: float
    latencies: list[float]

    def line(self) -> str:
        ordered = sorted(self.latencies)
        p50 = statistics.median(ordered) * 1000
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
        rate = self.count / self.elapsed
        return (
            f"{self.label:<44} n={self.count:<5} errors={self.errors:<3} "
            f"p50={p50:7.1f} ms  p99={p99:7.1f} ms  {rate:6.1f} req/s"
        )


def load(
    label: str,
    session: Any,
    make_url: Callable[[int], str],
    *,
    concurrency: int,
    requests_max: int,
    seconds_max: float,
) -> Result:
    """Send up to ``requests_max`` GETs from ``concurrency`` threads, within ``seconds_max``."""
    import requests

    cookies = session.cookies.get_dict()
    counter = iter(range(requests_max))
    lock = threading.Lock()
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds_max

    def worker() -> None:
        nonlocal errors
        own = requests.Session()  # one connection pool per thread
        own.cookies.update(cookies)
        while time.monotonic() < deadline:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            started = time.perf_counter()
            try:
                response = own.get(make_url(n), timeout=30)
                ok = response.status_code == 200
            except requests.RequestException:
                ok = False
            took = time.perf_counter() - started
            with lock:
                latencies.append(took)
                if not ok:
                    errors += 1

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()
    return Result(label, len(latencies), errors, time.monotonic() - started, latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="bailo_bench")
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--requests", type=int, default=400, help="per scenario")
    parser.add_argument("--seconds", type=float, default=60, help="per scenario")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seed-only", action="store_true")
    parser.add_argument(
        "--statistics",
        choices=["analyze", "none"],
        default="analyze",
        help="ANALYZE the tables before measuring, or empty their statistics (as a server "
        "without autovacuum after a burst of inserts)",
    )
    args = parser.parse_args()

    ensure_database(args.database)
    static_root = Path(tempfile.mkdtemp(prefix="bench-static-"))
    try:
        configure_django(args.database, static_root)
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        seed(args.entries)
        if args.seed_only:
            return
        from models_app.models import Model

        statistics_set(args.statistics)
        print(f"\nentries: {Model.objects.count()}  (database {args.database})")
        print(f"statistics: {args.statistics}; cache: {os.environ.get('REDIS_URL') or 'local'}")
        for term in ("classifier", "calibration drift"):
            print(f"\nscans in the plan of the search query (search={term}):")
            for line in explain_search(term).splitlines():
                if "Scan on" in line:
                    print("  " + line.strip().removeprefix("->").strip())
        counts = query_counts()
        print("\nSQL queries per request (signed-in user, in process):")
        for label, by_size in counts.items():
            sizes = ", ".join(f"page size {size}: {n}" for size, n in by_size.items())
            print(f"  {label:<5} {sizes}")
        connection.close()

        load_avg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"\nmachine: {os.cpu_count()} CPUs, load average before the run {load_avg}")
        print(
            f"load: concurrency {args.concurrency}, up to {args.requests} requests or "
            f"{args.seconds:.0f} s per scenario; gunicorn {args.workers} workers x "
            f"{args.threads} threads on 127.0.0.1"
        )
        with gunicorn(args.workers, args.threads) as base:
            session = sign_in(base)
            scenarios: list[tuple[str, Callable[[int], str]]] = [
                ("marketplace page (no filter)", lambda n: f"{base}/?page={n % 50 + 1}"),
                (
                    "marketplace page (text search)",
                    lambda n: f"{base}/?q={SEARCH_TERMS[n % len(SEARCH_TERMS)]}",
                ),
                (
                    "marketplace page (tag + state filters)",
                    lambda n: f"{base}/?tag=vision&state=Production&page={n % 5 + 1}",
                ),
                (
                    "API /models/search?search=...",
                    lambda n: (
                        f"{base}/api/v2/models/search?search={SEARCH_TERMS[n % len(SEARCH_TERMS)]}"
                    ),
                ),
                (
                    "API /models/search (name only)",
                    lambda n: (
                        f"{base}/api/v2/models/search?titleOnly=true&search="
                        f"{SEARCH_TERMS[n % len(SEARCH_TERMS)]}"
                    ),
                ),
            ]
            # One warm-up request each, so the first figures do not include imports.
            for _, make_url in scenarios:
                session.get(make_url(0), timeout=60)
            results = [
                load(
                    label,
                    session,
                    make_url,
                    concurrency=args.concurrency,
                    requests_max=args.requests,
                    seconds_max=args.seconds,
                )
                for label, make_url in scenarios
            ]
        print()
        for result in results:
            print(result.line())
        load_avg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"\nload average after the run: {load_avg}")
    finally:
        shutil.rmtree(static_root, ignore_errors=True)


if __name__ == "__main__":
    main()
