"""How people and groups are shown: a display name and initials for an entity code.

Bailo names people by codes (``user:alice``, ``group:data-team``) and the API keeps them. Pages show
a name instead: a user's full name from their account (first and last name, which OIDC sign-in fills
from the ``name`` claim), falling back to the username; a group's name. The entity lookup route
(``GET /api/v2/entity/{dn}/lookup``) and the entities search answer from the same source.

Names for a page are loaded once: ``people_named`` takes every code a page shows and asks the
database one question, and ``directory(request)`` keeps the answers for the request, so the
``{% person %}`` tag never queries inside a loop once a view (or selector) has preloaded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from core.entities import display_name_of, parse_entity, user_entity


@dataclass(frozen=True)
class Person:
    """Someone (or a group) as a page shows them. ``code`` is the entity code, or the raw text
    when it was not one; ``kind`` is ``user``, ``group`` or empty for such text."""

    code: str
    kind: str
    name: str
    known: bool = True

    @property
    def initials(self) -> str:
        """Up to two letters for the avatar: first letters of the first and last words."""
        # Words of a name; a one-word name (a username, a group) splits at - _ and . instead,
        # so "data-team" is DT while "Oyelaran-Whitfield" stays one surname.
        words = self.name.split()
        if len(words) == 1:
            words = re.split(r"[-_.]+", words[0])
        letters = [w[0] for w in words if w[0].isalnum()]
        if not letters:
            return "?"
        picked = letters[0] + (letters[-1] if len(letters) > 1 else "")
        return picked.upper()

    @property
    def shows_code(self) -> bool:
        """Whether the name alone hides who this is (so the code is worth showing beside it)."""
        return self.name != self.code.partition(":")[2]

    @property
    def hue(self) -> int:
        """A stable colour slot (0-7) for the avatar, so one person keeps one colour."""
        return sum(self.code.encode()) % 8

    def __str__(self) -> str:
        return self.name


def person_of_user(user: Any) -> Person:
    """The person for a User row already in hand (no query)."""
    return Person(code=user_entity(user), kind="user", name=display_name_of(user))


def _split(code: str) -> tuple[str, str]:
    """``parse_entity``, with text that is not a code kept whole under no kind."""
    try:
        return parse_entity(code)
    except ValueError:
        return "", code


def people_named(codes: Iterable[str]) -> dict[str, Person]:
    """Each code's person, with one query for all the users among them (none for groups).

    A ``user:`` code nobody holds (yet) keeps its username as the name; text that is not a code
    is shown as it is.
    """
    from django.contrib.auth import get_user_model

    wanted = {c for c in codes if isinstance(c, str) and c}
    usernames = {name for kind, name in map(_split, wanted) if kind == "user"}
    full_names: dict[str, str] = {}
    if usernames:
        rows = get_user_model().objects.filter(username__in=usernames)
        full_names = {
            username: f"{first} {last}".strip()
            for username, first, last in rows.values_list("username", "first_name", "last_name")
        }
    found: dict[str, Person] = {}
    for code in wanted:
        kind, name = _split(code)
        if kind == "user":
            found[code] = Person(
                code, "user", full_names.get(name) or name, known=name in full_names
            )
        elif kind == "group":
            found[code] = Person(code, "group", name)
        else:
            found[code] = Person(code, "", code, known=False)
    return found


class PeopleDirectory:
    """The people one request has loaded. ``preload`` fetches many in one query; ``get`` answers
    from what was loaded and fetches a stray code on its own (correct, but one query each)."""

    def __init__(self) -> None:
        self._people: dict[str, Person] = {}

    def preload(self, codes: Iterable[str]) -> None:
        missing = {c for c in codes if isinstance(c, str) and c and c not in self._people}
        if missing:
            self._people.update(people_named(missing))

    def get(self, code: str) -> Person:
        if code not in self._people:
            self.preload([code])
        return self._people.get(code) or Person(code, "", code, known=False)


def directory(request: Any) -> PeopleDirectory:
    """The request's directory of people (a fresh one for a call without a request)."""
    if request is None:
        return PeopleDirectory()
    found = getattr(request, "_bailo_people", None)
    if found is None:
        found = PeopleDirectory()
        request._bailo_people = found
    return found


def person_html(found: Person | None, *, code: bool = False) -> SafeString:
    """An initials avatar (decorative: hidden from screen readers) and the name as text; with
    ``code``, the entity code in small text when the name alone does not show it."""
    if found is None:
        return mark_safe('<span class="person person-unknown">unknown</span>')
    avatar = format_html(
        '<span class="avatar avatar-{}{}" aria-hidden="true">{}</span>',
        found.hue,
        " avatar-group" if found.kind == "group" else "",
        found.initials,
    )
    kind = mark_safe(' <small class="person-kind">(group)</small>') if found.kind == "group" else ""
    suffix = (
        format_html(' <small class="person-code">{}</small>', found.code)
        if code and found.kind and found.shows_code
        else ""
    )
    return format_html(
        '<span class="person" title="{}">{}<span class="person-name">{}</span>{}{}</span>',
        found.code,
        avatar,
        found.name,
        kind,
        suffix,
    )
