"""Helpers for the purge, restore and storage-audit tests: the real registry (or a clear skip),
the end of a retention window, and running ``storage_audit`` for one entry's blobs."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from core.ports import registry
from core.ports.storage import blob_store
from deletion.cascade import model_blob_prefix
from deletion.models import Deletion
from tests.conftest import stack_required


def require_registry() -> None:
    """Skip (or fail, when the stack is required) unless the stack's registry answers."""
    problem = ""
    if not registry.is_configured():
        problem = "REGISTRY_URL and the token key files are not set"
    else:
        try:
            requests.get(f"{settings.REGISTRY_URL}/v2/", timeout=3)
        except requests.RequestException as exc:
            problem = f"the registry does not answer: {exc}"
    if problem:
        if stack_required():
            pytest.fail(problem)
        pytest.skip(problem)


def window_passed(deletion: Deletion) -> None:
    """The retention window of ``deletion`` ends now."""
    Deletion.objects.filter(pk=deletion.pk).update(purge_due=timezone.now() - timedelta(seconds=1))


def stored(keys: list[str]) -> list[str]:
    """Those of ``keys`` whose blob is in storage."""
    store = blob_store()
    return [key for key in keys if store.exists(key)]


def keys_under(model_id: str) -> list[str]:
    return sorted(blob_store().list_keys(model_blob_prefix(model_id)))


def storage_audit(prefix: str) -> tuple[int, str]:
    """Run ``manage.py storage_audit --prefix <prefix>``: (exit code, what it printed)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("storage_audit", prefix=prefix, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    return 0, out.getvalue()


def audit_entry(model_id: str) -> tuple[int, str]:
    return storage_audit(model_blob_prefix(model_id))


def deletion_named(subject: str, **filters: Any) -> Deletion:
    return Deletion.objects.get(subject=subject, **filters)
