"""The lifecycle review pages without JavaScript: the Overview's "Model card review" panel and
its date form (a past date needs confirming), the review page with Approve, and the "Model card"
group of the reviews page. Who sees the forms, and what a refused form gets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from models_app.models import Model
from models_app.policy import Actor
from reviews.lifecycle.services import lifecycle_review_create
from reviews.models import Response, Review, ReviewKind

pytestmark = pytest.mark.django_db


def day(offset: int) -> str:
    return (timezone.now() + timedelta(days=offset)).date().isoformat()


def overview(client: Any, model: Model) -> str:
    page = client.get(f"/model/{model.pk}")
    assert page.status_code == 200
    return page.content.decode()


def lifecycle_count(model: Model) -> int:
    return Review.objects.filter(model=model, kind=ReviewKind.LIFECYCLE).count()


def test_owners_and_administrators_see_the_panel_others_do_not(
    entry: Model, personas: dict[str, Any], client_for: Any
) -> None:
    for persona in ("owner", "site_admin"):
        html = overview(client_for(personas[persona]), entry)
        assert "Model card review" in html and 'name="dueDate"' in html, persona
    for persona in ("contributor", "consumer", "reviewer"):
        assert "Model card review" not in overview(client_for(personas[persona]), entry), persona


def test_an_owner_sets_a_date_and_the_panel_shows_it_with_a_review_button(
    entry: Model, owner: Any, client_for: Any
) -> None:
    client = client_for(owner)
    response = client.post(f"/model/{entry.pk}/lifecycle", {"dueDate": day(20)})
    assert response.status_code == 302 and response["Location"].endswith("#lifecycle")
    [review] = Review.objects.filter(model=entry, kind=ReviewKind.LIFECYCLE)
    html = overview(client, entry)
    assert "Next review due" in html and "Due in 20 days" in html
    assert f'href="/model/{entry.pk}/lifecycle/{review.pk}/review"' in html
    assert 'name="dueDate"' not in html  # one open review at a time: no second date form


def test_a_past_date_asks_for_confirmation_first(entry: Model, owner: Any, client_for: Any) -> None:
    client = client_for(owner)
    asked = client.post(f"/model/{entry.pk}/lifecycle", {"dueDate": day(-3)})
    assert asked.status_code == 400
    html = asked.content.decode()
    assert "This date is in the past" in html and 'name="confirm"' in html
    assert f'value="{day(-3)}"' in html
    assert lifecycle_count(entry) == 0
    confirmed = client.post(f"/model/{entry.pk}/lifecycle", {"dueDate": day(-3), "confirm": "yes"})
    assert confirmed.status_code == 302
    assert lifecycle_count(entry) == 1
    assert "Overdue" in overview(client, entry)


@pytest.mark.parametrize(
    ("value", "words"),
    [("", "dueDate is required"), ("31/01/2027", "must be a date"), (day(800), "further than")],
)
def test_a_bad_date_comes_back_beside_the_form(
    entry: Model, owner: Any, client_for: Any, value: str, words: str
) -> None:
    response = client_for(owner).post(f"/model/{entry.pk}/lifecycle", {"dueDate": value})
    assert response.status_code == 400
    assert words in response.content.decode()
    assert lifecycle_count(entry) == 0


def test_a_contributor_may_not_set_the_date(
    entry: Model, contributor: Any, outsider: Any, client_for: Any
) -> None:
    assert (
        client_for(contributor)
        .post(f"/model/{entry.pk}/lifecycle", {"dueDate": day(9)})
        .status_code
        == 403
    )
    assert (
        client_for(outsider).post(f"/model/{entry.pk}/lifecycle", {"dueDate": day(9)}).status_code
        == 404
    )
    assert lifecycle_count(entry) == 0


@pytest.fixture
def open_review(entry: Model, owner: Any) -> Review:
    return lifecycle_review_create(actor=Actor(user=owner), model=entry, due_date=day(7))


def review_url(review: Review) -> str:
    return f"/model/{review.model_id}/lifecycle/{review.pk}/review"


def test_the_review_page_shows_the_card_and_approving_sets_the_next_date(
    open_review: Review, entry: Model, owner: Any, client_for: Any
) -> None:
    client = client_for(owner)
    page = client.get(review_url(open_review))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Model card review" in html and 'value="approve"' in html
    assert 'name="comment"' in html and 'name="dueDate"' in html
    done = client.post(
        review_url(open_review), {"decision": "approve", "comment": "Checked", "dueDate": day(120)}
    )
    assert done.status_code == 302
    html = overview(client, entry)
    assert 'Last reviewed by <span class="person" title="user:owen">' in html
    assert "Checked" in html
    assert "Review history (1)" in html and "Due in 120 days" in html


def test_a_refused_approval_comes_back_with_its_message_and_saves_nothing(
    open_review: Review, owner: Any, client_for: Any
) -> None:
    response = client_for(owner).post(
        review_url(open_review), {"decision": "approve", "comment": "Kept", "dueDate": day(-1)}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "must be in the future" in html and "Kept</textarea>" in html
    assert not Response.objects.filter(review=open_review).exists()


def test_only_owners_get_the_approve_form(
    open_review: Review, personas: dict[str, Any], client_for: Any
) -> None:
    for persona in ("contributor", "site_admin"):
        page = client_for(personas[persona]).get(review_url(open_review))
        assert page.status_code == 200
        assert 'value="approve"' not in page.content.decode()
        refused = client_for(personas[persona]).post(
            review_url(open_review), {"decision": "approve", "dueDate": day(30)}
        )
        assert refused.status_code == 403
    assert client_for(personas["outsider"]).get(review_url(open_review)).status_code == 404
    assert not Response.objects.filter(review=open_review).exists()


def test_the_reviews_page_lists_it_under_model_card(
    open_review: Review, owner: Any, contributor: Any, client_for: Any
) -> None:
    html = client_for(owner).get("/reviews").content.decode()
    cards = html.split('id="card-reviews-heading"')[1]
    assert f'href="{review_url(open_review)}"' in cards and "due" in cards
    assert review_url(open_review) not in client_for(contributor).get("/reviews").content.decode()


def test_the_badge_counts_a_lifecycle_review_from_two_weeks_before_it_is_due(
    entry: Model, owner: Any, client_for: Any
) -> None:
    from reviews.selectors import open_review_count

    review = lifecycle_review_create(actor=Actor(user=owner), model=entry, due_date=day(100))
    assert open_review_count(owner) == 0
    Review.objects.filter(pk=review.pk).update(due_date=timezone.now() + timedelta(days=13))
    assert open_review_count(owner) == 1
    Review.objects.filter(pk=review.pk).update(due_date=timezone.now() - timedelta(days=3))
    assert open_review_count(owner) == 1


def test_the_ui_config_gives_the_maximum_interval(owner: Any, client_for: Any) -> None:
    config = client_for(owner).get("/api/v2/config/ui").json()["uiConfig"]
    assert config["lifecycle"] == {"maxReviewInterval": "365 days"}


def test_today_needs_no_confirmation(entry: Model, owner: Any, client_for: Any) -> None:
    response = client_for(owner).post(f"/model/{entry.pk}/lifecycle", {"dueDate": day(0)})
    assert response.status_code == 302
    assert lifecycle_count(entry) == 1


def test_the_overview_queries_do_not_grow_with_the_review_history(
    entry: Model, owner: Any, client_for: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reviews.lifecycle.services import lifecycle_review_respond

    client = client_for(owner)
    review = lifecycle_review_create(actor=Actor(user=owner), model=entry, due_date=day(5))

    def answer_and_count() -> int:
        nonlocal review
        lifecycle_review_respond(
            actor=Actor(user=owner), review=review, decision="approve", due_date=day(9)
        )
        review = Review.objects.get(model=entry, kind=ReviewKind.LIFECYCLE, completed_at=None)
        with CaptureQueriesContext(connection) as queries:
            overview(client, entry)
        return len(queries)

    once = answer_and_count()
    answer_and_count()
    assert answer_and_count() == once
