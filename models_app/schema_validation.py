"""Validating card metadata against a schema, with Bailo's extensions.

``requiredByModelStates`` on a property makes it required while the entry is in one of the listed
states. Pages are the schema's top-level properties; sections are nested objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import SchemaError

from core.errors import BadRequest

KNOWN_WIDGETS = frozenset(
    {
        "tagSelector",
        "entitySelector",
        "multiSelector",
        "dataCardSelector",
        "metricsWidget",
        "nothing",
        "customTextInput",
        "checkboxInput",
        "richTextInput",
        "dateSelector",
        "dropdownInput",
    }
)


def check_json_schema(json_schema: Any) -> None:
    """Refuse anything that is not a valid draft-7 schema for an object."""
    if not isinstance(json_schema, dict):
        raise BadRequest("jsonSchema must be a JSON object")
    try:
        Draft7Validator.check_schema(json_schema)
    except SchemaError as exc:
        path = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise BadRequest(
            f"jsonSchema is not a valid JSON Schema: {exc.message}",
            {"validationErrors": [{"property": path, "message": exc.message}]},
        ) from exc
    if json_schema.get("type", "object") != "object":
        raise BadRequest("jsonSchema must describe an object (type: object)")


def _property_path(parts: Any) -> str:
    return ".".join(str(p) for p in parts)


def state_required(json_schema: dict[str, Any], state: str) -> list[str]:
    """Dot paths of properties that ``requiredByModelStates`` makes required in ``state``."""
    found: list[str] = []

    def walk(node: dict[str, Any], prefix: list[str]) -> None:
        for name, prop in (node.get("properties") or {}).items():
            if not isinstance(prop, dict):
                continue
            if state and state in (prop.get("requiredByModelStates") or []):
                found.append(_property_path([*prefix, name]))
            if prop.get("type") == "object":
                walk(prop, [*prefix, name])

    walk(json_schema, [])
    return found


def _lookup(metadata: Any, path: str) -> Any:
    node = metadata
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def validation_errors(
    json_schema: dict[str, Any], metadata: Any, *, state: str = ""
) -> list[dict[str, str]]:
    """Every problem with ``metadata``, as ``{property, message}``, sorted by property."""
    problems: list[dict[str, str]] = []
    # Bailo's validator checks formats (a ``date`` must be YYYY-MM-DD), so ours does too.
    validator = Draft7Validator(json_schema, format_checker=Draft7Validator.FORMAT_CHECKER)
    for error in validator.iter_errors(metadata):
        location = list(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, dict):
            missing = [
                n
                for n in (error.validator_value or [])
                if isinstance(n, str) and n not in error.instance
            ]
            for name in missing:
                problems.append(
                    {"property": _property_path([*location, name]), "message": "is required"}
                )
            continue
        problems.append({"property": _property_path(location), "message": error.message})
    # Some jsonschema versions report each missing required property as its own error; the
    # expansion above then names it more than once.
    unique = {(p["property"], p["message"]): p for p in problems}
    problems = list(unique.values())
    for path in state_required(json_schema, state):
        if _empty(_lookup(metadata, path)):
            problems.append({"property": path, "message": f"is required in state '{state}'"})
    return sorted(problems, key=lambda p: p["property"])


def validate_metadata(json_schema: dict[str, Any], metadata: Any, *, state: str = "") -> None:
    problems = validation_errors(json_schema, metadata, state=state)
    if problems:
        summary = "; ".join(f"{p['property'] or '(card)'} {p['message']}" for p in problems[:5])
        raise BadRequest(
            f"The card does not match its schema: {summary}", {"validationErrors": problems}
        )


def iter_questions(json_schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(dot path, property schema) of every leaf question in page/section order."""

    def walk(node: dict[str, Any], prefix: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        for name, prop in (node.get("properties") or {}).items():
            if not isinstance(prop, dict):
                continue
            if prop.get("type") == "object" and "properties" in prop:
                yield from walk(prop, [*prefix, name])
            else:
                yield _property_path([*prefix, name]), prop

    yield from walk(json_schema, [])


def question_title(json_schema: dict[str, Any], path: str) -> str:
    """The title of the question at dot ``path``, or the path itself when it has none."""
    node: Any = json_schema
    for part in path.split("."):
        properties = node.get("properties") if isinstance(node, dict) else None
        if not isinstance(properties, dict) or not isinstance(properties.get(part), dict):
            return path
        node = properties[part]
    title = node.get("title")
    return title if isinstance(title, str) and title.strip() else path


def state_gaps(json_schema: dict[str, Any], metadata: Any, state: str) -> list[str]:
    """Dot paths of the questions ``state`` requires (``requiredByModelStates``) left unanswered."""
    return [path for path in state_required(json_schema, state) if _empty(_lookup(metadata, path))]


def state_refusal(json_schema: dict[str, Any], state: str, problems: list[dict[str, str]]) -> str:
    """Why the card cannot move to ``state``, naming each question by its title and path."""

    def named(items: list[dict[str, str]]) -> str:
        return ", ".join(
            f"{question_title(json_schema, p['property'])} ({p['property'] or 'the card'})"
            for p in items
        )

    unanswered = [p for p in problems if p["message"].startswith("is required")]
    invalid = [p for p in problems if not p["message"].startswith("is required")]
    reasons = []
    if unanswered:
        reasons.append(f"it lacks answers to {named(unanswered)}")
    if invalid:
        reasons.append(f"these answers do not match the schema: {named(invalid)}")
    return (
        f"The card does not meet the requirements of state '{state}': {'; '.join(reasons)}. "
        "Complete the card first."
    )
