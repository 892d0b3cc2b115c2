"""The reviews page, the navigation badge and the review panel of a release page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail

from reviews.models import Response, Review
from tests.reviews.conftest import publish

pytestmark = pytest.mark.django_db


def panel_post(client: Any, release: Any, role: str, **data: Any) -> Any:
    review = Review.objects.get(release=release, role=role)
    return client.post(f"/model/{release.model_id}/review/{review.pk}/respond", data)


def release_url(release: Any) -> str:
    return f"/model/{release.model_id}/release/{release.semver}"


# --- /reviews -----------------------------------------------------------------------------------


def test_the_reviews_page_lists_my_open_release_review_linking_to_the_release(
    release: Any, reviewer: Any, client_for: Any
) -> None:
    page = client_for(reviewer).get("/reviews")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Your open reviews" in html and "Archived" in html
    releases = html.split('id="release-reviews-heading"')[1].split('id="access-reviews-heading"')[0]
    assert f'href="{release_url(release)}"' in releases
    assert "Model Senior Responsible Officer" in releases
    assert "No access request is waiting for your review." in html


def test_a_review_moves_to_archived_once_i_respond(
    release: Any, reviewer: Any, client_for: Any
) -> None:
    client = client_for(reviewer)
    panel_post(client, release, "msro", decision="approve")
    assert release_url(release) not in client.get("/reviews").content.decode()
    archived = client.get("/reviews?tab=archived").content.decode()
    assert f'href="{release_url(release)}"' in archived and "Approved" in archived


def test_people_without_the_role_see_no_reviews_and_anonymous_visitors_sign_in(
    release: Any, owner: Any, outsider: Any, client_for: Any
) -> None:
    for user in (owner, outsider):
        html = client_for(user).get("/reviews").content.decode()
        assert release_url(release) not in html
    anonymous = client_for(None).get("/reviews")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


def test_the_navigation_shows_a_badge_with_my_open_review_count(
    badge: None,
    carded: Any,
    owner: Any,
    reviewer: Any,
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    for semver in ("1.0.0", "2.0.0"):
        publish(carded, owner, semver, django_capture_on_commit_callbacks)
    nav = client_for(reviewer).get("/reviews").content.decode().split("</nav>")[0]
    assert re.search(r'href="/reviews"[^>]*>Reviews <span class="chip"[^>]*>2<', nav)
    owner_nav = client_for(owner).get("/reviews").content.decode().split("</nav>")[0]
    assert 'href="/reviews"' in owner_nav and 'title="Open reviews"' not in owner_nav


def test_the_reviews_page_query_count_does_not_grow_with_reviews(
    badge: None,
    carded: Any,
    owner: Any,
    reviewer: Any,
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
    django_assert_max_num_queries: Any,
) -> None:
    client = client_for(reviewer)
    publish(carded, owner, "1.0.0", django_capture_on_commit_callbacks)
    with django_assert_max_num_queries(30) as few:
        client.get("/reviews")
    for n in range(1, 6):
        publish(carded, owner, f"1.{n}.0", django_capture_on_commit_callbacks)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get("/reviews").content.decode().count("release 1.") == 6


# --- the review panel on the release page -------------------------------------------------------


def test_the_release_page_shows_each_roles_state_and_a_form_only_for_holders(
    release: Any, reviewer: Any, consumer: Any, client_for: Any
) -> None:
    html = client_for(reviewer).get(release_url(release)).content.decode()
    assert "Model Senior Responsible Officer" in html and "Model Technical Reviewer" in html
    assert html.count("Awaiting review") >= 2
    assert "Your review as Model Senior Responsible Officer" in html
    assert "Your review as Model Technical Reviewer" not in html
    assert 'value="approve"' in html and 'value="request_changes"' in html
    consumer_html = client_for(consumer).get(release_url(release)).content.decode()
    assert 'value="approve"' not in consumer_html
    assert "Add a comment" in consumer_html


def test_a_holder_approves_from_the_panel_and_comes_back_to_the_release(
    release: Any, reviewer: Any, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        response = panel_post(
            client, release, "msro", decision="approve", comment="Fine", next=release_url(release)
        )
    assert response.status_code == 302 and response["Location"] == release_url(release)
    html = client.get(release_url(release)).content.decode()
    assert "Your approval was recorded." in html
    assert "rita" in html and "Approved as Model Senior Responsible Officer" in html
    assert 'value="undo"' in html
    assert any("rita approved release 1.0.0" in m.subject for m in mail.outbox)


def test_requesting_changes_without_a_comment_shows_the_error_beside_the_field(
    release: Any, reviewer: Any, client_for: Any
) -> None:
    response = panel_post(client_for(reviewer), release, "msro", decision="request_changes")
    assert response.status_code == 400
    html = response.content.decode()
    pk = Review.objects.get(release=release, role="msro").pk
    assert f'id="respond-{pk}-error"' in html and "A comment is required" in html
    assert 'aria-invalid="true"' in html
    assert f"respond-{pk}-help respond-{pk}-error" in html
    assert not Response.objects.exists()


def test_bad_panel_posts_get_their_status_and_store_nothing(
    release: Any, reviewer: Any, consumer: Any, outsider: Any, client_for: Any
) -> None:
    assert panel_post(client_for(reviewer), release, "msro", decision="maybe").status_code == 400
    refused = panel_post(client_for(consumer), release, "msro", decision="approve")
    assert refused.status_code == 403
    hidden = panel_post(client_for(outsider), release, "msro", decision="approve")
    assert hidden.status_code == 404
    unknown = client_for(reviewer).post(
        f"/model/{release.model_id}/review/999999/respond", {"decision": "approve"}
    )
    assert unknown.status_code == 404
    assert (
        client_for(reviewer).get(f"/model/{release.model_id}/review/1/respond").status_code == 405
    )
    assert not Response.objects.exists()


def test_the_panel_never_redirects_off_site(release: Any, reviewer: Any, client_for: Any) -> None:
    response = panel_post(
        client_for(reviewer), release, "msro", decision="approve", next="https://evil.example/"
    )
    assert response["Location"] == release_url(release)


def test_anyone_who_can_view_comments_and_an_empty_comment_is_refused(
    release: Any, consumer: Any, outsider: Any, client_for: Any
) -> None:
    path = f"{release_url(release)}/comment"
    ok = client_for(consumer).post(path, {"comment": "Which dataset?"})
    assert ok.status_code == 302
    html = client_for(consumer).get(release_url(release)).content.decode()
    assert "Which dataset?" in html and "cody" in html
    empty = client_for(consumer).post(path, {"comment": "  "})
    assert empty.status_code == 400
    assert 'id="panel-comment-error"' in empty.content.decode()
    assert client_for(outsider).post(path, {"comment": "hi"}).status_code == 404
    assert Response.objects.count() == 1


def test_the_release_review_page_shows_the_panel_alone(
    release: Any, reviewer: Any, outsider: Any, client_for: Any
) -> None:
    page = client_for(reviewer).get(f"{release_url(release)}/review")
    assert page.status_code == 200
    assert "Reviews of release 1.0.0" in page.content.decode()
    assert client_for(outsider).get(f"{release_url(release)}/review").status_code == 404


def test_a_minor_release_needs_no_review(
    carded: Any, owner: Any, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    minor = publish(carded, owner, "1.0.1", django_capture_on_commit_callbacks, minor=True)
    assert "No review is needed." in client_for(owner).get(release_url(minor)).content.decode()


# --- access request reviews ---------------------------------------------------------------------


@pytest.fixture
def access_request(entry: Any, consumer: Any, django_capture_on_commit_callbacks: Any) -> Any:
    from access.access_requests.services import reviews_open_for_access_request
    from access.models import AccessRequest

    request = AccessRequest.objects.create(
        id="team-access",
        model=entry,
        schema_id="minimal-access-request-general-v10",
        metadata={"overview": {"name": "Team access", "entities": ["user:cody"]}},
        created_by=consumer,
    )
    with django_capture_on_commit_callbacks(execute=True):
        reviews_open_for_access_request(request)
    return request


def test_access_request_reviews_are_listed_and_link_to_the_request(
    access_request: Any, reviewer: Any, client_for: Any
) -> None:
    html = client_for(reviewer).get("/reviews").content.decode()
    section = html.split('id="access-reviews-heading"')[1]
    assert f'href="/model/{access_request.model_id}/access-request/team-access"' in section
    assert "access request Team access" in section
    assert any("Review requested" in m.subject and reviewer.email in m.to for m in mail.outbox)


def test_a_holder_responds_to_an_access_request_and_its_author_is_told(
    access_request: Any,
    reviewer: Any,
    consumer: Any,
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    review = Review.objects.get(access_request=access_request)
    path = f"/model/{access_request.model_id}/review/{review.pk}/respond"
    client = client_for(reviewer)
    refused = client.post(path, {"decision": "request_changes"})
    assert refused.status_code == 400
    assert "Reviews of access request Team access" in refused.content.decode()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(path, {"decision": "request_changes", "comment": "Shorter end date"})
    assert done.status_code == 302
    assert done["Location"] == f"/model/{access_request.model_id}/access-request/team-access"
    told = [m for m in mail.outbox if consumer.email in m.to]
    assert len(told) == 1 and "Shorter end date" in told[0].body
    archived = client.get("/reviews?tab=archived").content.decode()
    assert "access request Team access" in archived and "Changes requested" in archived
