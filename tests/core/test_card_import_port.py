"""The offline card-import extractor (``core.ports.card_import.HeadingExtractor``): which text
answers which question. No database, no network."""

from __future__ import annotations

from core.ports.card_import import HeadingExtractor, Question, normalise

QUESTIONS = [
    Question(path="overview.summary", title="Model summary", type="string"),
    Question(path="overview.intendedUse", title="Intended use", type="string"),
    Question(path="overview.licence", title="Licence", type="string"),
    Question(path="data.trainingData", title="", type="string"),
]


def extract(text: str) -> dict[str, object]:
    return HeadingExtractor().extract(text, QUESTIONS)


def test_labels_are_compared_as_words() -> None:
    assert normalise("  **Model  Summary**: ") == "model summary"
    assert normalise("trainingData") == "training data"
    assert normalise("Intended-use") == "intended use"


def test_atx_and_setext_headings_take_the_text_up_to_the_next_heading() -> None:
    text = (
        "# Cat finder\n\nIntro that answers nothing.\n\n"
        "## Model Summary ##\nFinds cats.\n\nIn pictures.\n\n"
        "Intended use\n------------\nSorting holiday photos.\n"
        "## Unrelated\nIgnored.\n"
    )
    assert extract(text) == {
        "overview.summary": "Finds cats.\n\nIn pictures.",
        "overview.intendedUse": "Sorting holiday photos.",
    }


def test_labelled_lines_bullets_and_emphasis_and_keys_as_words() -> None:
    text = "- **Licence**: MIT\n* Training data: ImageNet\nColour: blue\n"
    assert extract(text) == {"overview.licence": "MIT", "data.trainingData": "ImageNet"}


def test_an_empty_label_takes_the_lines_below_it_up_to_a_blank_line() -> None:
    text = "Intended use:\nSorting photos\nof cats.\n\nNot part of it.\n"
    assert extract(text) == {"overview.intendedUse": "Sorting photos\nof cats."}


def test_the_first_answer_to_a_question_wins_and_empty_sections_answer_nothing() -> None:
    text = "Licence: MIT\nLicence: GPL\n## Model summary\n\n## Intended use\nPhotos\n"
    assert extract(text) == {"overview.licence": "MIT", "overview.intendedUse": "Photos"}


def test_windows_line_endings_are_read() -> None:
    assert extract("## Licence\r\nMIT\r\n") == {"overview.licence": "MIT"}
