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

import functools
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, cast

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.core.exceptions import ValidationError
from django.db import connections, router
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from core.entities import ADMIN_FLAG
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
        # What Django's own read asks (``UserSession.objects`` joins the user to it), without
        # building and compiling the query on every request (``_JoinedRead``).
        row = _joined_read().get(self.session_key, timezone.now())
        if row is None:
            self._session_key = None  # as Django's read does: a new key on the next save
        self.loaded_user = row.user if row is not None else None
        return row

    def create_model_instance(self, data: dict[str, Any]) -> UserSession:
        row = cast(UserSession, super().create_model_instance(data))
        row.user_id = _user_pk(data.get(SESSION_KEY))
        return row

    def flush(self) -> None:
        self.loaded_user = None
        super().flush()


class _JoinedRead:
    """``UserSession.objects.get(session_key=key, expire_date__gt=now)`` with ``select_related
    ("user")``, its SQL written once from the models' metadata.

    Every signed-in request reads its session: building that queryset, compiling it and turning
    the row into objects through the ORM took about a quarter of the CPU of a small API write.
    Same statement, same columns and conversions (``Model.from_db``), one round trip; it also
    answers ``core.entities.is_admin`` for the user it reads."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        connection = connections[alias]

        def quote(field: Any) -> str:
            return str(connection.ops.quote_name(field.column))

        user_model = get_user_model()
        user_field = UserSession._meta.get_field("user")
        self.session_fields = list(UserSession._meta.concrete_fields)
        self.user_fields = list(user_model._meta.concrete_fields)
        self.session_attnames = [f.attname for f in self.session_fields]
        self.user_attnames = [f.attname for f in self.user_fields]
        self.user_model = user_model
        self.user_field = user_field
        sessions = connection.ops.quote_name(UserSession._meta.db_table)
        users = connection.ops.quote_name(user_model._meta.db_table)
        columns = [f"{sessions}.{quote(f)}" for f in self.session_fields]
        columns += [f"{users}.{quote(f)}" for f in self.user_fields]
        key = UserSession._meta.get_field("session_key")
        expiry = UserSession._meta.get_field("expire_date")
        self.key_field, self.expiry_field = key, expiry
        user_id, user_pk = quote(user_field), quote(user_field.target_field)  # type: ignore[union-attr]
        # Whether the user is in the administrators' group (``core.entities.is_admin``, which
        # nearly every page and list asks): answered here rather than by a statement of its own.
        groups = user_model._meta.get_field("groups")
        memberships = connection.ops.quote_name(groups.remote_field.through._meta.db_table)  # type: ignore[union-attr]
        group_table = connection.ops.quote_name(groups.related_model._meta.db_table)  # type: ignore[union-attr]
        member, group_id = (
            connection.ops.quote_name(groups.m2m_column_name()),  # type: ignore[attr-defined]
            connection.ops.quote_name(groups.m2m_reverse_name()),  # type: ignore[attr-defined]
        )
        group_pk = quote(groups.related_model._meta.pk)  # type: ignore[union-attr]
        group_name = quote(groups.related_model._meta.get_field("name"))  # type: ignore[union-attr]
        columns.append(
            f"EXISTS(SELECT 1 FROM {memberships} INNER JOIN {group_table} "  # noqa: S608 (names)
            f"ON ({memberships}.{group_id} = {group_table}.{group_pk}) "
            f"WHERE {memberships}.{member} = {users}.{user_pk} "
            f"AND {group_table}.{group_name} = %s)"
        )
        self.sql = (
            f"SELECT {', '.join(columns)} FROM {sessions} "  # noqa: S608 (quoted catalogue names)
            f"LEFT OUTER JOIN {users} ON ({sessions}.{user_id} = {users}.{user_pk}) "
            f"WHERE ({sessions}.{quote(key)} = %s "
            f"AND {sessions}.{quote(expiry)} > %s)"
        )
        # The conversions the ORM would apply to each column (none for PostgreSQL's plain types).
        self.conversions: list[tuple[int, Any, list[Any]]] = []
        for i, field in enumerate(self.session_fields + self.user_fields):
            column = field.get_col(field.model._meta.db_table)
            converters = field.get_db_converters(connection)
            converters += connection.ops.get_db_converters(column)
            if converters:
                self.conversions.append((i, column, converters))

    def get(self, session_key: str | None, now: Any) -> UserSession | None:
        connection = connections[self.alias]
        params = [
            settings.BAILO_ADMIN_GROUP,
            self.key_field.get_db_prep_value(session_key, connection),
            self.expiry_field.get_db_prep_value(now, connection),
        ]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            found = cursor.fetchone()
        if found is None:
            return None
        *values, in_admin_group = found
        for i, column, converters in self.conversions:
            for convert in converters:
                values[i] = convert(values[i], column, connection)
        split = len(self.session_fields)
        row = UserSession.from_db(self.alias, self.session_attnames, values[:split])
        user = None
        if row.user_id is not None:  # type: ignore[attr-defined]
            user = self.user_model.from_db(self.alias, self.user_attnames, values[split:])
            setattr(user, ADMIN_FLAG, bool(user.is_superuser) or bool(in_admin_group))
        self.user_field.set_cached_value(row, user)  # type: ignore[attr-defined]
        return row


@functools.cache
def _joined_read() -> _JoinedRead:
    return _JoinedRead(router.db_for_read(UserSession))


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
