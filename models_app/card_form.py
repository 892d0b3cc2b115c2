"""The card form: a JSON Schema (with Bailo's extensions) as a server-rendered form, and back.

``build_card_form`` turns a schema, the answers and any validation errors into a tree of pages,
sections and fields that the templates render: one page per top-level property, one fieldset per
nested object, one input per question. ``parse_card_post`` reads a submitted form back into card
metadata with the schema's JSON types. Validation itself stays in ``schema_validation`` (called by
``services.card_update``); this module only shapes data, so the UI and the API agree on what a
valid card is.

Bailo's extensions handled here: ``widget`` (``richTextInput``, ``dropdownInput``,
``checkboxInput``, ``dateSelector``, ``tagSelector``, ``entitySelector``, ``multiSelector``,
``dataCardSelector``, ``nothing``; unknown widgets fall back to the plain input for the type),
``requiredByModelStates`` and ``displayModelCard``.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.utils.html import escape, linebreaks
from django.utils.safestring import SafeString, mark_safe

from core.markdown import render_markdown
from core.people import Person, people_named, person_html

# Field kinds: the input a question is rendered as.
TEXT = "text"
TEXTAREA = "textarea"
SELECT = "select"
MULTISELECT = "multiselect"
CHECKBOX = "checkbox"
NUMBER = "number"
DATE = "date"
LIST = "list"  # comma-separated values of an array of strings or numbers
JSON = "json"  # anything without a natural input (arrays of objects, free-form objects)
# Widgets whose answers are users and groups (``user:alice``): shown by name, typed with the picker.
ENTITY_WIDGETS = frozenset({"entitySelector", "entitySelectorBeta"})

FIELD_PREFIX = "card."


class PostData(Protocol):
    """What ``parse_card_post`` needs from ``request.POST`` (a Django ``QueryDict``)."""

    def get(self, key: str, default: Any = ...) -> Any: ...

    def getlist(self, key: str) -> list[Any]: ...

    def __contains__(self, key: object) -> bool: ...


@dataclass
class Choice:
    value: str
    label: str
    selected: bool


@dataclass
class CardField:
    """One question: where it lives in the metadata, how it is asked and what is answered."""

    path: str
    name: str
    html_id: str
    label: str
    help: str
    kind: str
    schema: dict[str, Any]
    value: Any = None
    text: str = ""
    choices: list[Choice] = field(default_factory=list)
    required: bool = False
    required_states: list[str] = field(default_factory=list)
    required_now: bool = False
    state: str = ""
    readonly: bool = False
    errors: list[str] = field(default_factory=list)
    minimum: Any = None
    maximum: Any = None
    step: str = ""
    # Display names of the people entity questions answer, shared by the form's fields and
    # loaded (one query for the whole form) only when an answer is shown.
    people: PeopleOfForm | None = None
    # On a mirrored entry's card: the source's answer and the local one to the same question.
    mirror: MirrorPair | None = None

    is_section = False

    @property
    def names_people(self) -> bool:
        """A question whose answers are users and groups (Bailo's ``entitySelector`` widget)."""
        return self.kind in {LIST, TEXT} and self.schema.get("widget") in ENTITY_WIDGETS

    @property
    def answered(self) -> bool:
        return not is_empty(self.value)

    @property
    def error_id(self) -> str:
        return f"{self.html_id}-error"

    @property
    def help_id(self) -> str:
        return f"{self.html_id}-help"

    @property
    def describedby(self) -> str:
        ids = [self.help_id] if self.hint else []
        if self.errors:
            ids.append(self.error_id)
        return " ".join(ids)

    @property
    def state_note(self) -> str:
        """E.g. "Required in Review, Production" (empty when no state makes it required)."""
        if not self.required_states:
            return ""
        return "Required in " + ", ".join(self.required_states) + "."

    @property
    def required_marker(self) -> str:
        """ "required", or "required in <state>" when only the entry's current state needs it."""
        if self.required:
            return "required"
        if self.required_now:
            return f"required in {self.state}"
        return ""

    @property
    def hint(self) -> str:
        """Help under the input: the schema's description, how to type it, which states need it."""
        parts = [self.help.strip()] if self.help.strip() else []
        if self.kind == LIST:
            example = (
                "user:alice, group:data-team"
                if self.schema.get("widget") in ENTITY_WIDGETS
                else "first, second"
            )
            parts.append(f"Separate values with commas, e.g. {example}.")
        elif self.kind == JSON:
            parts.append("Write the answer as JSON.")
        elif self.kind == TEXTAREA:
            parts.append("Markdown is supported.")
        if self.state_note:
            parts.append(self.state_note)
        return " ".join(parts)

    @property
    def display_text(self) -> str:
        return answer_text(self.value)

    @property
    def display_html(self) -> SafeString:
        """The answer as read-only HTML: markdown rendered (sanitised), anything else escaped."""
        if not self.answered:
            return mark_safe('<span class="muted">Not answered</span>')
        if self.kind == TEXTAREA and isinstance(self.value, str):
            return mark_safe(render_markdown(self.value))  # noqa: S308 - sanitised by nh3
        if self.names_people:
            codes = self.value if isinstance(self.value, list) else [self.value]
            named = self.people.get() if self.people is not None else {}
            people = "".join(
                f"<li>{person_html(named.get(c) or Person(str(c), '', answer_text(c)))}</li>"
                for c in codes
            )
            return mark_safe(f'<ul class="people-list">{people}</ul>')  # noqa: S308 - escaped
        if isinstance(self.value, list) and self.kind in {LIST, MULTISELECT}:
            chips = "".join(f'<li class="chip">{escape(answer_text(v))}</li>' for v in self.value)
            return mark_safe(f'<ul class="card-chips">{chips}</ul>')  # noqa: S308
        if self.kind == JSON:
            return mark_safe(f"<pre>{escape(self.display_text)}</pre>")  # noqa: S308
        return mark_safe(linebreaks(self.display_text, autoescape=True))  # noqa: S308


@dataclass
class MirrorPair:
    """One question of a mirrored entry's card: the answer imported from the source (read-only)
    and the additional information added here, each under its configured heading. Either side
    is None when that card has no such question (their schemas differ until a migration)."""

    original: CardField | None
    additional: CardField | None
    original_heading: str
    additional_heading: str


@dataclass
class CardSection:
    """A nested object of the schema: a fieldset of questions and sub-sections, in schema order."""

    path: str
    key: str
    title: str
    description: str
    depth: int
    items: list[CardField | CardSection] = field(default_factory=list)

    is_section = True

    def fields(self) -> Iterator[CardField]:
        for item in self.items:
            if isinstance(item, CardSection):
                yield from item.fields()
            else:
                yield item

    @property
    def total(self) -> int:
        return sum(1 for _ in self.fields())

    @property
    def answered(self) -> int:
        return sum(1 for f in self.fields() if f.answered)

    @property
    def has_errors(self) -> bool:
        return any(f.errors for f in self.fields())

    @property
    def heading_level(self) -> int:
        """h2 for pages, h3 for their sections, and so on (capped at h6)."""
        return min(2 + self.depth, 6)


@dataclass
class CardPage(CardSection):
    """A top-level property: one tab of the form, one block of the card view."""

    anchor: str = ""
    show_in_view: bool = True

    @property
    def completion(self) -> str:
        return f"{self.answered} of {self.total} answered"


@dataclass
class CardForm:
    pages: list[CardPage]
    # Errors that belong to no rendered question (e.g. about the whole card), as messages.
    general_errors: list[str] = field(default_factory=list)

    def fields(self) -> Iterator[CardField]:
        for page in self.pages:
            yield from page.fields()

    @property
    def has_errors(self) -> bool:
        return bool(self.general_errors) or any(f.errors for f in self.fields())

    @property
    def error_summary(self) -> list[tuple[CardField | None, str]]:
        summary: list[tuple[CardField | None, str]] = [(None, m) for m in self.general_errors]
        for f in self.fields():
            summary.extend((f, m) for m in f.errors)
        return summary

    @property
    def view_pages(self) -> list[CardPage]:
        return [p for p in self.pages if p.show_in_view]


# --- reading the schema -----------------------------------------------------------------------


def is_empty(value: Any) -> bool:
    """Unanswered: absent, empty text, empty list or empty object (``False`` and ``0`` answer)."""
    if isinstance(value, str):
        return not value.strip()
    return value is None or value == [] or value == {}


def _type_of(prop: Mapping[str, Any]) -> str:
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind is None and "enum" in prop:
        return "string"
    return kind if isinstance(kind, str) else "string"


def _is_section(prop: Mapping[str, Any]) -> bool:
    return _type_of(prop) == "object" and isinstance(prop.get("properties"), dict)


def _rendered(prop: Mapping[str, Any]) -> bool:
    return prop.get("widget") != "nothing"


def _properties(node: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    props = node.get("properties")
    if not isinstance(props, dict):
        return []
    return [(k, v) for k, v in props.items() if isinstance(v, dict)]


def field_kind(prop: Mapping[str, Any]) -> str:
    """The input for a question, from its widget and type; unknown widgets use the type's input."""
    widget = prop.get("widget")
    kind = _type_of(prop)
    if kind == "array":
        items = prop.get("items")
        if not isinstance(items, dict):
            items = {}
        if isinstance(items.get("enum"), list):
            return MULTISELECT
        if _type_of(items) in {"string", "number", "integer"} and not _is_section(items):
            return LIST
        return JSON
    if kind == "object":
        return JSON
    if isinstance(prop.get("enum"), list) and prop["enum"]:
        return SELECT
    if kind == "boolean":
        return CHECKBOX
    if kind in {"number", "integer"}:
        return NUMBER
    if widget == "dateSelector" or prop.get("format") == "date":
        return DATE
    if widget == "richTextInput":
        return TEXTAREA
    return TEXT


def _humanise(key: str) -> str:
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key).replace("_", " ").strip()
    return words[:1].upper() + words[1:].lower() if words else key


def _html_id(path: str, taken: set[str]) -> str:
    base = "q-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", path.replace(".", "--")).strip("-") or "field")
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    taken.add(candidate)
    return candidate


