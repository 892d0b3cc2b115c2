"""``make screenshots``: the main pages at 1280 and 390 px, in light and dark, as PNG files in
var/screenshots/ (git-ignored), for anyone to look at.

Starts the app in its embedded mode (SQLite under var/screenshots/, the demo data) on a free port
on 127.0.0.1, signs in as the demo user alice and drives Debian's Chromium with Playwright.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "var" / "screenshots"
PAGES = {
    "marketplace": "/",
    "data-cards": "/?tab=data-cards",
    "entry": "/model/{model}",
    "releases": "/model/{model}/releases",
    "files": "/model/{model}/files",
    "access-requests": "/model/{model}/access-requests",
    "settings": "/model/{model}/settings",
    "reviews": "/reviews",
    "my-access": "/access",
    "tokens": "/settings/personal-access-tokens",
    "new-token": "/settings/personal-access-tokens/new",
    "docs": "/docs/getting-started",
    "sign-in": "/login/",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "BAILO_ENV_FILE": "none",
        "DEBUG": "1",
        "BAILO_AUTH_MODE": "password",
        "DATABASE_URL": f"sqlite:///{OUT / 'db.sqlite3'}",
    }
    python = str(ROOT / ".venv" / "bin" / "python")
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([python, "manage.py", "seed_demo"], cwd=ROOT, env=env, check=True)
    model = (
        subprocess.run(
            [
                python,
                "manage.py",
                "shell",
                "-c",
                "from models_app.models import Model; "
                "print(Model.objects.order_by('name').first().pk)",
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    port = free_port()
    server = subprocess.Popen(
        [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            for scheme in ("light", "dark"):
                for width in (1280, 390):
                    page = browser.new_page(
                        viewport={"width": width, "height": 900}, color_scheme=scheme
                    )
                    page.goto(base + "/login/")
                    page.get_by_label("Username").fill("alice")
                    page.get_by_label("Password").fill("bailo-demo")
                    page.get_by_role("button", name="Sign in").click()
                    page.wait_for_load_state()
                    for name, path in PAGES.items():
                        page.goto(base + path.format(model=model))
                        page.screenshot(
                            path=str(OUT / f"{name}-{width}-{scheme}.png"), full_page=True
                        )
                    page.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"{len(PAGES) * 4} screenshots in {OUT.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
