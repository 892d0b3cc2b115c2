"""Browser sessions read together with their user: one query per request instead of two.

Django's database store reads the session row, then ``AuthenticationMiddleware`` reads the user
it names. ``SessionStore`` keeps sessions in ``core.UserSession``, whose ``user`` column mirrors
the session data's user id, and reads the row joined to its user. ``SessionUserMiddleware`` then
runs Django's own ``get_user`` (backend check, session hash verification, fallback secrets) with
that row on offer: ``AdminGroupBackend.get_user`` takes it instead of querying when it is the
user the session names. The offer lasts only for that call, so no other request can see it.

Nothing is cached beyond the request: signing out deletes the row, deleting a user deletes their
sessions, and a deactivated user or a changed password ends the session on the next request,
exactly as with Django's store.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, cast

from django.contrib import auth
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from core.models import UserSession

# The user read with the session, on offer to the backend during one ``get_user`` call.
_SESSION_USER: ContextVar[Any] = ContextVar("session_user", default=None)


def _user_pk(value: Any) -> Any:
    if value is None:
        return None
    try:
        return get_user_model()._meta.pk.to_python(value)  # type: ignore[union-attr]
    except ValidationError:
        return None


class SessionStore(DatabaseSessionStore):
    """Django's database session store on ``core.UserSession``.

    The class keeps Django's name: it is part of the key that signs session data, so sessions
    written by Django's own store (copied by migration ``core.0002``) still read back.
    """

    # The user row read with the session (None before sign-in or when not loaded yet).
    loaded_user: Any = None

    @classmethod
    def get_model_class(cls) -> type[UserSession]:
        return UserSession

    def _get_session_from_db(self) -> UserSession | None:
        # Django's own read; ``UserSession.objects`` joins the user to it.
        row = cast(UserSession | None, super()._get_session_from_db())  # type: ignore[misc]
        self.loaded_user = row.user if row is not None else None
        return row

    def create_model_instance(self, data: dict[str, Any]) -> UserSession:
        row = cast(UserSession, super().create_model_instance(data))
        row.user_id = _user_pk(data.get(SESSION_KEY))
        return row

    def flush(self) -> None:
        self.loaded_user = None
        super().flush()


def session_user(request: HttpRequest) -> Any:
    """``django.contrib.auth.get_user``, offering it the user read with the session."""
    session = request.session
    offered = None
    if isinstance(session, SessionStore):
        session.get(SESSION_KEY)  # loads the session, and its user, if not loaded yet
        offered = session.loaded_user
    token = _SESSION_USER.set(offered)
    try:
        return auth.get_user(request)
    finally:
        _SESSION_USER.reset(token)


def user_read_with_session(user_id: Any) -> Any:
    """The user read with this request's session if it is the one ``user_id`` names (only while
    ``session_user`` runs), else None: the caller reads the user itself."""
    user = _SESSION_USER.get()
    if user is None or user.pk != user_id:
        return None
    return user


class SessionUserMiddleware(AuthenticationMiddleware):
    """Django's ``AuthenticationMiddleware`` with ``request.user`` from ``session_user``."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        request.user = SimpleLazyObject(_cached(request))  # type: ignore[assignment]


def _cached(request: HttpRequest) -> Callable[[], Any]:
    def user() -> Any:
        if not hasattr(request, "_cached_user"):
            request._cached_user = session_user(request)  # type: ignore[attr-defined]
        return request._cached_user  # type: ignore[attr-defined]

    return user
