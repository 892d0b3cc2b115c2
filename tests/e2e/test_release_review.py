"""In a browser: a reviewer finds a new release on the reviews page, approves it from the release
page, the owner is e-mailed that the release is approved, and the review moves to Archived."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from models_app.models import Collaborator
from models_app.policy import Actor
from reviews.models import Review
from reviews.services import review_respond
from tests.conftest import PASSWORD
from tests.releases.release_helpers import make_release, with_card

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CONTEXT_PROCESSOR = "reviews.context_processors.reviews"


@pytest.fixture
def badge(settings: Any) -> None:
    """The navigation badge's context processor (until settings register it)."""
    options = settings.TEMPLATES[0]["OPTIONS"]
    if CONTEXT_PROCESSOR not in options["context_processors"]:
        settings.TEMPLATES = [
            {
                **settings.TEMPLATES[0],
                "OPTIONS": {
                    **options,
                    "context_processors": [*options["context_processors"], CONTEXT_PROCESSOR],
                },
            }
        ]


def sign_in(page: Any, live_server: Any, username: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Marketplace").wait_for()


def test_a_reviewer_approves_a_release_from_the_reviews_page(
    page: Any,
    live_server: Any,
    badge: None,
    owner: Any,
    reviewer: Any,
    make_user: Any,
    make_entry: Any,
) -> None:
    entry = with_card(make_entry("Reviewed model"), owner)
    # The technical reviewer has already approved; the msro's approval completes the release.
    tess = make_user("tess")
    Collaborator.objects.create(model=entry, entity="user:tess", role="mtr")
    release = make_release(entry, owner, "1.0.0", notes="First release")
    review_respond(
        actor=Actor(user=tess),
        review=Review.objects.get(release=release, role="mtr"),
        decision="approve",
    )
    mail.outbox.clear()

    sign_in(page, live_server, reviewer.username)
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Reviews 1 open").click()
    page.get_by_role("heading", name="Reviews", exact=True).wait_for()
    assert (
        page.get_by_role("link", name="Your open reviews").get_attribute("aria-current") == "page"
    )
    releases = page.get_by_role("region", name="Releases")
    releases.get_by_role("link", name="Reviewed model · release 1.0.0").click()

    page.get_by_role("heading", name="Release 1.0.0").wait_for()
    form = page.get_by_role("form", name="Your review as Model Senior Responsible Officer")
    # Asking for changes without saying which is refused beside the comment field.
    form.get_by_role("button", name="Request changes").click()
    comment = page.get_by_role("textbox", name="Comment (required to request changes)")
    assert comment.get_attribute("aria-invalid") == "true"
    page.get_by_text("A comment is required when requesting changes").wait_for()
    assert not mail.outbox

    form = page.get_by_role("form", name="Your review as Model Senior Responsible Officer")
    form.get_by_role("textbox").fill("Card and files check out.")
    form.get_by_role("button", name="Approve").click()
    page.get_by_text("Your approval was recorded.").wait_for()
    page.get_by_text("Card and files check out.").wait_for()
    assert page.get_by_role("heading", name="Reviews Approved").is_visible()

    approved = [m for m in mail.outbox if m.subject.startswith("[Bailo] Approved")]
    assert [m.to for m in approved] == [[owner.email]]
    assert "release 1.0.0 of Reviewed model" in approved[0].subject

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reviews").click()
    page.get_by_text("No release is waiting for your review.").wait_for()
    page.get_by_role("link", name="Archived").click()
    archived = page.get_by_role("region", name="Releases")
    archived.get_by_role("link", name="Reviewed model · release 1.0.0").wait_for()
    assert archived.get_by_text("Approved").is_visible()
