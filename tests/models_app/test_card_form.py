"""The card form renderer and parser: JSON Schema with Bailo's extensions to a form and back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.http import QueryDict

from models_app.card_form import (
    CHECKBOX,
    DATE,
    JSON,
    LIST,
    MULTISELECT,
    NUMBER,
    SELECT,
    TEXT,
    TEXTAREA,
    CardField,
    CardSection,
    build_card_form,
    compare_cards,
    parse_card_post,
)
from models_app.schema_validation import validation_errors

SCHEMAS = Path(__file__).resolve().parents[2] / "models_app" / "default_schemas"


def load(schema_id: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{schema_id}.json").read_text())


def post(**values: Any) -> QueryDict:
    data = QueryDict(mutable=True)
    for key, value in values.items():
        name = "card." + key.replace("__", ".")
        if isinstance(value, list):
            data.setlist(name, value)
        else:
            data[name] = value
    return data


def fields_by_path(form: Any) -> dict[str, CardField]:
    return {f.path: f for f in form.fields()}


NESTED = {
    "type": "object",
    "properties": {
        "about": {
            "type": "object",
            "title": "About",
            "properties": {
                "colour": {"type": "string", "title": "Colour", "widget": "paletteWheel"},
                "count": {"type": "integer", "widget": "spinnyThing"},
                "hiddenNote": {"type": "string", "widget": "nothing"},
                "team": {
                    "type": "object",
                    "title": "Team",
                    "required": ["lead"],
                    "properties": {
                        "lead": {"type": "string", "title": "Lead"},
                        "contact": {
                            "type": "object",
                            "title": "Contact",
                            "properties": {"email": {"type": "string", "title": "E-mail"}},
                        },
                    },
                },
                "channels": {
                    "type": "array",
                    "title": "Channels",
                    "items": {"type": "string", "enum": ["email", "chat", "phone"]},
                    "widget": "multiSelector",
                },
                "metrics": {
                    "type": "array",
                    "title": "Metrics",
                    "widget": "metricsWidget",
                    "items": {
                        "type": "object",
                        "properties": {"name": {"type": "string"}, "value": {"type": "number"}},
                    },
                },
            },
        },
        "appendix": {
            "type": "object",
            "title": "Appendix",
            "displayModelCard": False,
            "properties": {"notes": {"type": "string", "widget": "richTextInput"}},
        },
    },
}


# --- rendering the three default schemas --------------------------------------------------------


def test_the_general_schema_renders_a_page_per_top_level_property_with_typed_inputs() -> None:
    form = build_card_form(load("extended-general-v1"), {})
    assert [p.title for p in form.pages] == ["Overview", "Intended use", "Performance"]
    kinds = {path: f.kind for path, f in fields_by_path(form).items()}
    assert kinds == {
        "overview.modelSummary": TEXTAREA,
        "overview.tags": LIST,
        "overview.modelOwners": LIST,
        "intendedUse.purpose": TEXTAREA,
        "intendedUse.outOfScope": TEXTAREA,
        "intendedUse.riskLevel": SELECT,
        "performance.evaluationSummary": TEXTAREA,
        "performance.accuracy": NUMBER,
        "performance.lastEvaluated": DATE,
        "performance.biasReviewed": CHECKBOX,
    }


def test_titles_become_labels_and_descriptions_help_text() -> None:
    fields = fields_by_path(build_card_form(load("extended-general-v1"), {}))
    summary = fields["overview.modelSummary"]
    assert summary.label == "Summary"
    assert "Two or three sentences" in summary.hint
    assert summary.help_id in summary.describedby


def test_schema_required_questions_are_marked_required() -> None:
    fields = fields_by_path(build_card_form(load("extended-general-v1"), {}))
    assert fields["overview.modelSummary"].required_marker == "required"
    assert fields["overview.tags"].required_marker == ""


def test_state_requirements_are_marked_for_the_entrys_current_state() -> None:
    schema = load("extended-general-v1")
    in_development = fields_by_path(build_card_form(schema, {}, state="Development"))
    in_production = fields_by_path(build_card_form(schema, {}, state="Production"))
    assert in_development["intendedUse.purpose"].required_marker == ""
    assert in_production["intendedUse.purpose"].required_marker == "required in Production"
    assert "Required in Production." in in_development["intendedUse.purpose"].hint


def test_page_completion_counts_answered_questions() -> None:
    form = build_card_form(
        load("extended-general-v1"),
        {"performance": {"accuracy": 0.9, "biasReviewed": False, "evaluationSummary": " "}},
    )
    performance = form.pages[2]
    assert performance.completion == "2 of 4 answered"
    assert form.pages[0].completion == "0 of 3 answered"


def test_the_data_card_schema_renders_select_and_integer_inputs() -> None:
    fields = fields_by_path(build_card_form(load("extended-data-card-v1"), {}))
    assert fields["overview.sensitivity"].kind == SELECT
    assert fields["overview.recordCount"].kind == NUMBER
    assert fields["overview.recordCount"].step == "1"
    assert fields["overview.storageLocation"].kind == TEXT


def test_the_access_request_schema_renders_entities_and_a_date() -> None:
    fields = fields_by_path(build_card_form(load("extended-access-request-v1"), {}))
    assert fields["overview.entities"].kind == LIST
    assert "user:alice" in fields["overview.entities"].hint
    assert fields["overview.endDate"].kind == DATE


def test_existing_answers_fill_the_inputs() -> None:
    fields = fields_by_path(
        build_card_form(
            load("extended-general-v1"),
            {
                "overview": {"tags": ["vision", "nlp"], "modelSummary": "Hi"},
                "intendedUse": {"riskLevel": "High"},
                "performance": {"accuracy": 0.93},
            },
        )
    )
    assert fields["overview.tags"].text == "vision, nlp"
    assert fields["performance.accuracy"].text == "0.93"
    assert [c.value for c in fields["intendedUse.riskLevel"].choices if c.selected] == ["High"]


# --- unknown widgets and nested sections ----------------------------------------------------------


def test_an_unknown_widget_falls_back_to_the_plain_input_for_its_type() -> None:
    fields = fields_by_path(build_card_form(NESTED, {}))
    assert fields["about.colour"].kind == TEXT
    assert fields["about.count"].kind == NUMBER


def test_the_nothing_widget_is_not_rendered() -> None:
    assert "about.hiddenNote" not in fields_by_path(build_card_form(NESTED, {}))


def test_nested_objects_become_nested_sections_in_schema_order() -> None:
    about = build_card_form(NESTED, {}).pages[0]
    team = next(i for i in about.items if isinstance(i, CardSection))
    assert team.title == "Team" and team.depth == 1
    contact = next(i for i in team.items if isinstance(i, CardSection))
    assert contact.path == "about.team.contact" and contact.depth == 2
    assert [f.path for f in contact.fields()] == ["about.team.contact.email"]
    assert fields_by_path(build_card_form(NESTED, {}))["about.team.lead"].required


def test_arrays_with_enum_items_are_multi_selects_and_arrays_of_objects_are_json() -> None:
    fields = fields_by_path(build_card_form(NESTED, {"about": {"channels": ["chat"]}}))
    assert fields["about.channels"].kind == MULTISELECT
    assert [c.value for c in fields["about.channels"].choices if c.selected] == ["chat"]
    assert fields["about.metrics"].kind == JSON


def test_pages_with_display_model_card_false_are_left_out_of_the_card_view() -> None:
    form = build_card_form(NESTED, {})
    assert [p.title for p in form.pages] == ["About", "Appendix"]
    assert [p.title for p in form.view_pages] == ["About"]


def test_every_input_gets_a_unique_html_id() -> None:
    ids = [f.html_id for f in build_card_form(NESTED, {}).fields()]
    assert len(ids) == len(set(ids))


# --- errors beside their questions ---------------------------------------------------------------


def test_validation_errors_are_attached_to_the_question_their_path_names() -> None:
    schema = load("extended-general-v1")
    metadata = {"performance": {"accuracy": 7}}
    errors = validation_errors(schema, metadata)
    fields = fields_by_path(build_card_form(schema, metadata, errors=errors))
    accuracy = fields["performance.accuracy"]
    assert accuracy.errors == ["7 is greater than the maximum of 1"]
    assert accuracy.error_id in accuracy.describedby
    assert not fields["performance.lastEvaluated"].errors


def test_errors_on_array_items_go_to_the_array_and_unknown_paths_to_the_summary() -> None:
    form = build_card_form(
        load("extended-general-v1"),
        {},
        errors=[
            {"property": "overview.tags.1", "message": "is not a string"},
            {"property": "", "message": "card is broken"},
            {"property": "nowhere.at.all", "message": "odd"},
        ],
    )
    assert fields_by_path(form)["overview.tags"].errors == ["is not a string"]
    assert form.general_errors == ["card is broken", "nowhere.at.all: odd"]
    assert form.pages[0].has_errors and form.has_errors


# --- reading a submitted form back --------------------------------------------------------------


def test_posted_values_take_their_json_types() -> None:
    metadata = parse_card_post(
        load("extended-general-v1"),
        post(
            overview__modelSummary="  A model.\r\nTwo lines.  ",
            overview__tags="vision, , nlp ",
            intendedUse__riskLevel="Medium",
            performance__accuracy="0.93",
            performance__lastEvaluated="2026-01-31",
            performance__biasReviewed="true",
        ),
    )
    assert metadata == {
        "overview": {"modelSummary": "A model.\nTwo lines.", "tags": ["vision", "nlp"]},
        "intendedUse": {"riskLevel": "Medium"},
        "performance": {
            "accuracy": 0.93,
            "lastEvaluated": "2026-01-31",
            "biasReviewed": True,
        },
    }


def test_empty_inputs_are_omitted_and_untouched_pages_left_out() -> None:
    metadata = parse_card_post(
        load("extended-general-v1"),
        post(overview__modelSummary="", overview__tags=" ", performance__accuracy="1"),
    )
    # performance is started, but its yes/no question was left untouched: unanswered, not "no".
    assert metadata == {"performance": {"accuracy": 1}}


def test_an_untouched_yes_no_question_alone_does_not_start_a_page() -> None:
    assert parse_card_post(load("extended-general-v1"), post()) == {}
    assert parse_card_post(load("extended-general-v1"), post(performance__biasReviewed="")) == {}


def test_a_yes_no_question_answered_no_is_saved_as_false() -> None:
    metadata = parse_card_post(load("extended-general-v1"), post(performance__biasReviewed="false"))
    assert metadata == {"performance": {"biasReviewed": False}}


def test_integers_stay_integers_and_bad_numbers_are_kept_for_validation_to_name() -> None:
    schema = load("extended-data-card-v1")
    assert parse_card_post(schema, post(overview__recordCount="12"))["overview"] == {
        "recordCount": 12
    }
    assert parse_card_post(schema, post(overview__recordCount="12.0"))["overview"] == {
        "recordCount": 12
    }
    bad = parse_card_post(schema, post(overview__recordCount="lots"))
    assert bad == {"overview": {"recordCount": "lots"}}
    problems = validation_errors(schema, bad)
    assert problems[0]["property"] == "overview.recordCount"


def test_infinite_numbers_are_not_accepted_as_numbers() -> None:
    schema = load("extended-data-card-v1")
    assert parse_card_post(schema, post(overview__recordCount="inf")) == {
        "overview": {"recordCount": "inf"}
    }


def test_multi_selects_and_json_answers_are_parsed() -> None:
    metadata = parse_card_post(
        NESTED,
        post(
            about__channels=["email", "phone"],
            about__metrics='[{"name": "f1", "value": 0.8}]',
            about__team__contact__email="a@example.org",
        ),
    )
    assert metadata == {
        "about": {
            "channels": ["email", "phone"],
            "metrics": [{"name": "f1", "value": 0.8}],
            "team": {"contact": {"email": "a@example.org"}},
        }
    }


def test_invalid_json_is_kept_as_text_so_validation_reports_it() -> None:
    metadata = parse_card_post(NESTED, post(about__metrics="[oops"))
    assert metadata == {"about": {"metrics": "[oops"}}
    assert validation_errors(NESTED, metadata)[0]["property"] == "about.metrics"


def test_answers_the_form_does_not_show_are_carried_over() -> None:
    previous = {
        "about": {"hiddenNote": "keep me", "colour": "red"},
        "legacy": {"x": 1},
    }
    metadata = parse_card_post(NESTED, post(about__colour="blue"), previous=previous)
    assert metadata == {"about": {"hiddenNote": "keep me", "colour": "blue"}, "legacy": {"x": 1}}


def test_a_cleared_answer_is_removed_rather_than_saved_empty() -> None:
    previous = {"about": {"colour": "red", "count": 3}}
    metadata = parse_card_post(NESTED, post(about__count="3", about__colour=""), previous=previous)
    assert metadata == {"about": {"count": 3}}


def test_a_rendered_then_parsed_card_round_trips() -> None:
    schema = load("extended-general-v1")
    original = {
        "overview": {"modelSummary": "Hello", "modelOwners": ["user:alice"]},
        "intendedUse": {"riskLevel": "Low"},
        "performance": {"accuracy": 0.5, "biasReviewed": True, "lastEvaluated": "2026-02-01"},
    }
    data = QueryDict(mutable=True)
    for f in build_card_form(schema, original).fields():
        if f.kind == CHECKBOX:
            if f.value is True:
                data[f.name] = "true"
        elif f.kind == SELECT:
            data[f.name] = next((c.value for c in f.choices if c.selected), "")
        else:
            data[f.name] = f.text
    assert parse_card_post(schema, data) == original


# --- comparison ----------------------------------------------------------------------------------


def test_comparison_lists_every_question_and_marks_changed_rows() -> None:
    schema = load("extended-general-v1")
    groups = compare_cards(
        schema,
        {"performance": {"accuracy": 0.5}},
        schema,
        {"performance": {"accuracy": 0.75}},
    )
    rows = {r.path: r for g in groups for r in g.rows}
    assert len(rows) == 10
    assert rows["performance.accuracy"].changed
    assert (rows["performance.accuracy"].before, rows["performance.accuracy"].after) == (
        "0.5",
        "0.75",
    )
    assert not rows["overview.modelSummary"].changed
    assert sum(g.changed_count for g in groups) == 1


@pytest.mark.parametrize(
    ("value", "text"),
    [(True, "Yes"), (False, "No"), (["a", "b"], "a, b"), (3, "3"), (None, "")],
)
def test_answers_read_the_same_in_the_view_and_the_comparison(value: Any, text: str) -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"p": {"type": "object", "properties": {"q": {}}}},
    }
    form = build_card_form(schema, {"p": {"q": value}})
    assert next(form.fields()).display_text == text


def test_markdown_answers_are_rendered_and_sanitised_in_the_view() -> None:
    form = build_card_form(
        load("extended-general-v1"),
        {"overview": {"modelSummary": "**bold** <script>alert(1)</script>"}},
    )
    html = str(fields_by_path(form)["overview.modelSummary"].display_html)
    assert "<strong>bold</strong>" in html and "<script>" not in html
