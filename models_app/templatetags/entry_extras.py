"""Template filters for entry and card pages."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from core.markdown import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    """User-supplied markdown as sanitised HTML (``render_markdown`` strips anything unsafe)."""
    return mark_safe(render_markdown(text or ""))  # noqa: S308 - sanitised by nh3
