"""The first task a fresh web process sends, against the ones after it, with and without the
gunicorn start-up hook (``deploy/gunicorn.conf.py``) that prepares the sending side.

Run from the repository root with the stack's Redis (``make stack``; ``.env`` names it):

    .venv/bin/python bench/deletion/first_publish.py            # 5 fresh processes per side

Each measurement is a fresh Python process that loads the application as a gunicorn worker does
(``bailo_site.wsgi``), runs the worker hook (``--hook``) or not, waits ``--idle`` seconds (a worker
waiting for its first request; the hook's thread runs meanwhile), then times three sends of
``deletion.hide_beneath`` to its queue, as a model deletion's commit does. The Redis keys get a
prefix of this benchmark's own (``REDIS_KEY_PREFIX``), so no worker takes the messages; that
queue is emptied at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "bench-first-publish"


def child(hook: bool, idle: float) -> None:
    """One fresh process: print the three sends' milliseconds as JSON."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bailo_site.settings")
    import bailo_site.wsgi  # noqa: F401  (what a gunicorn worker loads)

    if hook:
        import runpy

        hooks = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
        hooks["post_worker_init"](None)
    time.sleep(idle)
    from deletion.tasks import hide_entry_beneath

    sends = []
    for n in range(3):
        started = time.perf_counter()
        # An id no deletion has; under the prefix, no worker reads the queue.
        hide_entry_beneath.delay(2_000_000_000 + n)
        sends.append((time.perf_counter() - started) * 1000)
    print(json.dumps(sends))


def env_file() -> dict[str, str]:
    path = ROOT / ".env"
    if not path.is_file():
        return {}
    pairs = (line.partition("=") for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, _, value in pairs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per side")
    parser.add_argument("--idle", type=float, default=1.0, help="seconds before the first send")
    parser.add_argument(
        "--sides", default="plain,hook", help="plain (no hook), hook, or both (the default)"
    )
    parser.add_argument("--child", choices=["hook", "plain"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child == "hook", args.idle)
        return

    env = {**os.environ, **env_file(), "DEBUG": "false", "SECRET_KEY": "bench-first-publish"}
    env["CELERY_TASK_ALWAYS_EAGER"] = "false"
    env["REDIS_KEY_PREFIX"] = PREFIX
    env.setdefault("ALLOWED_HOSTS", "127.0.0.1")
    if not env.get("REDIS_URL"):
        raise SystemExit("needs REDIS_URL (the stack's .env, or the environment)")
    print(f"broker {env['REDIS_URL']}; {args.runs} fresh processes per side, alternating")
    sides = [side for side in ("plain", "hook") if side in args.sides.split(",")]
    results: dict[str, list[list[float]]] = {side: [] for side in sides}
    for _ in range(args.runs):
        for side in sides:
            out = subprocess.run(
                [sys.executable, __file__, "--child", side, "--idle", str(args.idle)],
                env=env,
                cwd=ROOT,
                check=True,
                capture_output=True,
                text=True,
            )
            results[side].append(json.loads(out.stdout.strip().splitlines()[-1]))
    labels = {"plain": "without the hook", "hook": "with the gunicorn hook"}
    for side, runs in results.items():
        label = labels[side]
        first = [r[0] for r in runs]
        later = [x for r in runs for x in r[1:]]
        print(
            f"{label:24} first send: median {statistics.median(first):6.1f} ms "
            f"(runs {', '.join(f'{x:.1f}' for x in first)}); "
            f"later sends: median {statistics.median(later):.1f} ms, max {max(later):.1f} ms"
        )
    from kombu import Connection

    options = {"global_keyprefix": f"{PREFIX}:"}
    with Connection(env["REDIS_URL"], transport_options=options) as connection:
        connection.SimpleQueue("purge").clear()


if __name__ == "__main__":
    main()
