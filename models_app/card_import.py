"""Suggesting card answers from free text (Bailo's "Import from text"), without saving them.

``card_import_text`` lists the card's questions, asks the extractor the settings choose
(``core.ports.card_import``) for answers, and keeps only what fits: known questions, values of the
question's type (text read as a number, a yes/no, a list or one of the allowed values where the
question asks for one), no placeholders ("n/a", "unknown", "TBD", ...), dates as YYYY-MM-DD, text
cut to ``maxLength``. What it drops, and any answer the schema still refuses, it reports as
``warnings`` (``"<path>: <why>"``). It writes nothing: the suggestions go back to the person, who
accepts or changes them on the card form and saves as usual.
"""

from __future__ import annotations

import copy
import datetime
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from core.errors import BadRequest, BailoError
from core.ports.card_import import (
    ImportBadAnswer,
    ImportUnavailable,
    Question,
    card_extractor,
)
from models_app.card_form import _humanise, _type_of
from models_app.models import Model
from models_app.policy import Actor
from models_app.schema_validation import validation_errors

# Widgets whose answers name things in this instance (people, data cards): text cannot give them.
SKIPPED_WIDGETS = {"entitySelector", "dataCardSelector", "nothing"}
PLACEHOLDERS = {
    "", "-", "--", "n/a", "na", "n.a.", "none", "null", "nil", "unknown", "tbd", "tbc", "todo",
    "to do", "not applicable", "not known", "not specified", "unspecified", "not provided",
    "not available", "example", "placeholder", "...", "?",
}  # fmt: skip
PLACEHOLDER_HOSTS = {"example.com", "example.org", "example.net", "localhost"}
TRUE_WORDS = {"yes", "y", "true", "1", "on", "x", "[x]"}
FALSE_WORDS = {"no", "n", "false", "0", "off", "[ ]"}


class ImportServiceUnavailable(BailoError):
    status = 503


class ImportBadGateway(BailoError):
    status = 502


@dataclass(frozen=True)
class CardImport:
    """Suggested answers (nested like the card) and why anything was left out."""

    metadata: dict[str, Any]
    warnings: list[str]
    answered: list[str]  # dot paths of the questions given an answer, in schema order


def card_questions(json_schema: Mapping[str, Any]) -> list[Question]:
    """The questions text can answer, in page order (objects are walked, not asked)."""
    found: list[Question] = []

    def walk(node: Mapping[str, Any], prefix: list[str]) -> None:
        props = node.get("properties")
        if not isinstance(props, dict):
            return
        for key, prop in props.items():
            if not isinstance(prop, dict) or prop.get("widget") in SKIPPED_WIDGETS:
                continue
            kind = _type_of(prop)
            if kind == "object":
                walk(prop, [*prefix, key])
                continue
            options: tuple[str, ...] = ()
            item_type = ""
            if kind == "array":
                items = _object(prop.get("items"))
                item_type = _type_of(items)
                if item_type not in {"string", "number", "integer"}:
                    continue  # arrays of objects need a person, not a paragraph
                options = tuple(str(o) for o in items.get("enum") or [])
            elif isinstance(prop.get("enum"), list):
                options = tuple(str(o) for o in prop["enum"])
            found.append(
                Question(
                    path=".".join([*prefix, key]),
                    title=str(prop.get("title") or _humanise(key)),
                    type=kind,
                    description=str(prop.get("description") or "")[:500],
                    format=str(prop.get("format") or ""),
                    options=options,
                    item_type=item_type,
                )
            )

    walk(json_schema, [])
    return found


def _flatten(answers: Mapping[str, Any], paths: set[str], prefix: str = "") -> dict[str, Any]:
    """Answers keyed by dot path, whether the extractor nested them like the card or not."""
    flat: dict[str, Any] = {}
    for key, value in answers.items():
        path = f"{prefix}{key}"
        if path in paths:
            flat[path] = value
        elif isinstance(value, Mapping):
            flat.update(_flatten(value, paths, f"{path}."))
        else:
            flat[path] = value  # unknown: reported by the caller
    return flat


def _is_placeholder(value: Any) -> bool:
    if not isinstance(value, str):
        return value is None
    text = value.strip().lower()
    if text in PLACEHOLDERS:
        return True
    url = re.match(r"^https?://([^/:\s]+)", text)
    return bool(url and (url.group(1) in PLACEHOLDER_HOSTS or url.group(1).endswith(".example")))


def _match_option(value: Any, options: tuple[str, ...], raw_options: list[Any]) -> Any:
    text = str(value).strip().lower()
    for shown, raw in zip(options, raw_options, strict=False):
        if shown.lower() == text:
            return raw
    raise ValueError(f"is not one of the allowed values ({', '.join(options[:10])})")