def _lookup(metadata: Any, path: list[str]) -> Any:
    node = metadata
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def answer_text(value: Any) -> str:
    """An answer as plain text, the same way in the form, the card view and the comparison."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, list) and all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in value
    ):
        return ", ".join(answer_text(v) for v in value)
    return json.dumps(value, indent=2, sort_keys=True)


def _input_text(kind: str, value: Any) -> str:
    if value is None:
        return ""
    if kind == JSON:
        return value if isinstance(value, str) else json.dumps(value, indent=2)
    if kind == LIST and isinstance(value, list):
        return ", ".join(answer_text(v) for v in value)
    if kind == CHECKBOX:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return json.dumps(value)
    return value if isinstance(value, str) else json.dumps(value)


def _choices(options: list[Any], value: Any) -> list[Choice]:
    chosen = value if isinstance(value, list) else [value]
    return [
        Choice(value=_option_key(o), label=answer_text(o), selected=o in chosen) for o in options
    ]


def _option_key(option: Any) -> str:
    return option if isinstance(option, str) else json.dumps(option)


def _number_step(prop: Mapping[str, Any]) -> str:
    if _type_of(prop) == "integer":
        return "1"
    multiple = prop.get("multipleOf")
    return str(multiple) if isinstance(multiple, int | float) else "any"


def _index_errors(
    errors: list[dict[str, Any]] | None, paths: set[str]
) -> tuple[dict[str, list[str]], list[str]]:
    """Attach each ``{property, message}`` to the question at (or above) its dot path."""
    by_path: dict[str, list[str]] = {}
    general: list[str] = []
    for problem in errors or []:
        prop = str(problem.get("property") or "")
        message = str(problem.get("message") or "is not valid")
        parts = prop.split(".") if prop else []
        target = None
        for end in range(len(parts), 0, -1):
            candidate = ".".join(parts[:end])
            if candidate in paths:
                target = candidate
                break
        if target is None:
            general.append(f"{prop}: {message}" if prop else message)
        else:
            by_path.setdefault(target, []).append(message)
    return by_path, general


def _leaf_paths(json_schema: Mapping[str, Any]) -> set[str]:
    found: set[str] = set()

    def walk(node: Mapping[str, Any], prefix: list[str]) -> None:
        for key, prop in _properties(node):
            if not _rendered(prop):
                continue
            if _is_section(prop):
                walk(prop, [*prefix, key])
            else:
                found.add(".".join([*prefix, key]))

    walk(json_schema, [])
    return found


def build_card_form(
    json_schema: Mapping[str, Any],
    metadata: Any,
    *,
    state: str = "",
    errors: list[dict[str, Any]] | None = None,
) -> CardForm:
    """The form (or read-only view) of ``metadata`` under ``json_schema``.

    ``errors`` are ``context.validationErrors`` from a refused save: each goes beside the question
    its dot path names (or the nearest enclosing question), the rest to ``general_errors``.
    """
    by_path, general = _index_errors(errors, _leaf_paths(json_schema))
    taken: set[str] = set()

    def make_field(key: str, prop: dict[str, Any], prefix: list[str], required: bool) -> CardField:
        path = ".".join([*prefix, key])
        kind = field_kind(prop)
        value = _lookup(metadata, [*prefix, key])
        states = [s for s in prop.get("requiredByModelStates") or [] if isinstance(s, str)]
        options: list[Any] = []
        if kind == SELECT:
            options = list(prop.get("enum") or [])
        elif kind == MULTISELECT:
            options = list((prop.get("items") or {}).get("enum") or [])
        return CardField(
            path=path,
            name=FIELD_PREFIX + path,
            html_id=_html_id(path, taken),
            label=str(prop.get("title") or _humanise(key)),
            help=str(prop.get("description") or ""),
            kind=kind,
            schema=prop,
            value=value,
            text=_input_text(kind, value),
            choices=_choices(options, value) if options else [],
            required=required,
            required_states=states,
            required_now=required or bool(state and state in states),
            state=state,
            readonly=bool(prop.get("readOnly")),
            errors=by_path.get(path, []),
            minimum=prop.get("minimum"),
            maximum=prop.get("maximum"),
            step=_number_step(prop) if kind == NUMBER else "",
        )

    def fill(section: CardSection, node: Mapping[str, Any], prefix: list[str]) -> None:
        required = {r for r in node.get("required") or [] if isinstance(r, str)}
        for key, prop in _properties(node):
            if not _rendered(prop):
                continue
            if _is_section(prop):
                child = CardSection(
                    path=".".join([*prefix, key]),
                    key=key,
                    title=str(prop.get("title") or _humanise(key)),
                    description=str(prop.get("description") or ""),
                    depth=section.depth + 1,
                )
                fill(child, prop, [*prefix, key])
                section.items.append(child)
            else:
                section.items.append(make_field(key, prop, prefix, key in required))

    pages: list[CardPage] = []
    root_required = {r for r in json_schema.get("required") or [] if isinstance(r, str)}
    for key, prop in _properties(json_schema):
        if not _rendered(prop):
            continue
        page = CardPage(
            path=key,
            key=key,
            title=str(prop.get("title") or _humanise(key)),
            description=str(prop.get("description") or ""),
            depth=0,
            anchor=_html_id("page." + key, taken),
            show_in_view=prop.get("displayModelCard") is not False,
        )
        if _is_section(prop):
            fill(page, prop, [key])
        else:
            # A question straight under the root: a page holding just that question.
            page.items.append(make_field(key, prop, [], key in root_required))
        pages.append(page)
    form = CardForm(pages=pages, general_errors=general)
    _name_people(form)
    return form


def _fields_by_path(form: CardForm) -> dict[str, CardField]:
    return {f.path: f for f in form.fields()}


def mirrored_card_view(
    source_schema: Mapping[str, Any],
    source_metadata: Any,
    local_schema: Mapping[str, Any] | None,
    local_metadata: Any,
    *,
    headings: tuple[str, str],
) -> CardForm:
    """A mirrored entry's card, read-only: the source card's questions, each with the source's
    answer and the local additional information to it (``headings``: original, additional)."""
    view = build_card_form(source_schema, source_metadata)
    local = build_card_form(local_schema or {}, local_metadata if local_schema else {})
    additions = _fields_by_path(local)
    for f in view.fields():
        f.mirror = MirrorPair(f, additions.get(f.path), *headings)
    _name_people(view, local)
    return view


def add_original_answers(
    form: CardForm,
    source_schema: Mapping[str, Any] | None,
    source_metadata: Any,
    *,
    headings: tuple[str, str],
) -> None:
    """Beside each question of a mirrored entry's additional-information form, the answer the
    source gave (read-only), so people add to it rather than repeat it."""
    source = build_card_form(source_schema or {}, source_metadata if source_schema else {})
    originals = _fields_by_path(source)
    for f in form.fields():
        f.mirror = MirrorPair(originals.get(f.path), f, *headings)
    _name_people(source, form)


class PeopleOfForm:
    """The display names of everyone a form's entity questions answer: loaded once, on first use
    (building a form for input, or in a test without a database, loads nothing)."""

    def __init__(self, codes: list[str]) -> None:
        self._codes = codes
        self._people: dict[str, Person] | None = None

    def get(self) -> dict[str, Person]:
        if self._people is None:
            self._people = people_named(self._codes)
        return self._people


def _name_people(*forms: CardForm) -> None:
    """One shared, lazily loaded lookup for the entity answers of ``forms`` (shown together)."""
    asking = [f for form in forms for f in form.fields() if f.names_people and f.answered]
    codes = [c for f in asking for c in (f.value if isinstance(f.value, list) else [f.value])]
    shared = PeopleOfForm([c for c in codes if isinstance(c, str)])
    for f in asking:
        f.people = shared


# --- reading a submitted form back ------------------------------------------------------------


def _parse_number(text: str, prop: Mapping[str, Any]) -> Any:
    """An int or float; text that is not a finite number is kept so validation names the field."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text
    if not math.isfinite(number):
        return text
    if _type_of(prop) == "integer" and number.is_integer():
        return int(number)
    return number


