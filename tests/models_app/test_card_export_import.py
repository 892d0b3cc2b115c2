"""The card's HTML export and "Import from text" (API and pages).

The export is a self-contained page with a CSP of its own; the import suggests answers from text
through the port in ``core.ports.card_import`` (the offline heading mapper, or an OpenAI-compatible
chat endpoint played by a stub server on 127.0.0.1) and never writes the card.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from models_app.models import Model, ModelCardRevision, Schema
from models_app.policy import Actor
from models_app.services import card_from_schema, card_update
from tests.models_app.llm_stub import ChatStub
from tests.releases.release_helpers import with_card

pytestmark = pytest.mark.django_db

CARD = {
    "overview": {"modelSummary": "Finds **cats** in pictures."},
    "anotherPage": {"sectionOne": {"q1": "Answer <one>", "q3": "2024-05-01"}},
}

RICH_SCHEMA = {
    "type": "object",
    "properties": {
        "overview": {
            "title": "Overview",
            "type": "object",
            "properties": {
                "summary": {"title": "Model summary", "type": "string", "maxLength": 40},
                "licence": {"title": "Licence", "type": "string", "enum": ["MIT", "Apache-2.0"]},
                "tags": {"title": "Tags", "type": "array", "items": {"type": "string"}},
                "parameters": {"title": "Parameter count", "type": "integer"},
                "released": {"title": "Release date", "type": "string", "format": "date"},
                "gpu": {"title": "Needs a GPU", "type": "boolean"},
                "owner": {"title": "Owner", "type": "array", "widget": "entitySelector"},
            },
        }
    },
}


def api(model: Model, tail: str) -> str:
    return f"/api/v2/model/{model.pk}/{tail}"


@pytest.fixture
def carded(entry: Model, owner: Any) -> Model:
    model = with_card(entry, owner)
    card_update(actor=Actor(user=owner), model=model, metadata=CARD)
    return Model.objects.get(pk=model.pk)


@pytest.fixture
def rich(entry: Model, owner: Any) -> Model:
    Schema.objects.create(id="rich-test-v1", name="Rich", kind="model", json_schema=RICH_SCHEMA)
    card_from_schema(actor=Actor(user=owner), model=entry, schema_id="rich-test-v1")
    return Model.objects.get(pk=entry.pk)


# --- export ---------------------------------------------------------------------------------------


def test_export_is_a_self_contained_page_of_the_revision(
    carded: Model, owner: Any, client_for: Any
) -> None:
    response = client_for(owner).get(api(carded, "model-card/latest/html"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    csp = response["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "style-src 'unsafe-inline'" in csp
    assert "script-src" not in csp  # nothing may run
    page = response.content.decode()
    # Nothing outside the page is loaded: no scripts, no stylesheets, no images by URL.
    assert "<script" not in page and "<link" not in page and 'src="' not in page
    assert "<style>" in page
    assert "Private model" in page and "Model card version 2" in page
    assert "Summary" in page and "cats" in page
    assert "First question" in page and "Answer &lt;one&gt;" in page
    assert "2024-05-01" in page and "Not answered" in page
    assert "owen" in page  # who saved it
    assert "State not set" in page


def test_export_names_an_earlier_version_and_404s_an_unknown_one(
    carded: Model, consumer: Any, client_for: Any
) -> None:
    client = client_for(consumer)
    first = client.get(api(carded, "model-card/1/html"))
    assert first.status_code == 200
    assert "Model card version 1" in first.content.decode()
    assert "Answer &lt;one&gt;" not in first.content.decode()
    missing = client.get(api(carded, "model-card/9/html"))
    assert missing.status_code == 404
    assert "no card version 9" in missing.json()["error"]["message"]
    bad = client.get(api(carded, "model-card/first/html"))
    assert bad.status_code == 400 and set(bad.json()) == {"error"}


def test_outsiders_and_anonymous_cannot_export_a_private_card(
    carded: Model, outsider: Any, client_for: Any
) -> None:
    assert client_for(outsider).get(api(carded, "model-card/latest/html")).status_code == 404
    assert client_for(None).get(api(carded, "model-card/latest/html")).status_code == 401


def test_an_entry_without_a_card_has_nothing_to_export(
    entry: Model, owner: Any, client_for: Any
) -> None:
    assert client_for(owner).get(api(entry, "model-card/latest/html")).status_code == 404


def test_the_card_page_and_the_history_link_to_the_export(
    carded: Model, consumer: Any, client_for: Any
) -> None:
    client = client_for(consumer)
    page = client.get(f"/model/{carded.pk}").content.decode()
    assert f'href="/api/v2/model/{carded.pk}/model-card/2/html"' in page
    history = client.get(f"/model/{carded.pk}/card/history").content.decode()
    for version in (1, 2):
        assert f'href="/api/v2/model/{carded.pk}/model-card/{version}/html"' in history


# --- import: the offline extractor ----------------------------------------------------------------

README = """# Cat finder

