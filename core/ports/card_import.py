"""The card-import port: suggesting answers to a card's questions from free text.

Bailo sends pasted text (a README, an old model card) to a language model and gets back answers
for the card's schema. Here that is a port with two adapters, chosen by settings at every call:

- ``HeadingExtractor``, the default: deterministic and offline. A Markdown heading (``## Intended
  use``) or a ``Question: answer`` line whose label matches a question's title (or its key, as
  words) answers that question with the text under the heading or after the colon.
- ``ChatCompletionsExtractor``, when ``CARD_IMPORT_LLM_URL`` is set: an OpenAI-compatible chat
  completions endpoint (``POST <url>`` with ``{model, messages, temperature, max_tokens,
  response_format: {type: json_object}}``, ``Authorization: Bearer <key>`` when a key is set),
  asked for one JSON object keyed by question path.

Both answer a dict of *raw* suggestions, keyed by dot path or nested like the card; the caller
(``models_app.card_import``) keeps only known questions and values of the right type. Callers see
two exceptions, never a ``requests`` error: ``ImportUnavailable`` (the model could not be
reached or did not answer in time: 503) and ``ImportBadAnswer`` (it answered with an error or
with something that is not a JSON object: 502).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests
from django.conf import settings

from core.ports.json_call import json_request

# How much of the model's answer is read (a card is small; anything bigger is not a card).
MAX_ANSWER_BYTES = 2_000_000
MAX_QUOTED = 200

SYSTEM_PROMPT = (
    "You fill in model cards. You are given the questions of a card (each with a path, a title, "
    "a JSON type and, when fixed, the allowed values) and a text describing a machine-learning "
    "model. Answer with one JSON object whose keys are question paths and whose values answer "
    "those questions, using only facts stated in the text. Leave out questions the text does not "
    "answer. Do not invent values."
)


@dataclass(frozen=True)
class Question:
    """One question of a card: its dot ``path``, ``title`` and JSON ``type`` (``string``,
    ``number``, ``integer``, ``boolean`` or ``array``), with ``options`` when the answer (or each
    item of an array answer) must be one of a fixed list."""

    path: str
    title: str
    type: str
    description: str = ""
    format: str = ""
    options: tuple[str, ...] = field(default_factory=tuple)
    item_type: str = ""

    def prompt_line(self) -> dict[str, Any]:
        line: dict[str, Any] = {"path": self.path, "title": self.title, "type": self.type}
        for key, value in (
            ("description", self.description),
            ("format", self.format),
            ("itemType", self.item_type),
        ):
            if value:
                line[key] = value
        if self.options:
            line["allowedValues"] = list(self.options)
        return line


class CardImportError(Exception):
    """The extractor did not give suggestions; ``str()`` says why, fit for users."""


class ImportUnavailable(CardImportError):
    """The language model could not be reached, or did not answer in time."""


class ImportBadAnswer(CardImportError):
    """The language model answered with an error status or with something that is not a JSON
    object of answers."""


class CardExtractor(Protocol):
    def extract(self, text: str, questions: Sequence[Question]) -> dict[str, Any]: ...


# --- the offline default --------------------------------------------------------------------------


_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_LABEL = re.compile(r"^\s*(?:[-*+]\s+)?(?:\*\*|__)?([^:\n]{1,120}?)(?:\*\*|__)?\s*:\s*(.*)$")


def normalise(label: str) -> str:
    """A label as comparable words: case, punctuation, Markdown emphasis and key casing ignored."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", label)
    words = re.sub(r"[^0-9A-Za-z]+", " ", words)
    return " ".join(words.lower().split())


def _names(question: Question) -> list[str]:
    key = question.path.rsplit(".", 1)[-1]
    return [n for n in (normalise(question.title), normalise(key)) if n]