def _parse_scalar(text: str, prop: Mapping[str, Any]) -> Any:
    if _type_of(prop) in {"number", "integer"}:
        return _parse_number(text, prop)
    if _type_of(prop) == "boolean":
        lowered = text.lower()
        if lowered in {"true", "yes", "on"}:
            return True
        if lowered in {"false", "no", "off"}:
            return False
    return text


def _from_options(posted: str, options: list[Any]) -> Any:
    for option in options:
        if _option_key(option) == posted:
            return option
    return posted  # not an option: validation will say so beside the field


def _parse_field(prop: Mapping[str, Any], name: str, data: PostData) -> tuple[bool, Any]:
    """(present, value): ``present`` is False when the question was left empty."""
    kind = field_kind(prop)
    if kind == CHECKBOX:
        # Three choices (Yes, No, Not answered): a question nobody touched is left unanswered,
        # never saved as "no".
        posted = str(data.get(name, "") or "").strip().lower()
        if posted in {"true", "yes", "on"}:
            return True, True
        if posted in {"false", "no", "off"}:
            return True, False
        return False, None
    if kind == MULTISELECT:
        options = list((prop.get("items") or {}).get("enum") or [])
        chosen = [_from_options(str(v), options) for v in data.getlist(name) if str(v) != ""]
        return (bool(chosen), chosen)
    raw = data.get(name, "")
    text = str(raw if raw is not None else "").replace("\r\n", "\n").strip()
    if not text:
        return False, None
    if kind == SELECT:
        return True, _from_options(text, list(prop.get("enum") or []))
    if kind == LIST:
        items = prop.get("items")
        if not isinstance(items, dict):
            items = {}
        parts = [p.strip() for p in text.replace("\n", ",").split(",")]
        values = [_parse_scalar(p, items) for p in parts if p]
        return (bool(values), values)
    if kind == JSON:
        try:
            return True, json.loads(text)
        except ValueError:
            return True, text  # kept as text so validation reports the wrong type here
    if kind == NUMBER:
        return True, _parse_number(text, prop)
    return True, text


