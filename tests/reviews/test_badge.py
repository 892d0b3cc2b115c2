"""The navigation's Reviews badge is kept in the cache (reviews/badge.py): every write that changes
what waits for someone shows in the badge on their next page, and each person's count is theirs.

The counts are kept for an hour here, so only the writes may change what a page shows."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from access.access_requests.services import access_request_delete
from deletion.artefacts import release_delete
from deletion.services import deletion_restore, model_delete
from models_app.models import Model
from models_app.policy import Actor
from models_app.services import model_update
from reviews.badge import open_review_badge
from reviews.lifecycle.services import lifecycle_review_create, lifecycle_review_respond
from reviews.models import Review, ReviewRole
from reviews.roles.services import review_role_delete
from reviews.selectors import open_review_count
from reviews.services import review_respond
from tests.access.access_request_helpers import ask
from tests.reviews.conftest import publish

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _kept_for_an_hour(settings: Any) -> None:
    settings.REVIEW_BADGE_CACHE_SECONDS = 3600


def on_page(client: Any) -> int:
    """The number in the navigation's Reviews badge of the marketplace page (0: no badge)."""
    nav = client.get("/").content.decode().split("</nav>")[0]
    found = re.search(r'href="/reviews"[^>]*>Reviews <span class="chip"[^>]*>(\d+)<', nav)
    return int(found.group(1)) if found else 0


def badge(user: Any) -> int:
    """The badge, read twice: the second read is the kept count, which must agree."""
    first = open_review_badge(user)
    assert open_review_badge(user) == first == open_review_count(user)
    return first


def test_a_review_opened_and_answered_shows_on_the_next_page(
    carded: Model,
    owner: Any,
    reviewer: Any,
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = client_for(reviewer)
    assert on_page(client) == 0
    assert on_page(client) == 0  # kept
    release = publish(carded, owner, "1.0.0", django_capture_on_commit_callbacks)
    assert on_page(client) == 1
    publish(carded, owner, "2.0.0", django_capture_on_commit_callbacks)
    assert on_page(client) == 2
    review = Review.objects.get(release=release, role="msro")
    review_respond(actor=Actor(user=reviewer), review=review, decision="approve")
    assert on_page(client) == 1


def test_a_role_given_and_taken_shows_on_the_next_page(
    carded: Model,
    owner: Any,
    reviewer: Any,
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    publish(carded, owner, "1.0.0", django_capture_on_commit_callbacks)
    client = client_for(reviewer)
    assert on_page(client) == 1
    everyone = [
        {"entity": entity, "roles": roles}
        for entity, roles in [
            (f"user:{owner.username}", ["owner"]),
            (f"user:{reviewer.username}", ["msro"]),
        ]
    ]
    taken = [c for c in everyone if c["entity"] != f"user:{reviewer.username}"]
    model_update(actor=Actor(user=owner), model=carded, changes={"collaborators": taken})
    assert on_page(client) == 0
    model_update(actor=Actor(user=owner), model=carded, changes={"collaborators": everyone})
    assert on_page(client) == 1


def test_a_review_role_deleted_takes_its_reviews_out_of_the_badge(
    release: Any, reviewer: Any, site_admin: Any
) -> None:
    assert badge(reviewer) == 1
    review_role_delete(actor=Actor(user=site_admin), role=ReviewRole.objects.get(short_name="msro"))
    assert badge(reviewer) == 0


def test_an_entry_deleted_and_restored_takes_its_reviews_out_and_back(
    release: Any, owner: Any, reviewer: Any, site_admin: Any
) -> None:
    assert badge(reviewer) == 1
    deletion = model_delete(actor=Actor(user=owner), model_id=release.model_id, confirm=False)
    assert badge(reviewer) == 0
    deletion_restore(actor=Actor(user=site_admin), deletion_id=deletion.pk)
    assert badge(reviewer) == 1


def test_a_release_deleted_and_restored_takes_its_reviews_out_and_back(
    release: Any, owner: Any, reviewer: Any, site_admin: Any
) -> None:
    assert badge(reviewer) == 1
    deletion = release_delete(
        actor=Actor(user=owner), model_id=release.model_id, semver=release.semver
    )
    assert badge(reviewer) == 0
    deletion_restore(actor=Actor(user=site_admin), deletion_id=deletion.pk)
    assert badge(reviewer) == 1


def test_an_access_request_asked_and_withdrawn_shows_in_the_reviewers_badge(
    entry: Model, consumer: Any, reviewer: Any
) -> None:
    assert badge(reviewer) == 0
    access_request = ask(consumer, entry)
    assert badge(reviewer) == 1
    access_request_delete(actor=Actor(user=consumer), access_request=access_request)
    assert badge(reviewer) == 0


def test_a_lifecycle_review_due_soon_opened_and_answered_shows_in_the_owners_badge(
    entry: Model, owner: Any, client_for: Any
) -> None:
    client = client_for(owner)
    assert on_page(client) == 0
    soon = (timezone.now() + timedelta(days=3)).date().isoformat()
    review = lifecycle_review_create(actor=Actor(user=owner), model=entry, due_date=soon)
    assert on_page(client) == 1
    later = (timezone.now() + timedelta(days=100)).date().isoformat()
    lifecycle_review_respond(
        actor=Actor(user=owner), review=review, decision="approve", due_date=later
    )
    assert on_page(client) == 0  # the next one is due in 100 days: not waiting yet


def test_a_lifecycle_review_enters_the_badge_when_it_comes_due_whatever_is_kept(
    entry: Model, owner: Any
) -> None:
    review = lifecycle_review_create(
        actor=Actor(user=owner),
        model=entry,
        due_date=(timezone.now() + timedelta(days=100)).date().isoformat(),
    )
    # Due 14 days and a moment from now: it enters the badge in that moment, with no write.
    Review.objects.filter(pk=review.pk).update(
        due_date=timezone.now() + timedelta(days=14, seconds=3)
    )
    assert open_review_badge(owner) == 0
    assert open_review_badge(owner) == 0
    time.sleep(3.2)
    assert open_review_badge(owner) == 1


def test_each_person_reads_their_own_count(
    release: Any, owner: Any, reviewer: Any, client_for: Any
) -> None:
    assert (on_page(client_for(reviewer)), on_page(client_for(owner))) == (1, 0)
    assert (on_page(client_for(owner)), on_page(client_for(reviewer))) == (0, 1)


def test_the_badge_is_counted_while_the_cache_cannot_be_reached(
    release: Any, reviewer: Any, client_for: Any, settings: Any
) -> None:
    client = client_for(reviewer)  # signing in clears failed-attempt counters in the cache
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
        }
    }
    assert on_page(client) == 1


def test_a_cache_off_setting_counts_on_every_page(
    release: Any, reviewer: Any, settings: Any
) -> None:
    settings.REVIEW_BADGE_CACHE_SECONDS = 0
    assert open_review_badge(reviewer) == 1
    Review.objects.update(deleted_at=timezone.now())  # a write that renews nothing
    assert open_review_badge(reviewer) == 0