def _scalar(value: Any, kind: str, prop: Mapping[str, Any]) -> Any:
    """``value`` as the JSON type ``kind``; ``ValueError`` says why it cannot be."""
    if kind == "string":
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError("is not text")
        text = value.strip() if isinstance(value, str) else json.dumps(value)
        if prop.get("format") == "date":
            match = re.search(r"\b(\d{4}-\d{2}-\d{2})\b", text)
            try:
                if match is None:
                    raise ValueError
                datetime.date.fromisoformat(match.group(1))
            except ValueError:
                raise ValueError("is not a date in YYYY-MM-DD form") from None
            return match.group(1)
        limit = prop.get("maxLength")
        return text[:limit].rstrip() if isinstance(limit, int) and limit >= 0 else text
    if kind in {"number", "integer"}:
        if isinstance(value, bool):
            raise ValueError(f"is not a{'n integer' if kind == 'integer' else ' number'}")
        number: Any = value
        if isinstance(value, str):
            match = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*%?\s*", value.replace(",", ""))
            if match is None:
                raise ValueError("is not a number")
            number = float(match.group(1))
        if not isinstance(number, int | float):
            raise ValueError("is not a number")
        if kind == "integer":
            if float(number) != int(number):
                raise ValueError("is not an integer")
            return int(number)
        return int(number) if isinstance(number, float) and number.is_integer() else number
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower().rstrip(".")
        if text in TRUE_WORDS:
            return True
        if text in FALSE_WORDS:
            return False
        raise ValueError("is not yes or no")
    raise ValueError(f"has a type ({kind}) that cannot be imported")


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if not isinstance(value, str):
        return [value]
    lines = [re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", line) for line in value.splitlines()]
    lines = [line.strip() for line in lines if line.strip()]
    if len(lines) > 1:
        return lines
    return [part.strip() for part in value.split(",") if part.strip()]


def _clean(question: Question, prop: Mapping[str, Any], value: Any) -> Any:
    """The value to suggest for ``question``, or ``ValueError`` saying why there is none."""
    if question.type == "array":
        items = _object(prop.get("items"))
        cleaned = []
        for item in _items(value):
            if _is_placeholder(item):
                continue
            if question.options:
                cleaned.append(_match_option(item, question.options, list(items.get("enum") or [])))
            else:
                cleaned.append(_scalar(item, question.item_type, items))
        if not cleaned:
            raise ValueError("gives no usable values")
        return list(dict.fromkeys(cleaned)) if prop.get("uniqueItems") else cleaned
    if isinstance(value, list | dict):
        raise ValueError("is a list or object, not one answer")
    if question.options:
        return _match_option(value, question.options, list(prop.get("enum") or []))
    return _scalar(value, question.type, prop)


def _prop_at(json_schema: Mapping[str, Any], path: str) -> Mapping[str, Any]:
    node: Any = json_schema
    for part in path.split("."):
        node = (node.get("properties") or {}).get(part, {})
    return node if isinstance(node, Mapping) else {}


def _set(metadata: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = metadata
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def _without(metadata: dict[str, Any], path: str) -> None:
    parts = path.split(".")
    node: Any = metadata
    for part in parts[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(parts[-1], None)


def card_import_text(*, actor: Actor, model: Model, text: Any) -> CardImport:
    """Suggested answers for ``model``'s card from ``text``. The caller has checked that
    ``actor`` may edit the card; nothing is written."""
    if not isinstance(text, str):
        raise BadRequest("text is required: the text to read the card's answers from")
    if not text.strip():
        raise BadRequest("text must not be empty")
    limit = settings.CARD_IMPORT_MAX_CHARS
    if len(text) > limit:
        raise BadRequest(
            f"text is longer than the limit of {limit} characters",
            {"limitCharacters": limit, "characters": len(text)},
        )
    card = model.card
    if card is None:
        raise BadRequest(
            "This entry has no card yet: choose a schema for it first", {"modelId": model.pk}
        )
    json_schema = card.schema.json_schema
    questions = card_questions(json_schema)
    if not questions:
        raise BadRequest("This card's schema has no questions that text can answer")
    try:
        raw = card_extractor().extract(text, questions)
    except ImportUnavailable as exc:
        raise ImportServiceUnavailable(str(exc), {"modelId": model.pk}) from exc
    except ImportBadAnswer as exc:
        raise ImportBadGateway(str(exc), {"modelId": model.pk}) from exc
    by_path = {q.path: q for q in questions}
    warnings: list[str] = []
    metadata: dict[str, Any] = {}
    for path, value in _flatten(raw, set(by_path)).items():
        question = by_path.get(path)
        if question is None:
            warnings.append(f"{path[:100]}: is not a question of this card")
            continue
        if _is_placeholder(value) or value == []:
            continue
        try:
            cleaned = _clean(question, _prop_at(json_schema, path), value)
        except ValueError as exc:
            warnings.append(f"{path}: {exc}")
            continue
        _set(metadata, path, cleaned)
    # What the schema still refuses (a pattern, a minimum) is dropped and said; questions the
    # text left unanswered are not problems of the suggestions.
    suggested = {q.path for q in questions if _has(metadata, q.path)}
    for problem in validation_errors(json_schema, copy.deepcopy(metadata)):
        parts = problem["property"].split(".")
        # An item's problem ("tags.2") belongs to its question ("tags").
        owners = [".".join(parts[:end]) for end in range(len(parts), 0, -1)]
        owner = next((p for p in owners if p in suggested), None)
        if owner is not None:
            warnings.append(f"{problem['property']}: {problem['message']}")
            _without(metadata, owner)
            suggested.discard(owner)
    answered = [q.path for q in questions if q.path in suggested]
    return CardImport(metadata=metadata, warnings=warnings, answered=answered)


def _has(metadata: Mapping[str, Any], path: str) -> bool:
    node: Any = metadata
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def merge_answers(current: Any, suggested: Mapping[str, Any]) -> dict[str, Any]:
    """The current answers with the suggestions laid over them (for the form, not for saving)."""
    merged: dict[str, Any] = copy.deepcopy(current) if isinstance(current, dict) else {}
    for key, value in suggested.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = merge_answers(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