def parse_card_post(
    json_schema: Mapping[str, Any], data: PostData, *, previous: Any = None
) -> dict[str, Any]:
    """Card metadata from a submitted card form.

    Values take the schema's JSON types; empty inputs are left out rather than saved as ``""``,
    and a section with no answers is left out whole, so a page nobody touched does not trip its
    own ``required`` list. A yes/no question is answered only when Yes or No is chosen: left on
    "Not answered" it is left out like an empty input, never saved as ``false``. Answers the
    form does not show (``widget: nothing``, ``readOnly`` questions, keys outside the schema)
    are carried over from ``previous`` unchanged.
    """

    def parse(
        node: Mapping[str, Any], prefix: list[str], before: Any
    ) -> tuple[dict[str, Any], bool]:
        result: dict[str, Any] = {}
        answered = False
        known: set[str] = set()
        for key, prop in _properties(node):
            known.add(key)
            old = before.get(key) if isinstance(before, dict) else None
            if not _rendered(prop) or prop.get("readOnly"):
                if old is not None:
                    result[key] = copy.deepcopy(old)
                    answered = True
                continue
            if _is_section(prop):
                child, child_answered = parse(prop, [*prefix, key], old)
                if child_answered:
                    result[key] = child
                    answered = True
                continue
            present, value = _parse_field(prop, FIELD_PREFIX + ".".join([*prefix, key]), data)
            if present:
                result[key] = value
                answered = True
        if isinstance(before, dict):
            for key, old in before.items():
                if key not in known:
                    result[key] = copy.deepcopy(old)
                    answered = True
        return result, answered

    metadata, _ = parse(json_schema, [], previous)
    return metadata


