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

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVectorField
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
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
from models_app.listing_cache import kept_in_generation, live_entry_count, visible_entry_count
from models_app.models import Collaborator, EntryKind, Model, ModelTag, SystemRole, Visibility
from models_app.policy import Actor, VisibleSplit, visible_split, visible_to
from models_app.roles import review_role_names
from models_app.selectors import iso

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


class _AnyOf(Func):
    """``field = ANY(%s)``: one array parameter for a list of keys."""

    template = "%(expressions)s)"
    arg_joiner = " = ANY("
    output_field = BooleanField()


def _one_of(field: str, values: Sequence[str]) -> Q:
    """Rows whose ``field`` is one of ``values``. On PostgreSQL the list travels as one array
    parameter: ``IN (%s, %s, ...)`` had Django prepare and the driver split a statement of a
    hundred parameters for every page (a sixth of the API's Python time at 100 rows)."""
    if not is_postgresql():
        return Q(**{f"{field}__in": values})
    return Q(_AnyOf(F(field), Value(list(values))))


@dataclass(frozen=True)
class SearchPage:
    """One page of results, the number of entries on all pages, and where this page sits."""

    entries: list[Model]
    total: int
    page: int
    page_size: int
    roles: dict[str, list[str]] = field(default_factory=dict)
    # Each entry's tag names, in the order they were given.
    tags: dict[str, list[str]] = field(default_factory=dict)

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


# The columns every match carries out of its index scan; with a ``_column_split`` also those
# that visibility and the plain column filters are decided on (see ``_TextMatches``).
_HIT_COLUMNS = ("id", "updated_at", "name_first", "text_rank")
_FILTER_COLUMNS = {
    "kinds": "kind",
    "organisations": "organisation",
    "states": "state",
    "allow_templating": "allow_templating",
}


def _hit_columns(split: VisibleSplit | None, spec: SearchSpec) -> tuple[str, ...]:
    if split is None:
        return _HIT_COLUMNS
    used = tuple(column for name, column in _FILTER_COLUMNS.items() if getattr(spec, name))
    return (*_HIT_COLUMNS, "deleted_at", "visibility", *used)


def _column_split(actor: Actor, spec: SearchSpec) -> VisibleSplit | None:
    """``visible_split(actor)`` when every filter of ``spec`` is a plain column of the entry (so
    the whole decision can be made on a match's own row), else None."""
    if spec.tags or spec.roles or spec.schema_id:
        return None
    return visible_split(actor)


