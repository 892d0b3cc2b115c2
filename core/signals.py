"""Sign-in and sign-out are audited where Django announces them."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from core.audit import AuditAction, audit_record


@receiver(user_logged_in)
def _signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_record(action=AuditAction.USER_SIGN_IN, actor=user)


@receiver(user_logged_out)
def _signed_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_record(action=AuditAction.USER_SIGN_OUT, actor=user)
