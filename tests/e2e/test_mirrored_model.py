"""In a browser: create a mirrored model, correct its source before the first import, then add
additional information to the imported card and see it beside the source's answers."""

from __future__ import annotations

from typing import Any

import pytest

from models_app.models import Model, ModelCardRevision
from tests.e2e.test_accessibility import AXE, RUN
from tests.e2e.test_model_card import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_create_a_mirrored_model_and_add_information_to_its_imported_card(
    page: Any, live_server: Any, make_user: Any, settings: Any
) -> None:
    settings.MIRROR_IMPORT_ENABLED = True
    make_user("alice")
    base = live_server.url
    sign_in(page, base, "alice")

    # Create it: the Source Model ID is required for a mirrored model.
    page.goto(f"{base}/entry/new")
    page.get_by_label("Mirrored model", exact=True).check()
    page.get_by_label("Name").fill("Fraud scorer mirror")
    page.get_by_label("Description").fill("The fraud scorer from the other network.")
    page.get_by_role("button", name="Create").click()
    page.get_by_text("A mirrored model needs the ID of its source model.").wait_for()
    page.get_by_label("Source Model ID").fill("fraud-scorer-wrong1")
    page.get_by_role("button", name="Create").click()
    page.get_by_role("heading", name="Fraud scorer mirror").wait_for()
    model = Model.objects.get(name="Fraud scorer mirror")

    # Before the first import: the banner, the warning, and the source can be corrected.
    page.get_by_text("This is a mirrored model").wait_for()
    page.get_by_text("There is no model card yet.").wait_for()
    page.get_by_role("link", name="Change the source model ID").click()
    page.get_by_label("Source Model ID").fill("fraud-scorer-abc123")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("The source model ID was saved.").wait_for()
    assert page.locator("#mirror-source-id").inner_text() == "fraud-scorer-abc123"

    # The first import arrives (written as the import writes it).
    ModelCardRevision.objects.create(
        model=model,
        schema_id="minimal-general-v10",
        version=1,
        metadata={"overview": {"modelSummary": "Scores card payments for fraud."}},
        mirrored=True,
    )
    page.reload()
    page.get_by_text("it can no longer be changed").wait_for()
    assert page.get_by_role("link", name="Change the source model ID").count() == 0
    assert page.get_by_role("link", name="Edit card").count() == 0

    # Add additional information: the source's answer is shown beside the input.
    page.get_by_role("link", name="Add additional information").click()
    page.get_by_role("heading", name="Add additional information").wait_for()
    assert page.get_by_text("Scores card payments for fraud.").count() == 1
    page.get_by_label("Summary").fill("Approved for the payments network in 2025.")
    page.get_by_role("button", name="Save additional information").click()
    page.get_by_text("Additional information saved as version 1.").wait_for()

    # The overview shows both, each under its heading.
    card = page.locator(".card-a-mirrored").first
    assert card.locator(".card-a-heading").all_inner_texts() == [
        "Original answer",
        "Additional information",
    ]
    assert card.locator(".card-a-original").inner_text() == "Scores card payments for fraud."
    assert (
        card.locator(".card-a-additional").inner_text()
        == "Approved for the payments network in 2025."
    )
    local = ModelCardRevision.objects.get(model=model, mirrored=False)
    assert local.metadata == {
        "overview": {"modelSummary": "Approved for the payments network in 2025."}
    }

    # Both pages pass axe-core with no serious or critical violation.
    found = []
    for path in (f"/model/{model.pk}", f"/model/{model.pk}/card/edit"):
        page.goto(base + path)
        page.evaluate(AXE)
        found += [f"{path}: {violation}" for violation in page.evaluate(RUN)]
    assert not found, "\n".join(found)
