"""Sign-in and sign-out are audited where Django announces them, and failed sign-ins counted."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from core import throttle
from core.audit import AuditAction, audit_record
from core.backends import signin_subjects


@receiver(user_logged_in)
def _signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_record(action=AuditAction.USER_SIGN_IN, actor=user)
    if request is not None:
        # Only the account's count: the address's would let one valid account reset it.
        throttle.clear("signin-account", signin_subjects(request, user.get_username())[0][1])


@receiver(user_login_failed)
def _sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any
) -> None:
    username = credentials.get("username")
    if request is None or not isinstance(username, str):
        return  # not a password sign-in (OpenID Connect, or a test's client.login())
    if getattr(request, "signin_locked_for", 0):
        return  # refused by the lock without a check: not another guess
    subjects = signin_subjects(request, username)
    for kind, subject in subjects:
        throttle.record_failure(kind, subject)
    # The guess that reaches a limit is already answered with the lockout.
    wait = max(throttle.locked_for(kind, subject) for kind, subject in subjects)
    if wait:
        request.signin_locked_for = wait


@receiver(user_logged_out)
def _signed_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_record(action=AuditAction.USER_SIGN_OUT, actor=user)
