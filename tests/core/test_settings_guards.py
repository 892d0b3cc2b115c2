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


def test_an_oidc_timeout_of_nothing_is_refused() -> None:
    result = start(
        DEBUG="1",
        OIDC_RP_CLIENT_ID="bailo",
        OIDC_RP_CLIENT_SECRET="secret",
        OIDC_OP_AUTHORIZATION_ENDPOINT="https://id.example.org/authorize",
        OIDC_OP_TOKEN_ENDPOINT="https://id.example.org/token",
        OIDC_OP_USER_ENDPOINT="https://id.example.org/userinfo",
        OIDC_OP_JWKS_ENDPOINT="https://id.example.org/jwks",
        OIDC_TIMEOUT="0s",
    )
    assert result.returncode != 0
    assert "OIDC_TIMEOUT must be longer than 0 seconds" in result.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"INFERENCE_HOST": "inference.internal:8080"}, "INFERENCE_HOST must be an http"),
        ({"INFERENCE_TIMEOUT": "0s"}, "INFERENCE_TIMEOUT must be between"),
        ({"INFERENCE_TIMEOUT": "5m"}, "INFERENCE_TIMEOUT must be between"),
        ({"INFERENCE_GPUS": "nvidia-t4,cpu"}, "INFERENCE_GPUS lists GPU types"),
    ],
)
def test_inference_settings_are_checked_at_start_up(
    overrides: dict[str, str], message: str
) -> None:
    result = start(DEBUG="1", **overrides)
    assert result.returncode != 0
    assert message in result.stderr


def test_inference_settings_reach_the_ui_configuration() -> None:
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.BAILO_UI['inference']))"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("BAILO_", "OIDC_"))}
    environment.update(
        BAILO_ENV_FILE="none",
        DEBUG="1",
        INFERENCE_ENABLED="true",
        INFERENCE_HOST="https://inference.example.com/",
        INFERENCE_GPUS="nvidia-t4",
        DJANGO_SETTINGS_MODULE="bailo_site.settings",
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == (
        '{"enabled": true, "connection": {"host": "https://inference.example.com"}, '
        '"authorizationTokenName": "inferencing-token", "gpus": {"nvidia-t4": "nvidia-t4"}}'
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"CARD_IMPORT_LLM_URL": "llm.internal/v1"}, "CARD_IMPORT_LLM_URL must be an http"),
        (
            {"CARD_IMPORT_LLM_URL": "http://llm.internal/v1/chat/completions"},
            "CARD_IMPORT_LLM_MODEL must name a model",
        ),
        ({"CARD_IMPORT_LLM_TIMEOUT": "0s"}, "CARD_IMPORT_LLM_TIMEOUT must be between"),
        ({"CARD_IMPORT_LLM_MAX_TOKENS": "0"}, "CARD_IMPORT_LLM_MAX_TOKENS must be 1 or more"),
    ],
)
def test_card_import_settings_are_checked_at_start_up(
    overrides: dict[str, str], message: str
) -> None:
    result = start(DEBUG="1", **overrides)
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"LIFECYCLE_PRE_REMINDER_INTERVALS": "1d,2 weeks"},
            "LIFECYCLE_PRE_REMINDER_INTERVALS must be a duration",
        ),
        (
            {"LIFECYCLE_MAX_REVIEW_INTERVAL": "3h"},
            "LIFECYCLE_MAX_REVIEW_INTERVAL must be at least 1 day",
        ),
        (
            {"LIFECYCLE_POST_REMINDER_INTERVAL": "10m"},
            "LIFECYCLE_POST_REMINDER_INTERVAL must be at least 1 hour",
        ),
    ],
)
def test_bad_lifecycle_review_settings_are_refused(overrides: dict[str, str], message: str) -> None:
    result = start(DEBUG="1", **overrides)
    assert result.returncode != 0
    assert message in result.stderr


def test_lifecycle_reminder_intervals_are_read_as_a_list_of_durations() -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("BAILO_", "OIDC_"))}
    environment.update(
        BAILO_ENV_FILE="none",
        DEBUG="1",
        LIFECYCLE_PRE_REMINDER_INTERVALS="2d, 12h",
        DJANGO_SETTINGS_MODULE="bailo_site.settings",
    )
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "print([d.total_seconds() for d in settings.LIFECYCLE_PRE_REMINDER_INTERVALS])"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[172800.0, 43200.0]"