# --- comparing two revisions ------------------------------------------------------------------


@dataclass
class CompareRow:
    path: str
    label: str
    before: str
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclass
class CompareGroup:
    title: str
    rows: list[CompareRow]

    @property
    def changed_count(self) -> int:
        return sum(1 for r in self.rows if r.changed)


def compare_cards(
    schema_a: Mapping[str, Any],
    metadata_a: Any,
    schema_b: Mapping[str, Any],
    metadata_b: Any,
) -> list[CompareGroup]:
    """Each question of either revision as a row, grouped by page, in the newer schema's order."""
    form_a = build_card_form(schema_a, metadata_a)
    form_b = build_card_form(schema_b, metadata_b)
    a_fields = {f.path: f for f in form_a.fields()}
    groups: list[CompareGroup] = []
    seen: set[str] = set()
    for page in form_b.pages:
        rows = []
        for f in page.fields():
            seen.add(f.path)
            before = a_fields[f.path].display_text if f.path in a_fields else ""
            rows.append(CompareRow(f.path, f.label, before, f.display_text))
        groups.append(CompareGroup(page.title, rows))
    # Questions only the older revision had (its schema was migrated away from).
    leftovers = [
        CompareRow(f.path, f.label, f.display_text, "")
        for f in form_a.fields()
        if f.path not in seen
    ]
    if leftovers:
        groups.append(CompareGroup("Only in the earlier version", leftovers))
    return groups
