"""The marketplace: browse and search the entries you can see (Bailo's home page).

Everything the page shows is in its URL (a GET form), so it works without JavaScript, can be
bookmarked and shared; htmx, when present, swaps only the results as filters change.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import path
from django.utils.html import escape, strip_tags
from django.utils.safestring import SafeString, mark_safe

from core.errors import BadRequest, BailoError
from core.markdown import render_markdown
from models_app.listing_cache import cache_get_many, cache_set_many, public_tags
from models_app.models import EntryKind, Model, SystemRole, Visibility
from models_app.policy import Actor
from models_app.search import MINE, SearchPage, model_search
from models_app.views import marketplace_peers as peers_view

PAGE_SIZE = 20
PAGE_SIZES = (10, 20, 50)
EXCERPT_LENGTH = 200
EXCERPT_CACHE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Tab:
    slug: str
    label: str
    noun: str
    kinds: tuple[str, ...]


TABS = (
    Tab("models", "Models", "models", (EntryKind.MODEL.value, EntryKind.MIRRORED_MODEL.value)),
    Tab("data-cards", "Data cards", "data cards", (EntryKind.DATA_CARD.value,)),
)
TAB_BY_SLUG = {tab.slug: tab for tab in TABS}
KIND_LABELS = dict(EntryKind.choices)
ROLE_FILTERS = (MINE, *SystemRole.values)


def _values(data: QueryDict, name: str) -> list[str]:
    found: list[str] = []
    for value in data.getlist(name):
        value = value.strip()
        if value and value not in found:
            found.append(value)
    return found


@dataclass
class MarketplaceQuery:
    """The page's GET parameters as given; ``checked`` turns them into search arguments."""

    tab: str = "models"
    text: str = ""
    name_only: bool = False
    kinds: list[str] = field(default_factory=list)
    organisations: list[str] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    peers: list[str] = field(default_factory=list)
    page: str = "1"
    per_page: str = str(PAGE_SIZE)

    @classmethod
    def from_get(cls, data: QueryDict) -> MarketplaceQuery:
        return cls(
            tab=data.get("tab", "models").strip() or "models",
            text=data.get("q", "").strip(),
            name_only=data.get("name_only", "") not in {"", "0", "false"},
            kinds=_values(data, "kind"),
            organisations=_values(data, "organisation"),
            states=_values(data, "state"),
            tags=_values(data, "tag"),
            roles=_values(data, "role"),
            peers=_values(data, "peers"),
            page=data.get("page", "1").strip() or "1",
            per_page=data.get("per_page", str(PAGE_SIZE)).strip() or str(PAGE_SIZE),
        )

    @property
    def current_tab(self) -> Tab:
        return TAB_BY_SLUG.get(self.tab, TABS[0])

    @property
    def filtered(self) -> bool:
        return bool(
            self.text or self.kinds or self.organisations or self.states or self.tags or self.roles
        )

    def checked(self) -> dict[str, Any]:
        """Arguments for ``model_search``; raises ``BadRequest`` saying what is wrong."""
        tab = TAB_BY_SLUG.get(self.tab)
        if tab is None:
            raise BadRequest(f"There is no '{self.tab[:30]}' tab: choose Models or Data cards")
        wrong = [k for k in self.kinds if k not in tab.kinds]
        if wrong:
            allowed = ", ".join(KIND_LABELS[k] for k in tab.kinds)
            raise BadRequest(
                f"'{wrong[0][:30]}' is not a kind of entry on the {tab.label} tab "
                f"(choose from: {allowed})"
            )
        wrong = [r for r in self.roles if r not in ROLE_FILTERS]
        if wrong:
            raise BadRequest(
                f"'{wrong[0][:30]}' is not a role filter: choose mine, owner, contributor "
                "or consumer"
            )
        try:
            page = int(self.page)
        except ValueError:
            page = 0
        if page < 1:
            raise BadRequest(f"'{self.page[:20]}' is not a page number: use 1, 2, 3...")
        try:
            per_page = int(self.per_page)
        except ValueError:
            per_page = 0
        if per_page not in PAGE_SIZES:
            raise BadRequest(f"Results per page must be one of {', '.join(map(str, PAGE_SIZES))}")
        return {
            "text": self.text,
            "title_only": self.name_only,
            "kinds": self.kinds or list(tab.kinds),
            "organisations": self.organisations,
            "states": self.states,
            "tags": self.tags,
            "roles": self.roles,
            "page": page,
            "page_size": per_page,
        }

    def params(self, **changes: Any) -> str:
        """This query as a URL query string, with ``changes`` applied (None drops a key)."""
        pairs: dict[str, Any] = {
            "tab": self.current_tab.slug if self.current_tab.slug != "models" else None,
            "q": self.text or None,
            "name_only": "1" if self.name_only else None,
            "kind": self.kinds,
            "organisation": self.organisations,
            "state": self.states,
            "tag": self.tags,
            "role": self.roles,
            "peers": self.peers,
            "per_page": self.per_page if self.per_page != str(PAGE_SIZE) else None,
            "page": self.page if self.page != "1" else None,
        }
        pairs.update(changes)
        kept = [(k, v) for k, v in pairs.items() if v not in (None, "", [])]
        return "?" + urlencode(kept, doseq=True) if kept else "?"


