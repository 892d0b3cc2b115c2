"""Security headers: the Content-Security-Policy, HSTS and the HTTPS redirect, and the deploy
check on the documented production configuration."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)
OPERATING_SAFELY = ROOT / "docs" / "administration" / "operating-safely.md"


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


@pytest.mark.parametrize("path", ["/login/", "/docs/", "/api/v2/entities/me", "/api/docs"])
def test_every_response_carries_the_content_security_policy(path: str) -> None:
    policy = directives(Client().get(path)["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert "script-src" not in policy  # scripts fall back to default-src 'self'
    assert "style-src" not in policy
    assert all("unsafe" not in " ".join(values) for values in policy.values())


def test_the_policy_is_configurable_and_can_be_switched_off(settings: Any) -> None:
    settings.CONTENT_SECURITY_POLICY = "default-src 'none'"
    assert Client().get("/login/")["Content-Security-Policy"] == "default-src 'none'"
    settings.CONTENT_SECURITY_POLICY = ""
    assert "Content-Security-Policy" not in Client().get("/login/")


TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))
# Pages saved and printed on their own carry their stylesheet in a <style> element, and are served
# with a policy of their own that allows that and nothing else (tests/models_app for the card).
SELF_CONTAINED = {"models_app/card_export.html"}


@pytest.mark.parametrize("template", TEMPLATES, ids=[str(t.relative_to(ROOT)) for t in TEMPLATES])
def test_no_template_has_inline_scripts_or_styles(template: Path) -> None:
    """What the policy would refuse in the browser: scripts without src, <style> blocks, style
    attributes and on* handler attributes."""
    text = template.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline <script>"
    if str(template.relative_to(ROOT / "templates")) not in SELF_CONTAINED:
        assert "<style" not in text, "inline <style>"
    assert not re.search(r"\sstyle=", text), "style attribute"
    assert not re.search(r"\son[a-z]+=", text), "on* event handler attribute"


def test_https_is_not_enforced_by_default() -> None:
    response = Client().get("/login/")
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in Client().get("/login/", secure=True)


def test_hsts_and_the_https_redirect_follow_the_settings(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_REDIRECT_EXEMPT = [r"^api/v2/system/status$"]
    plain = Client().get("/login/")
    assert plain.status_code == 301 and plain["Location"] == "https://testserver/login/"
    assert Client().get("/api/v2/system/status").status_code != 301
    secure = Client().get("/login/", secure=True)
    assert secure["Strict-Transport-Security"] == "max-age=3600"


def documented_production_environment() -> dict[str, str]:
    """The ``KEY=value`` block under "A production configuration" in the docs."""
    text = OPERATING_SAFELY.read_text()
    section = text.split("### A production configuration", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "no sh block under 'A production configuration'"
    values = dict(line.split("=", 1) for line in block.group(1).splitlines() if "=" in line)
    values["SECRET_KEY"] = "a-test-only-secret-" + "x" * 50
    return values


def test_the_deploy_check_is_clean_on_the_documented_production_configuration() -> None:
    environment = {
        k: v
        for k, v in os.environ.items()
        # DJANGO_*: the browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process.
        if not k.startswith(
            ("BAILO_", "OIDC_", "SECURE_", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_")
        )
    }
    environment |= {"BAILO_ENV_FILE": "none", "DJANGO_SETTINGS_MODULE": "bailo_site.settings"}
    environment |= documented_production_environment()
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
