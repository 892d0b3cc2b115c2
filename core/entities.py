"""How people and groups are named across the system: ``user:<username>`` and ``group:<name>``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, CharField, F, Func, Q, Subquery, Value
from django.db.models.functions import Concat

USER_PREFIX = "user:"
GROUP_PREFIX = "group:"


def user_entity(user: Any) -> str:
    return f"{USER_PREFIX}{user.get_username()}"


def group_entity(name: str) -> str:
    return f"{GROUP_PREFIX}{name}"


def entities_of(user: Any) -> list[str]:
    """Every entity string that stands for this user: themself and each of their groups."""
    if not user.is_authenticated:
        return []
    names = [user_entity(user)]
    names.extend(group_entity(g) for g in user.groups.values_list("name", flat=True))
    return names


class _GroupsAndOwn(Func):
    """``ARRAY(groups)::text[] || own::text``: the user's group entities and their own."""

    template = "(ARRAY%(expressions)s::text)"
    arg_joiner = "::text[] || "
    output_field = CharField()


class _OneOf(Func):
    """``field = ANY(array)``."""

    template = "%(expressions)s"
    arg_joiner = " = ANY"
    output_field = BooleanField()


# Where ``entity_filter`` keeps the conditions it built on the user object (one request's): a
# list or search asks for the same one several times (visibility, counts, roles on the page).
FILTERS_MEMO = "_bailo_entity_filters"


def entity_filter(user: Any, field: str = "entity") -> Q:
    """A condition on rows whose ``field`` names this user or one of their groups.

    The same entities as ``entities_of``, but as SQL (the groups are a subquery), so filtering
    with it costs no query of its own. Anonymous users match nothing. The condition is SQL, read
    when a query runs, so one built earlier in the request still sees the groups as they are;
    Django copies it whenever a query uses it, so it is shared safely.
    """
    if not user.is_authenticated:
        return Q(pk__in=[])
    memo = getattr(user, FILTERS_MEMO, None)
    if memo is None:
        memo = {}
        setattr(user, FILTERS_MEMO, memo)
    key = (field, user.get_username(), connection.vendor)
    found = memo.get(key)
    if found is None:
        found = memo[key] = _entity_filter(user, field)
    return found  # type: ignore[no-any-return]


def _entity_filter(user: Any, field: str) -> Q:
    from django.contrib.auth.models import Group

    groups = (
        Group.objects.filter(user=user)
        .annotate(entity_name=Concat(Value(GROUP_PREFIX), "name", output_field=CharField()))
        .values("entity_name")
    )
    if connection.vendor != "postgresql":
        return Q(**{field: user_entity(user)}) | Q(**{f"{field}__in": groups})
    # ``field = ANY(ARRAY(groups) || own)``: the array is computed once (an InitPlan), so this is
    # an index lookup on ``field``. The plainer ``field = own OR field IN (groups)`` cannot use an
    # index for the OR and reads the whole table: every collaborator row on each list and search
    # (23 ms at 130,000 rows).
    own = Value(user_entity(user), output_field=CharField())
    return Q(_OneOf(F(field), _GroupsAndOwn(Subquery(groups), own)))


# Where ``is_admin`` keeps its answer on the user object (one request's); the session read sets it
# in advance from the same statement (``core.sessions``).
ADMIN_FLAG = "_bailo_is_admin"


def is_admin(user: Any) -> bool:
    """Site administrators: members of the admin group, or Django superusers."""
    if not user.is_authenticated:
        return False
    cached = getattr(user, ADMIN_FLAG, None)
    if cached is None:
        cached = (
            bool(getattr(user, "is_superuser", False))
            or user.groups.filter(name=settings.BAILO_ADMIN_GROUP).exists()
        )
        setattr(user, ADMIN_FLAG, cached)
    return bool(cached)


def parse_entity(value: str) -> tuple[str, str]:
    """Split ``user:alice`` into ``("user", "alice")``; raises ValueError otherwise."""
    kind, sep, name = value.partition(":")
    if not sep or kind not in {"user", "group"} or not name:
        raise ValueError(f"'{value}' is not an entity; expected user:<name> or group:<name>")
    return kind, name


def display_name_of(user: Any) -> str:
    """A user's display name: their full name, else their username (``core.people`` shows it)."""
    full = user.get_full_name().strip() if hasattr(user, "get_full_name") else ""
    return str(full or user.get_username())


def entity_search(text: str, limit: int) -> list[tuple[str, str, str]]:
    """Active users whose username or full name contains ``text``, then groups whose name does:
    ``(kind, id, display name)``, at most ``limit`` of each."""
    from django.contrib.auth.models import Group, User

    full_name = Concat("first_name", Value(" "), "last_name", output_field=CharField())
    users = (
        User.objects.annotate(full_name=full_name)
        .filter(Q(username__icontains=text) | Q(full_name__icontains=text), is_active=True)
        .order_by("username")
        .values_list("username", "first_name", "last_name")[:limit]
    )
    groups = (
        Group.objects.filter(name__icontains=text)
        .order_by("name")
        .values_list("name", flat=True)[:limit]
    )
    found = [("user", name, f"{first} {last}".strip() or name) for name, first, last in users]
    return found + [("group", name, name) for name in groups]


def entity_lookup(dn: str) -> dict[str, str] | None:
    """What Bailo's ``GET /entity/{dn}/lookup`` tells about the active user ``dn``: a display
    name and an e-mail address (no organisation is kept for people here). None when unknown."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username=dn, is_active=True).first()
    if user is None:
        return None
    found = {"name": display_name_of(user)}
    if user.email:
        found["email"] = user.email
    return found
