"""One way to write dates and user text on every page: ``{% when %}`` and ``|usertext``
(core/templatetags/bailo_format.py), and the pages that show comments, notes and descriptions."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.template import Context, Template

from models_app.policy import Actor
from reviews.services import comment_add
from tests.releases.release_helpers import make_release, with_card

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def render(source: str, **context: Any) -> str:
    return Template(source).render(Context(context))


def test_a_time_is_written_one_way_with_the_full_timestamp_on_hover(settings: Any) -> None:
    settings.TIME_ZONE = "UTC"
    html = render("{% when t %}", t=datetime(2026, 12, 3, 14, 5, 9, tzinfo=UTC))
    assert html == (
        '<time datetime="2026-12-03T14:05:09+00:00" '
        'title="Thursday 3 December 2026, 14:05:09 UTC">3 Dec 2026, 14:05</time>'
    )


def test_a_day_and_nothing_are_written_too() -> None:
    assert render("{% when d date_only=True %}", d=date(2027, 1, 31)) == (
        '<time datetime="2027-01-31" title="Sunday 31 January 2027">31 Jan 2027</time>'
    )
    assert render("{% when d %}", d=None) == "-"


def test_user_text_is_rendered_and_sanitised_inside_its_wrapper() -> None:
    html = render("{{ t|usertext }}", t="# Heading\n\n**bold** <script>x()</script>")
    assert html.startswith('<div class="user-text">')
    assert ">Heading</h1>" in html and "<strong>bold</strong>" in html
    assert "<script>" not in html


def test_no_template_formats_dates_by_hand() -> None:
    by_hand = [
        f"{path.relative_to(TEMPLATES)}:{n}"
        for path in TEMPLATES.rglob("*.html")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\|date:", line)
    ]
    assert not by_hand, by_hand


@pytest.mark.django_db
def test_comments_and_release_notes_render_markdown_in_lists_too(
    entry: Any, owner: Any, client_for: Any
) -> None:
    carded = with_card(entry, owner)
    release = make_release(carded, owner, "1.0.0", notes="Adds **faster** inference")
    comment_add(actor=Actor(user=owner), text="See the *notes*", release=release)
    client = client_for(owner)
    listing = client.get(f"/model/{carded.pk}/releases").content.decode()
    assert "<strong>faster</strong>" in listing and "**faster**" not in listing
    detail = client.get(f"/model/{carded.pk}/release/1.0.0").content.decode()
    assert "<em>notes</em>" in detail and "*notes*" not in detail


def test_markdown_renders_the_same_each_time_and_in_every_thread() -> None:
    """Each thread reuses one converter (core/markdown.py): nothing of one text (heading ids,
    link references) may carry over into the next."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from core.markdown import render_markdown

    texts = ["# Title\n\n## Title\n\n[x][ref]\n\n[ref]: https://example.org", "# Title", "[x][ref]"]

    def first_use(text: str) -> str:
        # A thread of its own: its converter is new.
        out: list[str] = []
        thread = threading.Thread(target=lambda: out.append(render_markdown(text)))
        thread.start()
        thread.join()
        return out[0]

    fresh = [first_use(t) for t in texts]
    assert [render_markdown(t) for t in texts * 2] == fresh * 2
    assert 'id="title"' in fresh[1] and "https://example.org" not in fresh[2]
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(render_markdown, texts * 20)) == fresh * 20