def description_excerpt(text: str, limit: int = EXCERPT_LENGTH) -> str:
    """The start of a markdown description as plain text, cut at a word boundary."""
    # Rendering only the start keeps long descriptions cheap; markup rarely triples the length.
    plain = html.unescape(strip_tags(render_markdown(text[: limit * 4])))
    plain = " ".join(plain.split())
    if len(plain) <= limit:
        return plain
    cut = plain[:limit].rsplit(" ", 1)[0].rstrip(" ,.;:-")
    return cut + "…"


@dataclass(frozen=True)
class ResultRow:
    entry: Model
    url: str
    excerpt: str
    tags: list[str]
    roles: list[str]

    @property
    def html(self) -> SafeString:
        """The row's list item, as the results template wrote it (the same markup, line for
        line). Written out here because the template engine spent more on 20 rows than on the
        rest of the page (2.3 of 4.2 ms); this takes a tenth of that. Every value is escaped."""
        e = self.entry
        roles = "".join(
            '<span class="chip chip-role"><span class="visually-hidden">Your role: </span>'
            f"{escape(role)}</span>"
            for role in self.roles
        )
        tags = "".join(f'<span class="chip">#{escape(tag)}</span>' for tag in self.tags)
        lines = [
            '    <li class="result">',
            "      <article>",
            f'        <h3><a href="{escape(self.url)}">{escape(e.name)}</a></h3>',
            f"        <p>{escape(self.excerpt)}</p>" if self.excerpt else "        ",
            '        <p class="meta">',
            "          " + (MIRRORED_CHIP if e.kind == MIRRORED else ""),
            "          " + (PRIVATE_CHIP if e.visibility == PRIVATE else ""),
            "          " + _chip("Organisation", e.organisation),
            "          " + _chip("State", e.state),
            "          " + roles,
            "        </p>",
            (
                f'        <p class="meta"><span class="visually-hidden">Tags: </span>{tags}</p>'
                if self.tags
                else "        "
            ),
            "      </article>",
            "    </li>",
        ]
        return mark_safe("\n" + "\n".join(lines) + "\n    ")  # noqa: S308 (values escaped)


MIRRORED = EntryKind.MIRRORED_MODEL.value
PRIVATE = Visibility.PRIVATE.value
MIRRORED_CHIP = '<span class="chip">Mirrored model</span>'
PRIVATE_CHIP = '<span class="chip chip-private">Private</span>'


def _chip(label: str, value: str) -> str:
    if not value:
        return ""
    hidden = f'<span class="visually-hidden">{label}: </span>'
    return f'<span class="chip">{hidden}{escape(value)}</span>'