@dataclass(frozen=True)
class _TextMatches:
    """A text search on PostgreSQL as a ``WITH`` clause: ``hits``, the entries whose name or text
    matches (a subquery behind OFFSET 0), read through the trigram and full-text indexes alone;
    and ``u(pk, updated_at, name_first, text_rank)``, those the caller may see and the filters
    keep (MATERIALIZED: counted and paged from one copy).

    The fence makes the matches be found by their indexes first whatever the planner guesses.
    Without statistics it guessed the kind and deleted_at indexes narrower, read every entry
    through them and computed the full-text document of each (4-10 s at 100,000 entries).

    The common case (a signed-in person without a token, filters on the entry's own columns) is
    decided on the columns each match brings out of its index scan: not deleted, and public or
    among the person's own entries (``visible_split``, the policy's own partition of
    ``visible_to``, tested to add up to it). Each match's heap row is read once. Anything else
    (tokens, tag, role and schema filters) looks each match up by key and applies
    ``visible_to`` and the filters there.

    ``ranked_text`` keeps only the full-text-only matches, each with its ``ts_rank`` (one
    ``to_tsvector`` per match: asked for only when they are few, see ``RANK_LIMIT``).
    """

    sql: str
    params: tuple[Any, ...]

    @classmethod
    def of(cls, actor: Actor, spec: SearchSpec, *, ranked_text: bool = False) -> _TextMatches:
        name_hit = Q(name__icontains=spec.text)
        no_rank = Value(0.0, output_field=FloatField())
        hits: QuerySet[Any]
        if spec.title_only:
            hits = Model.all_objects.filter(name_hit).annotate(
                name_first=Value(1), text_rank=no_rank
            )
        else:
            query = SearchQuery(spec.text, config=FTS_CONFIG, search_type="websearch")
            text_hit = Matches(EntryDocument(), query)
            if ranked_text:
                hits = (
                    Model.all_objects.filter(text_hit)
                    .exclude(name_hit)
                    .annotate(name_first=Value(0), text_rank=SearchRank(EntryDocument(), query))
                )
            else:
                # One scan of the OR of both indexes (a BitmapOr): an entry whose name and text
                # both match is read once, not once per index.
                hits = Model.all_objects.filter(name_hit | Q(text_hit)).annotate(
                    name_first=Case(
                        When(name_hit, then=Value(1)), default=Value(0), output_field=IntegerField()
                    ),
                    text_rank=no_rank,
                )
        split = _column_split(actor, spec)
        hits = hits.order_by().values_list(*_hit_columns(split, spec))
        hits_sql, hits_params = hits.query.sql_with_params()
        # OFFSET 0 fences the matches' own scan: no condition from outside is pushed into it,
        # so it stays on the trigram and full-text indexes whatever the statistics say, and
        # its rows stream into ``u`` without a copy of their own. Its columns are named by
        # Django's aliases (``AS "id"``), not by position.
        hits_from = f"({hits_sql} OFFSET 0) AS hits"
        if split is not None:
            kept_sql, kept_params = cls._kept_by_columns(split, spec)
            body = (
                "WITH u(pk, updated_at, name_first, text_rank) AS MATERIALIZED ("  # noqa: S608
                "SELECT hits.id, hits.updated_at, hits.name_first, hits.text_rank "
                f"FROM {hits_from} WHERE {kept_sql}) "
            )
        else:
            # Each match is looked up by its key and kept if the caller may see it and the
            # filters keep it. OFFSET 0 keeps the subquery a per-match lookup: flattened, it was
            # planned as a hash join against every visible entry (a scan of the table).
            kept = (
                _filtered(actor, spec)
                .filter(pk=RawSQL("hits.id", []))
                .order_by()
                .values_list("pk", "updated_at")
            )
            sql, kept_params = kept.query.sql_with_params()
            kept_params = tuple(kept_params)
            body = (
                "WITH u(pk, updated_at, name_first, text_rank) AS MATERIALIZED ("  # noqa: S608
                f"SELECT k.pk, k.updated_at, hits.name_first, hits.text_rank FROM {hits_from} "
                f"CROSS JOIN LATERAL ({sql} OFFSET 0) AS k(pk, updated_at)) "
            )
        # Django compiled every part; the search text and every filter value are parameters.
        return cls(body, (*hits_params, *kept_params))

    @staticmethod
    def _kept_by_columns(split: VisibleSplit, spec: SearchSpec) -> tuple[str, tuple[Any, ...]]:
        conditions = ["hits.deleted_at IS NULL"]
        params: list[Any] = []
        if not split.everything:
            assert split.own is not None
            own_sql, own_params = split.own.query.sql_with_params()
            conditions.append(f"(hits.visibility = %s OR hits.id IN ({own_sql}))")
            params += [Visibility.PUBLIC, *own_params]
        for column, values in (
            ("kind", spec.kinds),
            ("organisation", spec.organisations),
            ("state", spec.states),
        ):
            if values:
                conditions.append(f"hits.{column} = ANY(%s)")
                params.append(list(values))
        if spec.allow_templating:
            conditions.append("hits.allow_templating")
        return " AND ".join(conditions), tuple(params)

    def page(self, start: int, size: int) -> tuple[list[tuple[str, int]], int, int]:
        """One page of ``(key, name_first)`` in result order (name matches first, then newest
        first), the number of matches and of name matches, in one statement (the counts come
        with every row, and alone on a row when the page is past the end). Counting with an
        aggregate beside a top-N sort keeps no copy of the matches but ``u``; a window
        (``count(*) OVER ()``) buffered all of them again."""
        rows = self._fetch(
            "SELECT t.total, t.names, p.pk, p.name_first FROM ("
            "SELECT count(*) AS total, count(*) FILTER (WHERE u.name_first = 1) AS names "
            "FROM u) AS t LEFT JOIN LATERAL ("
            "SELECT u.pk, u.name_first, u.updated_at FROM u "
            "ORDER BY u.name_first DESC, u.updated_at DESC, u.pk LIMIT %s OFFSET %s"
            ") AS p ON true "
            "ORDER BY p.name_first DESC, p.updated_at DESC, p.pk",
            size,
            start,
        )
        total, names = int(rows[0][0]), int(rows[0][1])
        return [(row[2], row[3]) for row in rows if row[2] is not None], total, names

    def ranked_keys(self, start: int, size: int) -> list[str]:
        """A page of keys by relevance, best first (for ``ranked_text`` matches)."""
        rows = self._fetch(
            "SELECT u.pk FROM u ORDER BY u.text_rank DESC, u.updated_at DESC, u.pk "
            "LIMIT %s OFFSET %s",
            size,
            start,
        )
        return [row[0] for row in rows]

    def _fetch(self, tail: str, *extra: Any) -> list[tuple[Any, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(self.sql + tail, [*self.params, *extra])
            return list(cursor.fetchall())


def _text_page_keys(actor: Actor, spec: SearchSpec, start: int, size: int) -> tuple[list[str], int]:
    """The keys of one page of a text search on PostgreSQL, in result order, and the total.

    Name matches come first, newest first. Full-text-only matches follow: by relevance when
    there are at most ``RANK_LIMIT`` matches in all (ranked in a second statement, only when the
    page reaches them), else newest first.
    """
    matches = _TextMatches.of(actor, spec)
    rows, total, names = matches.page(start, size)
    keys = [key for key, _ in rows]
    # Rank only when there are full-text-only matches, few enough, and this page shows some.
    reaches_text = names < start + size and start < total
    if spec.title_only or total > RANK_LIMIT or names == total or not reaches_text:
        return keys, total
    by_name = [key for key, name_first in rows if name_first]
    ranked = _TextMatches.of(actor, spec, ranked_text=True)
    return by_name + ranked.ranked_keys(max(0, start - names), size - len(by_name)), total


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


def _page_rows(
    actor: Actor,
    spec: SearchSpec,
    start: int,
    size: int,
    shape: Callable[[QuerySet[Model]], QuerySet[Any]],
    key: Callable[[Any], str],
) -> tuple[list[Any], int]:
    """One page of results as ``shape`` reads them (instances or dicts), and the total."""
    if spec.text and is_postgresql():
        keys, total = _text_page_keys(actor, spec, start, size)
        if not keys:
            return [], total
        found = {key(row): row for row in shape(Model.objects.filter(_one_of("pk", keys)))}
        return [found[k] for k in keys if k in found], total
    unranked = model_search_queryset(actor=actor, spec=spec, rank=False)
    total = _total(actor, spec, unranked)
    if start >= total:
        return [], total
    if spec.text:
        return list(shape(unranked)[start : start + size]), total  # SQLite's text search
    # Keys first, then the rows, in one statement: the keys of a later page are read from the
    # covering index ``model_recent_first`` alone (not the rows skipped on the way), and only
    # this page's rows are visited.
    page_keys = unranked.values("pk")[start : start + size]
    return list(shape(Model.objects.filter(pk__in=page_keys).order_by(*NEWEST_FIRST))), total


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

    The page's tags are always read (``SearchPage.tags``); ``with_collaborators`` prefetches
    every collaborator and ``with_my_roles`` reads the caller's roles on the page
    (``SearchPage.roles``, which the marketplace shows). On PostgreSQL tags and roles come with
    the page's rows, as arrays, in the same statement; elsewhere one query each. Either way the
    number of queries does not grow with the page.
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
    with_arrays = is_postgresql()
    my_roles = with_my_roles and actor.user.is_authenticated

    def shape(rows: QuerySet[Model]) -> QuerySet[Model]:
        if not with_arrays:
            return rows
        arrays: dict[str, Any] = {
            "tag_names": ArraySubquery(
                ModelTag.objects.filter(model_id=OuterRef("pk")).order_by("id").values("name")
            )
        }
        if my_roles:
            arrays["my_roles"] = ArraySubquery(
                Collaborator.objects.filter(entity_filter(actor.user), model_id=OuterRef("pk"))
                .exclude(role="")
                .order_by("role")
                .values("role")
                .distinct()
            )
        return rows.annotate(**arrays)

    entries, total = _page_rows(
        actor, spec, (page - 1) * page_size, page_size, shape, attrgetter("pk")
    )
    tags_found: dict[str, list[str]] = {}
    roles_found: dict[str, list[str]] = {}
    if with_arrays:
        for entry in entries:
            tags_found[entry.pk] = list(entry.tag_names)  # type: ignore[attr-defined]
            if my_roles and entry.my_roles:  # type: ignore[attr-defined]
                roles_found[entry.pk] = list(entry.my_roles)  # type: ignore[attr-defined]
    elif entries:
        prefetch_related_objects(
            entries, Prefetch("tag_rows", queryset=ModelTag.objects.order_by("id"))
        )
        tags_found = {e.pk: [t.name for t in e.tag_rows.all()] for e in entries}
        if my_roles:
            roles_found = roles_on_entries(actor.user, [e.pk for e in entries])
    if with_collaborators and entries:
        prefetch_related_objects(
            entries, Prefetch("collaborators", queryset=Collaborator.objects.order_by("id"))
        )
    return SearchPage(
        entries=entries,
        total=total,
        page=page,
        page_size=page_size,
        roles=roles_found,
        tags=tags_found,
    )


@dataclass(frozen=True)
class SummaryPage:
    """One page of Bailo's search summaries (``entry_summaries_json``), and the total."""

    models: list[dict[str, Any]]
    total: int
    page: int
    page_size: int


# The entry's columns a search summary shows.
SUMMARY_FIELDS = (
    "id",
    "name",
    "description",
    "kind",
    "visibility",
    "organisation",
    "state",
    "created_at",
    "updated_at",
    "mirror_source_model_id",
)


def _summary_rows(found: QuerySet[Model]) -> QuerySet[Any]:
    """``found`` read as ``SUMMARY_FIELDS``. On PostgreSQL each row also brings its tags and its
    collaborators' entities and roles as arrays (in id order), so a page is one statement."""
    rows = found.values(*SUMMARY_FIELDS)
    if not is_postgresql():
        return rows
    held = Collaborator.objects.filter(model_id=OuterRef("pk")).order_by("id")
    return rows.annotate(
        tag_names=ArraySubquery(
            ModelTag.objects.filter(model_id=OuterRef("pk")).order_by("id").values("name")
        ),
        held_entities=ArraySubquery(held.values("entity")),
        held_roles=ArraySubquery(held.values("role")),
    )


def model_search_summaries(
    *, actor: Actor, page: Any = 1, page_size: Any = 20, max_page_size: int = 100, **criteria: Any
) -> SummaryPage:
    """``model_search`` for the API: the same entries in the same order, read as plain rows
    (no model instances) and answered as Bailo's summaries, in one statement after the search's
    own on PostgreSQL (three elsewhere). ``criteria`` are ``search_spec``'s."""
    page, page_size = _clean_page(page, page_size, max_page_size)
    spec = search_spec(**criteria)
    models, total = _kept_summaries(actor, spec, (page - 1) * page_size, page_size)
    return SummaryPage(models=models, total=total, page=page, page_size=page_size)


def _summaries(
    actor: Actor, spec: SearchSpec, start: int, size: int
) -> tuple[list[dict[str, Any]], int]:
    rows, total = _page_rows(actor, spec, start, size, _summary_rows, itemgetter("id"))
    return entry_summaries_json(rows), total


def _kept_summaries(
    actor: Actor, spec: SearchSpec, start: int, size: int
) -> tuple[list[dict[str, Any]], int]:
    """``_summaries``, kept in the cache for a text search by a signed-in person without a token
    whose filters are all columns of the entry (on PostgreSQL).

    Finding such a page reads every match, to count them and put the newest first: 20-60 ms for
    a common word at 100,000 entries, then a statement for the page's rows. The answer is kept
    per text and filters, page, and whose view it is (administrators share one, anyone else has
    their own) under ``listing_cache``'s generation: creating, changing, deleting or restoring an
    entry (its tags and collaborators included) or a review role renews it, so the next request
    finds the page again.

    Group membership is not a write of an entry. A kept page may still list a non-public entry
    of a group the person has since left, so its non-public rows are checked again against the
    person's own entries (``visible_split``; one statement, only when there are any); the total
    catches up when the cache expires (``MARKETPLACE_CACHE_SECONDS``), as the marketplace's own
    counts do.
    """
    split = _column_split(actor, spec) if spec.text and is_postgresql() else None
    if split is None:
        return _summaries(actor, spec, start, size)
    scope = "all" if split.everything else f"user:{actor.user.pk}"
    digest = hashlib.sha256(repr((spec, start, size)).encode()).hexdigest()[:40]
    computed: list[bool] = []

    def compute() -> tuple[list[dict[str, Any]], int]:
        computed.append(True)
        return _summaries(actor, spec, start, size)

    models, total = kept_in_generation(f"search:{scope}:{digest}", compute)
    if computed or split.everything:
        return models, total
    others = [m["id"] for m in models if m["visibility"] != Visibility.PUBLIC]
    if others:
        assert split.own is not None
        seen = set(split.own.filter(_one_of("model_id", others)))
        models = [m for m in models if m["visibility"] == Visibility.PUBLIC or m["id"] in seen]
    return models, total


def _attach_tags_and_collaborators(rows: list[dict[str, Any]]) -> None:
    """What ``_summary_rows`` adds on PostgreSQL, in one statement each, for other databases."""
    ids = [row["id"] for row in rows]
    tags: dict[str, list[str]] = defaultdict(list)
    held: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for model_id, name in (
        ModelTag.objects.filter(model_id__in=ids).order_by("id").values_list("model_id", "name")
    ):
        tags[model_id].append(name)
    for model_id, entity, role in (
        Collaborator.objects.filter(model_id__in=ids)
        .order_by("id")
        .values_list("model_id", "entity", "role")
    ):
        held[model_id].append((entity, role))
    for row in rows:
        row["tag_names"] = tags.get(row["id"], [])
        pairs = held.get(row["id"], [])
        row["held_entities"] = [entity for entity, _ in pairs]
        row["held_roles"] = [role for _, role in pairs]


def entry_summaries_json(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Bailo's search summaries of entries read by ``_summary_rows``."""
    if rows and "tag_names" not in rows[0]:
        _attach_tags_and_collaborators(rows)
    summaries = []
    for row in rows:
        grouped: dict[str, list[str]] = {}
        for entity, role in zip(row["held_entities"], row["held_roles"], strict=True):
            roles = grouped.setdefault(entity, [])
            if role:
                roles.append(role)
        body: dict[str, Any] = {
            "id": row["id"],
            "name": row["name"],
            "description": row["description"],
            "tags": row["tag_names"],
            "kind": row["kind"],
            "visibility": row["visibility"],
            "organisation": row["organisation"],
            "state": row["state"],
            "collaborators": [{"entity": e, "roles": roles} for e, roles in grouped.items()],
            "createdAt": iso(row["created_at"]),
            "updatedAt": iso(row["updated_at"]),
        }
        if row["mirror_source_model_id"]:
            body["sourceModelId"] = row["mirror_source_model_id"]
        summaries.append(body)
    return summaries