class HeadingExtractor:
    """Maps Markdown headings and ``Label: answer`` lines onto question titles (or keys).

    The text under a heading, up to the next heading (or labelled answer), answers the question
    the heading names; a ``Label: answer`` line answers its question with the rest of the line
    (and, when the rest is empty, the lines that follow up to a blank line). A label that names no
    question is ignored; a question named twice keeps its first answer.
    """

    def extract(self, text: str, questions: Sequence[Question]) -> dict[str, Any]:
        by_name: dict[str, Question] = {}
        for question in questions:
            for name in _names(question):
                by_name.setdefault(name, question)
        found: dict[str, Any] = {}
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        current: Question | None = None
        body: list[str] = []

        def close() -> None:
            if current is not None and current.path not in found:
                answer = "\n".join(body).strip()
                if answer:
                    found[current.path] = answer

        index = 0
        while index < len(lines):
            line = lines[index]
            heading = _HEADING.match(line)
            setext = (
                index + 1 < len(lines)
                and line.strip()
                and _SETEXT.match(lines[index + 1])
                and not _LABEL.match(line)
            )
            if heading or setext:
                close()
                label = heading.group(2) if heading else line
                current, body = by_name.get(normalise(label)), []
                index += 1 if heading else 2
                continue
            labelled = _LABEL.match(line)
            named = by_name.get(normalise(labelled.group(1))) if labelled else None
            if labelled and named is not None:
                # A labelled answer ends the section of the heading above it.
                close()
                current, body = None, []
                answer = labelled.group(2).strip()
                index += 1
                if not answer:
                    more = []
                    while index < len(lines) and lines[index].strip():
                        if _HEADING.match(lines[index]) or _LABEL.match(lines[index]):
                            break
                        more.append(lines[index])
                        index += 1
                    answer = "\n".join(more).strip()
                if answer and named.path not in found:
                    found[named.path] = answer
                continue
            if current is not None:
                body.append(line)
            index += 1
        close()
        return found


# --- an OpenAI-compatible chat completions endpoint -----------------------------------------------


class ChatCompletionsExtractor:
    """Asks an OpenAI-compatible chat completions endpoint for a JSON object of answers."""

    def __init__(
        self,
        url: str,
        *,
        model: str,
        api_key: str = "",
        timeout: float = 60.0,
        max_tokens: int = 4096,
    ) -> None:
        self.url = url
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.max_tokens = max_tokens

    def request_body(self, text: str, questions: Sequence[Question]) -> dict[str, Any]:
        fields = json.dumps([q.prompt_line() for q in questions], ensure_ascii=False)
        return {
            "model": self.model,
            "temperature": 0,
            "max_tokens": self.max_tokens,
            "response_format": {"type": "json_object"},
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {
                    "role": "user",
                    "content": f"Questions:\n{fields}\n\nText:\n{text}",
                },
            ],
        }

    def extract(self, text: str, questions: Sequence[Question]) -> dict[str, Any]:
        try:
            with json_request(
                "POST",
                self.url,
                self.request_body(text, questions),
                authorization=f"Bearer {self.api_key}" if self.api_key else "",
                timeout=self.timeout,
            ) as response:
                status = response.status_code
                raw = response.raw.read(MAX_ANSWER_BYTES + 1, decode_content=True)
        except requests.exceptions.Timeout as exc:
            raise ImportUnavailable(
                f"The language model did not answer within {self.timeout:g} s"
            ) from exc
        except requests.exceptions.RequestException as exc:
            raise ImportUnavailable("The language model could not be reached") from exc
        if not 200 <= status < 300:
            quoted = " ".join(raw[:MAX_QUOTED].decode("utf-8", "replace").split())
            raise ImportBadAnswer(
                f"The language model answered {status}" + (f": {quoted}" if quoted else "")
            )
        if len(raw) > MAX_ANSWER_BYTES:
            raise ImportBadAnswer("The language model's answer is too large")
        return _answers(raw)


def _answers(raw: bytes) -> dict[str, Any]:
    """The JSON object in ``choices[0].message.content`` (a code fence around it is tolerated)."""
    try:
        envelope = json.loads(raw)
        content = envelope["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise ImportBadAnswer(
            "The language model's answer is not a chat completion (no choices[0].message.content)"
        ) from exc
    if not isinstance(content, str):
        raise ImportBadAnswer("The language model's answer has no text content")
    fenced = re.fullmatch(r"\s*```(?:json)?\s*(.*?)\s*```\s*", content, re.DOTALL)
    if fenced:
        content = fenced.group(1)
    try:
        answers = json.loads(content)
    except ValueError as exc:
        raise ImportBadAnswer("The language model did not answer with JSON") from exc
    if not isinstance(answers, dict):
        raise ImportBadAnswer("The language model did not answer with a JSON object")
    return answers


def card_extractor() -> CardExtractor:
    """The adapter the settings choose now (read at every call: tests and admins change them)."""
    url = getattr(settings, "CARD_IMPORT_LLM_URL", "")
    if not url:
        return HeadingExtractor()
    return ChatCompletionsExtractor(
        url,
        model=getattr(settings, "CARD_IMPORT_LLM_MODEL", ""),
        api_key=getattr(settings, "CARD_IMPORT_LLM_API_KEY", ""),
        timeout=float(getattr(settings, "CARD_IMPORT_LLM_TIMEOUT", 60.0)),
        max_tokens=int(getattr(settings, "CARD_IMPORT_LLM_MAX_TOKENS", 4096)),
    )