# Excerpts this process has made or read, by the digest of the text they come from. A digest
# always names the same excerpt, so nothing here is ever stale; it is emptied when full.
_KNOWN_EXCERPTS: dict[str, str] = {}
KNOWN_EXCERPTS_LIMIT = 5000


def _excerpts(entries: list[Model]) -> dict[str, str]:
    """Each entry's excerpt by id. Rendering markdown costs 2-3 ms an entry, so excerpts are kept
    under a digest of the text they come from (a changed description has a new key; nothing needs
    clearing): in this process, and in the cache for the others (read in one round trip)."""
    keys = {
        e.pk: "excerpt:" + hashlib.sha256(e.description[: EXCERPT_LENGTH * 4].encode()).hexdigest()
        for e in entries
    }
    # Read once: another thread may empty the dictionary meanwhile.
    wanted = set(keys.values())
    known = {k: text for k in wanted if (text := _KNOWN_EXCERPTS.get(k)) is not None}
    if len(known) < len(wanted):
        found = cache_get_many([key for key in wanted if key not in known])
        made: dict[str, str] = {}
        for entry in entries:
            key = keys[entry.pk]
            if key not in known and key not in found and key not in made:
                made[key] = description_excerpt(entry.description)
        if made:
            cache_set_many(made, EXCERPT_CACHE_SECONDS)
        if len(_KNOWN_EXCERPTS) + len(found) + len(made) > KNOWN_EXCERPTS_LIMIT:
            _KNOWN_EXCERPTS.clear()
        _KNOWN_EXCERPTS.update(found)
        _KNOWN_EXCERPTS.update(made)
        known.update(found)
        known.update(made)
    return {pk: known[key] for pk, key in keys.items()}


def _rows(page: SearchPage) -> list[ResultRow]:
    names = settings.BAILO_UI.get("roleDisplayNames", {})
    excerpts = _excerpts(page.entries)
    return [
        ResultRow(
            entry=entry,
            url=f"/model/{entry.pk}",
            excerpt=excerpts[entry.pk],
            tags=page.tags.get(entry.pk, []),
            roles=[names.get(r, r) for r in page.roles.get(entry.pk, [])],
        )
        for entry in page.entries
    ]


def _options(known: list[str], chosen: list[str]) -> list[dict[str, Any]]:
    """Checkbox options: the known values, then any chosen value the list does not have."""
    values = [*known, *[c for c in chosen if c not in known]]
    return [{"value": v, "checked": v in chosen} for v in values]


def _page_links(query: MarketplaceQuery, page: SearchPage) -> list[dict[str, Any]]:
    """Links to the first, last and nearby pages; None marks a gap."""
    numbers = sorted(
        {1, page.pages, *range(max(1, page.page - 2), min(page.pages, page.page + 2) + 1)}
    )
    links: list[dict[str, Any]] = []
    previous = 0
    for number in numbers:
        if number - previous > 1:
            links.append({"gap": True})
        links.append(
            {
                "number": number,
                "url": query.params(page=str(number) if number > 1 else None),
                "current": number == page.page,
            }
        )
        previous = number
    return links


def _results_context(
    query: MarketplaceQuery, page: SearchPage | None, error: BailoError | None
) -> dict[str, Any]:
    """What the results partial needs: rows, pagination links, or the error to show."""
    context: dict[str, Any] = {
        "query": query,
        "tab": query.current_tab,
        "page": page,
        "rows": [],
        "page_links": [],
        "previous_url": "",
        "next_url": "",
        "past_last_page": False,
        "first_page_url": query.params(page=None),
        "clear_url": query.params(
            q=None, name_only=None, kind=None, organisation=None, state=None, tag=None,
            role=None, peers=None, page=None,
        ),
        "error": error.message if error else "",
        "text_error": bool(error and "search" in error.context),
    }  # fmt: skip
    if page is None:
        return context
    context["rows"] = _rows(page)
    context["past_last_page"] = bool(page.total and not page.entries)
    if page.pages > 1:
        context["page_links"] = _page_links(query, page)
    if page.has_previous:
        context["previous_url"] = query.params(page=str(page.page - 1) if page.page > 2 else None)
    if page.has_next:
        context["next_url"] = query.params(page=str(page.page + 1))
    return context


