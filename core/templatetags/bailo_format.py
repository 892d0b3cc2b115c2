"""How every page writes dates and user text (a built-in library: no ``{% load %}`` needed).

- ``{% when value %}``: one format for every date and time, ``3 Dec 2026, 14:10`` in the site's
  time zone, inside ``<time>`` with the machine-readable value and the full timestamp on hover;
  ``{% when value date_only=True %}`` for a day (``3 Dec 2026``). ``None`` writes ``-``.
- ``|usertext``: Markdown that someone typed (comments, notes, descriptions), rendered and
  sanitised the same way everywhere, inside a ``user-text`` block whose headings are sized below
  the page's own.
"""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from core.markdown import render_markdown

register = template.Library()

SHORT = "j M Y, H:i"
FULL = "l j F Y, H:i:s T"
DAY = "j M Y"
FULL_DAY = "l j F Y"


@register.simple_tag
def when(value: datetime | date | None, date_only: bool = False) -> SafeString:
    if value is None or value == "":
        return mark_safe("-")
    if isinstance(value, datetime) and not date_only:
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        return format_html(
            '<time datetime="{}" title="{}">{}</time>',
            local.isoformat(),
            date_format(local, FULL),
            date_format(local, SHORT),
        )
    day = value.date() if isinstance(value, datetime) else value
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        day.isoformat(),
        date_format(day, FULL_DAY),
        date_format(day, DAY),
    )


@register.filter(name="usertext")
def usertext(text: str | None) -> SafeString:
    """Someone's Markdown as sanitised HTML, in the one wrapper every page styles alike."""
    html = render_markdown(text or "")
    return mark_safe(f'<div class="user-text">{html}</div>')  # noqa: S308 - sanitised by nh3
