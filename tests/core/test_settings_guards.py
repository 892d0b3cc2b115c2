"""Settings refuse unsafe combinations at start-up (checked in a fresh interpreter)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def start(**overrides: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("BAILO_", "OIDC_"))}
    environment.update(BAILO_ENV_FILE="none", **overrides)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**environment, "DJANGO_SETTINGS_MODULE": "bailo_site.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_dev_auth_mode_is_refused_when_debug_is_off() -> None:
    result = start(DEBUG="0", SECRET_KEY="a-real-secret", BAILO_AUTH_MODE="dev")
    assert result.returncode != 0
    assert "BAILO_AUTH_MODE=dev is refused when DEBUG is off" in result.stderr


def test_production_needs_a_secret_key() -> None:
    result = start(DEBUG="0", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize("mode", ["password", "dev"])
def test_debug_mode_starts_with_either_auth_mode(mode: str) -> None:
    assert start(DEBUG="1", BAILO_AUTH_MODE=mode).returncode == 0


def test_half_configured_oidc_is_refused() -> None:
    result = start(DEBUG="1", OIDC_RP_CLIENT_ID="bailo")
    assert result.returncode != 0
    assert "OIDC_RP_CLIENT_SECRET" in result.stderr
