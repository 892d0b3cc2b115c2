"""Marketplace search: which entries a person finds for a text and a set of filters.

Bailo matches the text against the entry name first (a partial, case-insensitive match) and then,
unless the caller asked for names only, against the full text of name and description. Name
matches come first, newest first; full-text-only matches follow, best first.

On PostgreSQL the full-text part uses ``to_tsvector('english', ...)`` over name and description,
backed by a GIN expression index, and the name match a trigram index (migration 0003). The planner
only uses the expression index when the query repeats the indexed expression exactly; the
migration and ``EntryDocument`` both spell ``FTS_DOCUMENT_SQL`` and a test compares them.
On SQLite, the embedded default, the full-text part falls back to a plain substring match.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVectorField
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    F,
    FloatField,
    Func,
    IntegerField,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
    prefetch_related_objects,
)
from django.db.models.expressions import RawSQL

from core.entities import entity_filter
from core.errors import BadRequest
from models_app.listing_cache import live_entry_count, visible_entry_count
from models_app.models import Collaborator, EntryKind, Model, ModelTag, SystemRole, Visibility
from models_app.policy import Actor, visible_split, visible_to
from models_app.roles import review_role_names
from models_app.selectors import collaborators_of, iso, tags_of

FTS_CONFIG = "english"
# The indexed expression, with ``{name}`` and ``{description}`` standing for the two columns. The
# migration writes bare column names; queries write qualified ones. PostgreSQL compares parsed
# expressions, so qualification and spacing do not matter, but functions, constants and their
# order do: change any of them here and a new migration must rebuild the index.
FTS_DOCUMENT_SQL = (
    "to_tsvector('english', coalesce({name}, '') || ' ' || coalesce({description}, ''))"
)
FTS_INDEX_NAME = "models_app_model_fts"

MIN_SEARCH_LENGTH = 3
MAX_SEARCH_LENGTH = 200
MAX_FILTER_VALUES = 50
MINE = "mine"


class EntryDocument(Func):
    """The full-text document of an entry, written exactly like the index expression."""

    # Func joins its two column arguments with ``arg_joiner``, so this renders FTS_DOCUMENT_SQL
    # with the columns as the query names them (a test checks the two stay identical).
    template = "to_tsvector('english', coalesce(%(expressions)s, ''))"
    arg_joiner = ", '') || ' ' || coalesce("
    output_field = SearchVectorField()

    def __init__(self) -> None:
        super().__init__(F("name"), F("description"))


class Matches(Func):
    """``document @@ query``, usable directly in ``filter()``."""

    template = "%(expressions)s"
    arg_joiner = " @@ "
    output_field = BooleanField()


@dataclass(frozen=True)
class SearchPage:
    """One page of results, the number of entries on all pages, and where this page sits."""

    entries: list[Model]
    total: int
    page: int
    page_size: int
    roles: dict[str, list[str]] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_index(self) -> int:
        """1-based position of the first entry on this page (0 when the page is empty)."""
        return (self.page - 1) * self.page_size + 1 if self.entries else 0

    @property
    def last_index(self) -> int:
        return (self.page - 1) * self.page_size + len(self.entries)


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _reject_nul(value: str, label: str) -> None:
    # PostgreSQL refuses NUL in any text parameter; say so here rather than fail in the driver.
    if "\x00" in value:
        raise BadRequest(f"{label} must not contain NUL characters")


def _clean_text(text: Any) -> str:
    if text is None:
        return ""
    if not isinstance(text, str):
        raise BadRequest("search must be text")
    _reject_nul(text, "Search text")
    text = " ".join(text.split())
    if 0 < len(text) < MIN_SEARCH_LENGTH:
        raise BadRequest(
            f"Search text is too short: type at least {MIN_SEARCH_LENGTH} characters",
            {"search": text},
        )
    if len(text) > MAX_SEARCH_LENGTH:
        raise BadRequest(f"Search text is too long: at most {MAX_SEARCH_LENGTH} characters")
    return text


def _clean_values(values: Iterable[Any] | None, label: str) -> list[str]:
    cleaned: list[str] = []
    for value in values or ():
        if not isinstance(value, str):
            raise BadRequest(f"{label} must be a list of text values")
        _reject_nul(value, label)
        value = value.strip()
        if value and value not in cleaned:
            cleaned.append(value)
    if len(cleaned) > MAX_FILTER_VALUES:
        raise BadRequest(f"At most {MAX_FILTER_VALUES} {label} may be given at once")
    return cleaned


def _clean_kinds(kinds: Iterable[Any] | None) -> list[str]:
    cleaned = _clean_values(kinds, "kinds")
    unknown = [k for k in cleaned if k not in EntryKind.values]
    if unknown:
        raise BadRequest(
            f"Unknown kind '{unknown[0][:50]}': use one of {', '.join(EntryKind.values)}",
            {"kind": unknown[0][:50]},
        )
    return cleaned


def _clean_roles(roles: Iterable[Any] | None) -> list[str]:
    cleaned = _clean_values(roles, "role filters")
    if not cleaned:
        return cleaned
    known = set(SystemRole.values) | {MINE}
    unknown = [r for r in cleaned if r not in known]
    if unknown:
        # Only now ask the database: the common filters are the system roles and "mine".
        known |= review_role_names()
        unknown = [r for r in cleaned if r not in known]
    if unknown:
        raise BadRequest(
            f"Unknown role filter '{unknown[0][:50]}': use mine or a role name such as owner",
            {"filters": unknown[0][:50]},
        )
    return cleaned


def _clean_page(page: Any, page_size: Any, max_page_size: int) -> tuple[int, int]:
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise BadRequest("page must be a whole number of 1 or more", {"page": str(page)})
    if (
        isinstance(page_size, bool)
        or not isinstance(page_size, int)
        or not 1 <= page_size <= max_page_size
    ):
        raise BadRequest(
            f"pageSize must be a whole number from 1 to {max_page_size}",
            {"pageSize": str(page_size)},
        )
    return page, page_size


@dataclass(frozen=True)
class SearchSpec:
    """Cleaned search input: what ``model_search`` looks for, checked once."""

    text: str = ""
    title_only: bool = False
    kinds: tuple[str, ...] = ()
    organisations: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    schema_id: str = ""
    allow_templating: bool = False


def search_spec(
    *,
    text: Any = "",
    title_only: bool = False,
    kinds: Iterable[Any] | None = None,
    organisations: Iterable[Any] | None = None,
    states: Iterable[Any] | None = None,
    tags: Iterable[Any] | None = None,
    roles: Iterable[Any] | None = None,
    schema_id: Any = None,
    allow_templating: bool | None = None,
) -> SearchSpec:
    """Check and normalise search input; bad values raise ``BadRequest`` naming the problem."""
    if schema_id is not None and not isinstance(schema_id, str):
        raise BadRequest("schemaId must be text")
    if schema_id:
        _reject_nul(schema_id, "schemaId")
    return SearchSpec(
        text=_clean_text(text),
        title_only=bool(title_only),
        kinds=tuple(_clean_kinds(kinds)),
        organisations=tuple(_clean_values(organisations, "organisations")),
        states=tuple(_clean_values(states, "states")),
        tags=tuple(t.lower() for t in _clean_values(tags, "tags")),
        roles=tuple(_clean_roles(roles)),
        schema_id=(schema_id or "").strip(),
        allow_templating=bool(allow_templating),
    )


def _filtered(actor: Actor, spec: SearchSpec) -> QuerySet[Model]:
    """Visible entries narrowed by every filter except the text."""
    user = actor.user
    qs = visible_to(actor)
    if spec.kinds:
        qs = qs.filter(kind__in=spec.kinds)
    if spec.organisations:
        qs = qs.filter(organisation__in=spec.organisations)
    if spec.states:
        qs = qs.filter(state__in=spec.states)
    for tag in spec.tags:
        qs = qs.filter(id__in=ModelTag.objects.filter(name=tag).values("model_id"))
    if spec.roles:
        wanted = None if MINE in spec.roles else list(spec.roles)
        qs = qs.with_role(user, wanted)  # type: ignore[attr-defined]
    if spec.schema_id:
        qs = qs.filter(card__schema_id=spec.schema_id)
    if spec.allow_templating:
        qs = qs.filter(allow_templating=True)
    return qs


NEWEST_FIRST = ("-updated_at", "id")


def _with_text(qs: QuerySet[Model], spec: SearchSpec, *, rank: bool) -> QuerySet[Model]:
    """Entries of ``qs`` matching the text: name matches first (newest first), then full-text
    matches (best first when ``rank``, else newest first)."""
    name_hit = Q(name__icontains=spec.text)
    if spec.title_only:
        return qs.filter(name_hit).order_by(*NEWEST_FIRST)
    if not is_postgresql():
        return (
            qs.filter(name_hit | Q(description__icontains=spec.text))
            .alias(
                name_first=Case(
                    When(name_hit, then=Value(1)), default=Value(0), output_field=IntegerField()
                )
            )
            .order_by("-name_first", *NEWEST_FIRST)
        )
    query = SearchQuery(spec.text, config=FTS_CONFIG, search_type="websearch")
    # Two arms joined by UNION ALL, each able to use its own index: a single
    # ``name LIKE ... OR document @@ query`` would make PostgreSQL compute the document of every
    # row. The second arm leaves out name matches, so no entry appears twice.
    by_name = (
        qs.filter(name_hit)
        .annotate(name_first=Value(1), text_rank=Value(0.0, output_field=FloatField()))
        .order_by()
    )
    # ts_rank recomputes each matching document (the index stores none), so ranking is only
    # asked for when the matches are few enough; see RANK_LIMIT.
    text_rank: Any = (
        SearchRank(EntryDocument(), query) if rank else Value(0.0, output_field=FloatField())
    )
    by_text = (
        qs.filter(Matches(EntryDocument(), query))
        .exclude(name_hit)
        .annotate(name_first=Value(0), text_rank=text_rank)
        .order_by()
    )
    return by_name.union(by_text, all=True).order_by("-name_first", "-text_rank", *NEWEST_FIRST)


# Above this many matches, full-text matches are listed newest first instead of by relevance:
# ranking costs one to_tsvector per match, about 0.15 ms each on a laptop-class machine.
RANK_LIMIT = 2000


def model_search_queryset(*, actor: Actor, spec: SearchSpec, rank: bool = True) -> QuerySet[Model]:
    """Every entry the actor may see that matches ``spec``, in result order (not paginated).

    With text on PostgreSQL this is a UNION: count it, slice it, order it, but do not filter it.
    """
    qs = _filtered(actor, spec)
    if spec.text:
        return _with_text(qs, spec, rank=rank)
    return qs.order_by(*NEWEST_FIRST)


def roles_on_entries(user: Any, model_ids: Sequence[str]) -> dict[str, list[str]]:
    """The roles ``user`` holds on each of ``model_ids``, directly or through a group: one query."""
    if not model_ids or not user.is_authenticated:
        return {}
    rows = (
        Collaborator.objects.filter(entity_filter(user), model_id__in=model_ids)
        .exclude(role="")
        .order_by("role")
        .values_list("model_id", "role")
    )
    found: dict[str, list[str]] = defaultdict(list)
    for model_id, role in rows:
        if role not in found[model_id]:
            found[model_id].append(role)
    return dict(found)


@dataclass(frozen=True)
class _TextMatches:
    """A text search on PostgreSQL as ``WITH`` clauses: ``hits(id, name_first)``, the entries whose
    name or text matches (name matches first), read through the trigram and full-text indexes
    alone; and ``u(pk, updated_at, name_first)``, those the caller may see and the filters keep.

    Both are MATERIALIZED: the matches are found by their indexes first whatever the planner
    guesses. Without statistics it guessed the kind and deleted_at indexes narrower, read every
    entry through them and computed the full-text document of each (4-10 s at 100,000 entries).
    """

    sql: str
    params: tuple[Any, ...]

    @classmethod
    def of(cls, actor: Actor, spec: SearchSpec) -> _TextMatches:
        name_hit = Q(name__icontains=spec.text)
        hits: QuerySet[Any] = (
            Model.all_objects.filter(name_hit)
            .order_by()
            .annotate(name_first=Value(1))
            .values_list("id", "name_first")
        )
        if not spec.title_only:
            query = SearchQuery(spec.text, config=FTS_CONFIG, search_type="websearch")
            by_text = (
                Model.all_objects.filter(Matches(EntryDocument(), query))
                .exclude(name_hit)
                .order_by()
                .annotate(name_first=Value(0))
                .values_list("id", "name_first")
            )
            hits = hits.union(by_text, all=True)
        hits_sql, hits_params = hits.query.sql_with_params()
        # Each match is then looked up by its key (LATERAL: one primary-key lookup per match)
        # and kept if the caller may see it and the filters keep it. A semi-join here was planned
        # as a scan of every entry, with statistics or without.
        kept = (
            _filtered(actor, spec)
            .filter(pk=RawSQL("hits.id", []))
            .order_by()
            .values_list("pk", "updated_at")
        )
        kept_sql, kept_params = kept.query.sql_with_params()
        # Django compiled both parts; the search text and every filter value are parameters.
        return cls(
            f"WITH hits(id, name_first) AS MATERIALIZED ({hits_sql}), "  # noqa: S608
            "u(pk, updated_at, name_first) AS MATERIALIZED ("
            "SELECT k.pk, k.updated_at, hits.name_first FROM hits "
            f"CROSS JOIN LATERAL ({kept_sql}) AS k(pk, updated_at)) ",
            (*hits_params, *kept_params),
        )

    def page_and_total(self, start: int, size: int) -> tuple[list[str], int]:
        """One page of keys in result order (name matches first, then newest first) and the
        number of matches, in one pass: ``count(*) OVER ()`` counts while the page is picked."""
        rows = self._fetch(
            "SELECT u.pk, count(*) OVER () FROM u "
            "ORDER BY u.name_first DESC, u.updated_at DESC, u.pk LIMIT %s OFFSET %s",
            size,
            start,
        )
        return [row[0] for row in rows], (int(rows[0][1]) if rows else 0)

    def total(self) -> int:
        return int(self._fetch("SELECT count(*) FROM u")[0][0])

    def keys(self) -> RawSQL:
        """Every match's key, as a subquery."""
        # The SQL is Django's own compilation; the search text is only ever a parameter.
        return RawSQL(self.sql + "SELECT u.pk FROM u", self.params)  # noqa: S608, S611

    def _fetch(self, tail: str, *extra: Any) -> list[tuple[Any, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(self.sql + tail, [*self.params, *extra])
            return list(cursor.fetchall())


def _ranked_page(matches: _TextMatches, spec: SearchSpec, start: int, size: int) -> list[Model]:
    """A page of at most ``RANK_LIMIT`` matches by relevance: name matches first, then the best
    full-text matches; ranks are computed for the matches only."""
    query = SearchQuery(spec.text, config=FTS_CONFIG, search_type="websearch")
    rows = (
        Model.objects.filter(pk__in=matches.keys())
        .alias(
            name_first=Case(
                When(name__icontains=spec.text, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            ),
            text_rank=SearchRank(EntryDocument(), query),
        )
        .order_by("-name_first", "-text_rank", *NEWEST_FIRST)
    )
    return list(rows[start : start + size])


# Up to this many entries with a role, the caller's own non-public entries are counted by id.
OWN_IDS_LIMIT = 5000


def _total(actor: Actor, spec: SearchSpec, unranked: QuerySet[Model]) -> int:
    """How many entries ``unranked`` holds.

    Unfiltered lists (the marketplace's tabs, a search without text) count the public part from
    the cache (``listing_cache``: the same for everyone, and most of a large catalogue) and the
    caller's own non-public entries by their ids: two index lookups instead of a count over every
    visible entry. Anything else is counted as it stands.
    """
    narrowed = (
        spec.text
        or spec.organisations
        or spec.states
        or spec.tags
        or spec.roles
        or spec.schema_id
        or spec.allow_templating
    )
    split = None if narrowed else visible_split(actor)
    if split is None:
        return unranked.count()
    kinds = spec.kinds or tuple(EntryKind.values)
    if split.everything:
        return live_entry_count(kinds, public_only=False)
    own_rows = split.own
    assert own_rows is not None

    def count_own() -> int:
        own_ids = list(own_rows[: OWN_IDS_LIMIT + 1])
        if not own_ids:
            return 0
        own = Model.objects.filter(kind__in=kinds).exclude(visibility=Visibility.PUBLIC)
        if len(own_ids) > OWN_IDS_LIMIT:
            return own.filter(pk__in=own_rows).count()
        return own.filter(pk__in=own_ids).count()

    # The caller's own count is kept per person and generation (listing_cache): entry writes
    # renew the generation, so a count never outlives the write that changes it.
    return visible_entry_count(kinds, user_id=actor.user.pk, count_own=count_own)


def model_search(
    *,
    actor: Actor,
    text: Any = "",
    title_only: bool = False,
    kinds: Iterable[Any] | None = None,
    organisations: Iterable[Any] | None = None,
    states: Iterable[Any] | None = None,
    tags: Iterable[Any] | None = None,
    roles: Iterable[Any] | None = None,
    schema_id: Any = None,
    allow_templating: bool | None = None,
    page: Any = 1,
    page_size: Any = 20,
    max_page_size: int = 100,
    with_collaborators: bool = False,
    with_my_roles: bool = False,
) -> SearchPage:
    """One page of the entries ``actor`` finds, with the total over all pages.

    Tags are always prefetched; ``with_collaborators`` prefetches every collaborator (the API
    summary lists them) and ``with_my_roles`` looks up the caller's roles on the page (the
    marketplace shows them). Either way the number of queries does not grow with the page.
    """
    page, page_size = _clean_page(page, page_size, max_page_size)
    spec = search_spec(
        text=text,
        title_only=title_only,
        kinds=kinds,
        organisations=organisations,
        states=states,
        tags=tags,
        roles=roles,
        schema_id=schema_id,
        allow_templating=allow_templating,
    )
    unranked = model_search_queryset(actor=actor, spec=spec, rank=False)
    start = (page - 1) * page_size
    entries: list[Model] = []
    if spec.text and is_postgresql():
        matches = _TextMatches.of(actor, spec)
        ids, total = matches.page_and_total(start, page_size)
        if not ids and start > 0:
            total = matches.total()  # past the last page: the window had no row to count on
        if start < total and total <= RANK_LIMIT and not spec.title_only:
            entries = _ranked_page(matches, spec, start, page_size)
        elif ids:
            found = Model.objects.in_bulk(ids)
            entries = [found[pk] for pk in ids if pk in found]
    else:
        total = _total(actor, spec, unranked)
        if start < total and spec.text:
            entries = list(unranked[start : start + page_size])  # SQLite's text search
        elif start < total:
            # Keys first, then the rows, in one statement: the keys of a later page are read
            # from the covering index ``model_recent_first`` alone (not the rows skipped on the
            # way), and only this page's rows are visited.
            keys = unranked.values("pk")[start : start + page_size]
            entries = list(Model.objects.filter(pk__in=keys).order_by(*NEWEST_FIRST))
    if entries:
        lookups: list[Any] = [Prefetch("tag_rows", queryset=ModelTag.objects.order_by("id"))]
        if with_collaborators:
            lookups.append(Prefetch("collaborators", queryset=Collaborator.objects.order_by("id")))
        prefetch_related_objects(entries, *lookups)
    roles_found: dict[str, list[str]] = {}
    if with_my_roles and entries:
        roles_found = roles_on_entries(actor.user, [e.pk for e in entries])
    return SearchPage(
        entries=entries, total=total, page=page, page_size=page_size, roles=roles_found
    )


def entry_summary_json(model: Model) -> dict[str, Any]:
    """Bailo's search summary of an entry. Needs ``tag_rows`` and ``collaborators`` prefetched."""
    body: dict[str, Any] = {
        "id": model.id,
        "name": model.name,
        "description": model.description,
        "tags": tags_of(model),
        "kind": model.kind,
        "visibility": model.visibility,
        "organisation": model.organisation,
        "state": model.state,
        "collaborators": collaborators_of(model),
        "createdAt": iso(model.created_at),
        "updatedAt": iso(model.updated_at),
    }
    if model.mirror_source_model_id:
        body["sourceModelId"] = model.mirror_source_model_id
    return body
