"""People on pages (a built-in library: no ``{% load %}`` needed).

- ``{% person value %}``: an initials avatar (decorative, hidden from screen readers) and the
  display name as text. ``value`` is an entity code (``user:alice``, ``group:data-team``), a
  User row, a ``core.people.Person`` or empty (``unknown``). ``{% person value code=True %}``
  adds the code in small text, where telling two people of one name apart matters (settings,
  access lists).
- ``{% display_name value %}``: the same name as plain text, for labels and titles.

Codes are looked up in the request's directory (``core.people.directory``): views and selectors
preload every code a page shows, so a list of many people costs one query.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from core.people import Person, directory, person_html, person_of_user

register = template.Library()


def _resolve(context: Any, value: Any) -> Person | None:
    if value is None or value == "":
        return None
    if isinstance(value, Person):
        return value
    if hasattr(value, "get_username"):
        return person_of_user(value)
    request = context.get("request") if context is not None else None
    return directory(request).get(str(value))


@register.simple_tag(takes_context=True)
def person(context: Any, value: Any, code: bool = False) -> SafeString:
    return person_html(_resolve(context, value), code=code)


@register.simple_tag(takes_context=True)
def display_name(context: Any, value: Any) -> str:
    """The display name alone: ``{% display_name c.entity %}``."""
    found = _resolve(context, value)
    return found.name if found is not None else "unknown"
