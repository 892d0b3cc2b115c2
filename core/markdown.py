"""Markdown to safe HTML: descriptions, notes and the documentation pages."""

from __future__ import annotations

import threading

import markdown as md
import nh3

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "span", "strong",
    "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "code": {"class"},
    "span": {"class"},
    "div": {"class"},
    "th": {"align"},
    "td": {"align"},
    "h1": {"id"},
    "h2": {"id"},
    "h3": {"id"},
    "h4": {"id"},
}


_EXTENSIONS = ["fenced_code", "tables", "toc", "sane_lists"]
# One converter per thread, reset before each use: making one loads its extensions, which cost
# as much as converting a description (a Markdown instance is not safe to share between threads).
_converters = threading.local()


def _converter() -> md.Markdown:
    converter: md.Markdown | None = getattr(_converters, "markdown", None)
    if converter is None:
        converter = _converters.markdown = md.Markdown(extensions=_EXTENSIONS)
    return converter


def render_markdown(text: str) -> str:
    """Render user-supplied markdown; scripts, event handlers and unknown tags are stripped."""
    html = _converter().reset().convert(text or "")
    return nh3.clean(
        html, tags=_TAGS, attributes=_ATTRIBUTES, url_schemes={"http", "https", "mailto"}
    )