def _boxes(name: str, options: list[dict[str, Any]], show: str, empty: str = "") -> SafeString:
    """A fieldset's checkboxes, as the template's loop over ``options`` wrote them (the same
    markup, whitespace included; written here because the loops cost more than the rest of the
    filters form). Every value is escaped. ``empty`` stands in for no options."""
    boxes = [
        f'\n      <label><input type="checkbox" name="{name}" value="{escape(o["value"])}"'
        f"{' checked' if o['checked'] else ''}> {escape(o[show])}</label>\n      "
        for o in options
    ]
    if not boxes and empty:
        boxes = [f"\n      {empty}\n      "]
    return mark_safe("".join(boxes))  # noqa: S308 (values escaped)


def _filters_context(actor: Actor, query: MarketplaceQuery) -> dict[str, Any]:
    """Tabs and the filter choices of the form."""
    ui = settings.BAILO_UI["modelDetails"]
    tab = query.current_tab

    def tab_url(other: Tab) -> str:
        return query.params(
            tab=other.slug if other.slug != "models" else None, kind=None, page=None
        )

    kinds = [
        {"value": k, "label": KIND_LABELS[k], "checked": k in query.kinds}
        for k in (tab.kinds if len(tab.kinds) > 1 else ())
    ]
    roles = [
        {
            "value": r,
            "label": "Mine (any role)" if r == MINE else SystemRole(r).label,
            "checked": r in query.roles,
        }
        for r in ROLE_FILTERS
    ]
    return {
        "tabs": [{"tab": t, "url": tab_url(t), "current": t.slug == tab.slug} for t in TABS],
        "kind_boxes": _boxes("kind", kinds, "label"),
        "organisation_boxes": _boxes(
            "organisation", _options(list(ui["organisations"]), query.organisations), "value"
        ),
        "state_boxes": _boxes("state", _options(list(ui["states"]), query.states), "value"),
        # The ten tags most used on public entries: the same for everyone, so cached.
        "tag_boxes": _boxes(
            "tag",
            _options(public_tags(), query.tags),
            "value",
            empty='<small class="muted">No tags yet.</small>',
        ),
        "role_boxes": _boxes("role", roles, "label"),
        "page_sizes": [{"value": str(n), "selected": str(n) == query.per_page} for n in PAGE_SIZES],
        # How many filters are chosen: the phone layout opens its filter disclosure when any are.
        "filters_active": len(query.kinds)
        + len(query.organisations)
        + len(query.states)
        + len(query.tags)
        + len(query.roles)
        + len(query.peers),
    }


@login_required
def marketplace(request: HttpRequest) -> HttpResponse:
    actor = Actor.from_request(request)
    query = MarketplaceQuery.from_get(request.GET)
    results_only = request.headers.get("HX-Request") == "true"
    page: SearchPage | None = None
    error: BailoError | None = None
    # Peers are asked first, so they answer while the local search runs (peers.py).
    statuses = None if results_only else peers_view.statuses_start()
    remote: peers_view.RemoteSearch | None = None
    try:
        checked = query.checked()
        remote = peers_view.search_start(actor, query.peers, checked)
        page = model_search(actor=actor, with_my_roles=True, **checked)
    except BailoError as exc:
        error = exc
    status = error.status if error else 200
    context = _results_context(query, page, error)
    context.update(peers_view.results_context(remote if page is not None else None))
    if results_only:
        # htmx asks for the results only; the form and its filters stay as the user left them.
        return render(request, "models_app/_marketplace_results.html", context, status=status)
    context.update(_filters_context(actor, query))
    context.update(peers_view.filters_context(statuses, query.peers))
    return render(request, "models_app/marketplace.html", context, status=status)


urlpatterns = [path("", marketplace, name="home")]