## Summary
Finds cats in pictures,
even small ones.

First question: It was trained on 10,000 photos.
**A date**: 2024-02-30
A number: 42
Yes or no: yes
Not a question: ignored
"""


def test_headings_and_labelled_lines_become_suggestions_and_nothing_is_saved(
    carded: Model, contributor: Any, client_for: Any
) -> None:
    before = ModelCardRevision.objects.filter(model=carded).count()
    response = client_for(contributor).post(
        api(carded, "import-model-card-text"),
        data=json.dumps({"text": README}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"metadata", "warnings"}
    assert body["metadata"] == {
        "overview": {"modelSummary": "Finds cats in pictures,\neven small ones."},
        "anotherPage": {
            "sectionOne": {"q1": "It was trained on 10,000 photos."},
            "sectionTwo": {"questionThree": 42, "questionFour": True},
        },
    }
    assert body["warnings"] == ["anotherPage.sectionOne.q3: is not a date in YYYY-MM-DD form"]
    assert ModelCardRevision.objects.filter(model=carded).count() == before


def test_answers_are_cleaned_to_the_question_types(
    rich: Model, owner: Any, client_for: Any
) -> None:
    text = (
        "Model summary: A very long summary that goes on and on past the limit\n"
        "Licence: apache-2.0\n"
        "Tags:\n- vision\n- cats\n"
        "Parameter count: 1,200\n"
        "Release date: n/a\n"
        "Needs a GPU: maybe\n"
        "Owner: user:owen\n"
    )
    response = client_for(owner).post(
        api(rich, "import-model-card-text"),
        data=json.dumps({"text": text}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["metadata"] == {
        "overview": {
            "summary": "A very long summary that goes on and on"[:40],
            "licence": "Apache-2.0",
            "tags": ["vision", "cats"],
            "parameters": 1200,
        }
    }
    assert body["warnings"] == ["overview.gpu: is not yes or no"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({}, 400, "text is required"),
        ({"text": 5}, 400, "text is required"),
        ({"text": "   "}, 400, "must not be empty"),
        ({"text": "x" * 300}, 400, "longer than the limit"),
    ],
)
def test_bad_text_is_refused_clearly(
    carded: Model, owner: Any, client_for: Any, settings: Any, body: Any, status: int, message: str
) -> None:
    settings.CARD_IMPORT_MAX_CHARS = 200
    response = client_for(owner).post(
        api(carded, "import-model-card-text"),
        data=json.dumps(body),
        content_type="application/json",
    )
    assert response.status_code == status
    assert message in response.json()["error"]["message"]


def test_import_needs_a_card(entry: Model, owner: Any, client_for: Any) -> None:
    response = client_for(owner).post(
        api(entry, "import-model-card-text"),
        data=json.dumps({"text": "Summary: x"}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "no card" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("persona", "status"), [("consumer", 403), ("reviewer", 403), ("outsider", 404)]
)
def test_only_those_who_edit_the_card_may_import(
    carded: Model, personas: dict[str, Any], client_for: Any, persona: str, status: int
) -> None:
    response = client_for(personas[persona]).post(
        api(carded, "import-model-card-text"),
        data=json.dumps({"text": "Summary: x"}),
        content_type="application/json",
    )
    assert response.status_code == status
    assert set(response.json()) == {"error"}


# --- import: an OpenAI-compatible chat endpoint ---------------------------------------------------


@pytest.fixture
def llm(settings: Any) -> Iterator[ChatStub]:
    stub = ChatStub().start()
    settings.CARD_IMPORT_LLM_URL = stub.url
    settings.CARD_IMPORT_LLM_MODEL = "card-model"
    settings.CARD_IMPORT_LLM_API_KEY = "sk-test"
    settings.CARD_IMPORT_LLM_TIMEOUT = 2.0
    try:
        yield stub
    finally:
        stub.stop()


def _import(client: Any, model: Model, text: str = "Some README") -> Any:
    return client.post(
        api(model, "import-model-card-text"),
        data=json.dumps({"text": text}),
        content_type="application/json",
    )


def test_the_chat_endpoint_is_asked_with_the_questions_and_its_answer_is_cleaned(
    rich: Model, owner: Any, client_for: Any, llm: ChatStub
) -> None:
    llm.reply(
        json.dumps(
            {
                "overview": {"summary": "Cats", "licence": "mit", "gpu": False},
                "overview.parameters": "7",
                "overview.released": "unknown",
                "overview.colour": "blue",
            }
        )
    )
    response = _import(client_for(owner), rich, "A README about cats")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "metadata": {
            "overview": {"summary": "Cats", "licence": "MIT", "gpu": False, "parameters": 7}
        },
        "warnings": ["overview.colour: is not a question of this card"],
    }
    sent = llm.requests[-1]
    assert sent["model"] == "card-model" and sent["temperature"] == 0
    assert sent["response_format"] == {"type": "json_object"}
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert "A README about cats" in sent["messages"][1]["content"]
    assert '"path": "overview.licence"' in sent["messages"][1]["content"]
    # Who the card's people are is not for a language model to guess.
    assert "overview.owner" not in sent["messages"][1]["content"]
    assert llm.headers[-1]["Authorization"] == "Bearer sk-test"


def test_a_json_answer_in_a_code_fence_is_read(
    rich: Model, owner: Any, client_for: Any, llm: ChatStub
) -> None:
    llm.reply('```json\n{"overview.summary": "Fenced"}\n```')
    response = _import(client_for(owner), rich)
    assert response.json()["metadata"] == {"overview": {"summary": "Fenced"}}


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (200, b"not json at all", "not a chat completion"),
        (200, json.dumps({"choices": []}).encode(), "not a chat completion"),
        (200, None, "did not answer with JSON"),
        (200, b"list", "not answer with a JSON object"),
        (500, b'{"error": "overloaded"}', "answered 500"),
    ],
)
def test_a_garbled_answer_is_a_502_and_nothing_is_written(
    rich: Model,
    owner: Any,
    client_for: Any,
    llm: ChatStub,
    status: int,
    body: bytes | None,
    message: str,
) -> None:
    if body is None:
        llm.reply("Sure! Here is the card: summary is Cats")
    elif body == b"list":
        llm.reply("[1, 2]")
    else:
        llm.raw(status, body)
    before = ModelCardRevision.objects.filter(model=rich).count()
    response = _import(client_for(owner), rich)
    assert response.status_code == 502
    assert message in response.json()["error"]["message"]
    assert ModelCardRevision.objects.filter(model=rich).count() == before


def test_an_unreachable_or_slow_endpoint_is_a_503(
    rich: Model, owner: Any, client_for: Any, llm: ChatStub, settings: Any
) -> None:
    llm.delay = 1.5
    settings.CARD_IMPORT_LLM_TIMEOUT = 0.5
    slow = _import(client_for(owner), rich)
    assert slow.status_code == 503
    assert "did not answer within" in slow.json()["error"]["message"]
    llm.delay = 0
    url = llm.url
    llm.stop()
    settings.CARD_IMPORT_LLM_URL = url
    down = _import(client_for(owner), rich)
    assert down.status_code == 503
    assert "could not be reached" in down.json()["error"]["message"]


# --- the pages ------------------------------------------------------------------------------------


def test_import_page_fills_the_edit_form_without_saving(
    carded: Model, contributor: Any, client_for: Any
) -> None:
    client = client_for(contributor)
    edit = client.get(f"/model/{carded.pk}/card/edit").content.decode()
    assert f'action="/model/{carded.pk}/card/import"' in edit
    before = ModelCardRevision.objects.filter(model=carded).count()
    response = client.post(f"/model/{carded.pk}/card/import", {"text": README})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Nothing is saved until you save the card" in page
    assert "It was trained on 10,000 photos." in page
    assert re.search(r'name="card\.anotherPage\.sectionTwo\.questionThree"[^>]*value="42"', page)
    assert "is not a date in YYYY-MM-DD form" in page
    # The form posts to the ordinary save, which the person presses after reviewing.
    assert f'action="/model/{carded.pk}/card/edit"' in page
    assert ModelCardRevision.objects.filter(model=carded).count() == before


def test_import_page_says_what_went_wrong(
    carded: Model, owner: Any, client_for: Any, llm: ChatStub
) -> None:
    llm.raw(500, b"boom")
    response = client_for(owner).post(f"/model/{carded.pk}/card/import", {"text": "x"})
    assert response.status_code == 502
    assert "The language model answered 500" in response.content.decode()


def test_consumers_cannot_use_the_import_page(
    carded: Model, consumer: Any, client_for: Any
) -> None:
    response = client_for(consumer).post(f"/model/{carded.pk}/card/import", {"text": "x"})
    assert response.status_code == 403
