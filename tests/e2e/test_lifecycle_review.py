"""In a browser: an owner sets the date of the model card review on the Overview (a past date
needs the confirmation box), finds it under "Model card" on the reviews page, approves it on its
review page with the next date, and the Overview then shows the last review and its history."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from reviews.models import Review, ReviewKind
from tests.e2e.test_release_review import sign_in
from tests.releases.release_helpers import with_card

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def day(offset: int) -> str:
    return (timezone.now() + timedelta(days=offset)).date().isoformat()


def test_an_owner_sets_the_review_date_and_approves_the_card(
    page: Any, live_server: Any, owner: Any, make_entry: Any
) -> None:
    entry = with_card(make_entry("Lifecycle model"), owner)
    sign_in(page, live_server, owner.username)
    page.goto(f"{live_server.url}/model/{entry.pk}")
    panel = page.get_by_role("region", name="Model card review")
    panel.get_by_label("Date of the next review").fill(day(-2))
    panel.get_by_role("button", name="Set review date").click()

    panel = page.get_by_role("region", name="Model card review")
    panel.get_by_role("alert").filter(has_text="This date is in the past").wait_for()
    assert not Review.objects.filter(model=entry, kind=ReviewKind.LIFECYCLE).exists()
    panel.get_by_label("Yes, the review is already due").check()
    panel.get_by_role("button", name="Set review date").click()

    panel = page.get_by_role("region", name="Model card review")
    panel.get_by_text("Overdue").wait_for()

    page.goto(f"{live_server.url}/reviews")
    cards = page.get_by_role("region", name="Model card")
    cards.get_by_role("link", name="Lifecycle model · model card review").click()

    page.get_by_role("heading", name="Model card review").wait_for()
    page.get_by_role("heading", name="Model card", exact=True).wait_for()
    page.get_by_label("Comment (optional)").fill("Card still describes the model")
    page.get_by_label("Date of the next review").fill(day(90))
    page.get_by_role("button", name="Approve").click()

    panel = page.get_by_role("region", name="Model card review")
    panel.get_by_text("Due in 90 days").wait_for()
    assert "Last reviewed by" in panel.inner_text() and "owen" in panel.inner_text()
    panel.get_by_text("Review history (1)").click()
    assert "Card still describes the model" in panel.inner_text()
    reviews = list(Review.objects.filter(model=entry, kind=ReviewKind.LIFECYCLE).order_by("pk"))
    assert [r.completed_at is not None for r in reviews] == [True, False]
