"""Authentication backends: the admin group's permissions, and the sign-in lockout.

Membership of the admin group carries every Django permission, as a superuser's would.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from core.entities import is_admin
from core.sessions import user_read_with_session
from core.throttle import client_address, locked_for


class AdminGroupBackend(ModelBackend):
    """Password sign-in, with the lockout checked first, and the admin group's permissions.

    While the account name or the client address is locked out (``core.throttle``), raising
    ``PermissionDenied`` makes Django's ``authenticate()`` stop before the password is hashed, so a
    locked-out guesser costs nothing. ``core.middleware.SignInThrottleMiddleware`` turns that into
    a 429; ``core.signals`` counts the failures. Every sign-in form goes through
    ``authenticate()``, so the site's and the admin's are both covered. The lock is the same
    whether or not the account exists.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if request is not None and username is not None:
            subjects = signin_subjects(request, username)
            wait = max(locked_for(kind, subject) for kind, subject in subjects)
            if wait > 0:
                request.signin_locked_for = wait  # type: ignore[attr-defined]
                raise PermissionDenied("Too many failed sign-in attempts")
        return super().authenticate(request, username, password, **kwargs)

    def get_user(self, user_id: Any) -> Any:
        # The user read with the session (core.sessions) saves a query; same checks either way.
        user = user_read_with_session(user_id)
        if user is None:
            return super().get_user(user_id)
        return user if self.user_can_authenticate(user) else None

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        if user_obj.is_active and is_admin(user_obj):
            return True
        return super().has_perm(user_obj, perm, obj)

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        if user_obj.is_active and is_admin(user_obj):
            return True
        return super().has_module_perms(user_obj, app_label)


def signin_subjects(request: HttpRequest, username: str) -> list[tuple[str, str]]:
    """What failed sign-ins are counted against: the account name given and the client address."""
    return [
        ("signin-account", username.strip().casefold()),
        ("signin-address", client_address(request)),
    ]
