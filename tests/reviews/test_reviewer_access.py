"""Reviewers read what they review: holders of a review role download the files of the releases
that role is asked to review (and nothing else); the page tells them it needs their review; and
owners hear about reviews owed to roles nobody on the entry holds."""

from __future__ import annotations

from typing import Any

import pytest

from models_app.models import Collaborator
from models_app.policy import Action, Actor, Subject, allowed
from releases.models import File
from reviews.models import Review
from tests.conftest import basic
from tests.releases.files_support import api, simple_upload
from tests.reviews.conftest import publish

pytestmark = pytest.mark.django_db

DATA = b"weights for the reviewer to read"


def upload(client: Any, model_id: str, name: str) -> File:
    response = simple_upload(client, model_id, DATA, name=name)
    assert response.status_code == 200, response.content
    return File.objects.get(pk=response.json()["file"]["id"])


@pytest.fixture
def reviewed(
    carded: Any, owner: Any, client_for: Any, django_capture_on_commit_callbacks: Any
) -> dict[str, Any]:
    """Release 1.0.0 (published, reviews open for msro and mtr) with reviewed.bin, a draft 2.0.0
    with draft.bin, and loose.bin in no release."""
    client = client_for(owner)
    shipped = upload(client, carded.pk, "reviewed.bin")
    drafted = upload(client, carded.pk, "draft.bin")
    loose = upload(client, carded.pk, "loose.bin")
    release = publish(
        carded, owner, "1.0.0", django_capture_on_commit_callbacks, file_ids=[shipped.pk]
    )
    draft = publish(
        carded,
        owner,
        "2.0.0",
        django_capture_on_commit_callbacks,
        file_ids=[drafted.pk],
        draft=True,
    )
    return {
        "model": carded,
        "release": release,
        "draft": draft,
        "shipped": shipped,
        "drafted": drafted,
        "loose": loose,
    }


def download(client: Any, file: File) -> Any:
    return client.get(api(f"/model/{file.model_id}/file/{file.pk}/download"))


def test_a_reviewer_downloads_the_files_of_a_release_their_role_reviews(
    reviewed: dict[str, Any], reviewer: Any, client_for: Any
) -> None:
    response = download(client_for(reviewer), reviewed["shipped"])
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == DATA
    by_name = client_for(reviewer).get(
        api(f"/model/{reviewed['model'].pk}/release/1.0.0/file/reviewed.bin/download")
    )
    assert by_name.status_code == 200


def test_a_reviewer_cannot_download_files_outside_the_releases_they_review(
    reviewed: dict[str, Any], reviewer: Any, client_for: Any
) -> None:
    client = client_for(reviewer)
    for name in ("loose", "drafted"):
        refused = download(client, reviewed[name])
        assert refused.status_code == 403, name
        assert "approved access request" in refused.json()["error"]["message"]


def test_a_non_reviewer_is_still_refused_the_reviewed_files(
    reviewed: dict[str, Any], consumer: Any, outsider: Any, client_for: Any
) -> None:
    assert download(client_for(consumer), reviewed["shipped"]).status_code == 403
    # Not on the private entry at all: it does not exist for them.
    assert download(client_for(outsider), reviewed["shipped"]).status_code == 404


def test_a_review_role_on_another_entry_grants_nothing_here(
    reviewed: dict[str, Any], make_entry: Any, consumer: Any, client_for: Any
) -> None:
    other = make_entry("Another model")
    Collaborator.objects.create(model=other, entity=f"user:{consumer.username}", role="mtr")
    assert download(client_for(consumer), reviewed["shipped"]).status_code == 403


def test_a_reviewer_token_needs_file_read(
    reviewed: dict[str, Any], reviewer: Any, client_for: Any, make_token: Any
) -> None:
    tok_without, secret_without = make_token(reviewer, actions=["model:read"])
    tok_with, secret_with = make_token(reviewer, actions=["file:read"])
    anonymous = client_for(None)
    url = api(f"/model/{reviewed['model'].pk}/file/{reviewed['shipped'].pk}/download")
    refused = anonymous.get(url, **basic(tok_without.access_key, secret_without))
    assert refused.status_code == 403
    ok = anonymous.get(url, **basic(tok_with.access_key, secret_with))
    assert ok.status_code == 200


def test_the_policy_grants_reviewers_only_with_a_subject(
    reviewed: dict[str, Any], reviewer: Any, consumer: Any
) -> None:
    model, release = reviewed["model"], reviewed["release"]
    me = Actor(user=reviewer)
    assert not allowed(me, Action.FILE_DOWNLOAD, model)
    assert allowed(me, Action.FILE_DOWNLOAD, model, Subject(release=release.pk))
    assert allowed(me, Action.FILE_DOWNLOAD, model, Subject(file=reviewed["shipped"].pk))
    assert not allowed(me, Action.IMAGE_PULL, model, Subject(release=release.pk))
    other = Actor(user=consumer)
    assert not allowed(other, Action.FILE_DOWNLOAD, model, Subject(release=release.pk))


def test_the_release_page_offers_the_reviewer_downloads_and_says_it_needs_their_review(
    reviewed: dict[str, Any], reviewer: Any, consumer: Any, client_for: Any
) -> None:
    release = reviewed["release"]
    url = f"/model/{release.model_id}/release/{release.semver}"
    html = client_for(reviewer).get(url).content.decode()
    assert "This needs your review" in html
    review = Review.objects.get(release=release, role="msro")
    assert f'href="#respond-{review.pk}-heading"' in html
    assert "/file/reviewed.bin/download" in html
    other = client_for(consumer).get(url).content.decode()
    assert "This needs your review" not in other and "/file/reviewed.bin/download" not in other


def test_the_banner_goes_once_the_reviewer_has_decided(
    reviewed: dict[str, Any], reviewer: Any, client_for: Any
) -> None:
    release = reviewed["release"]
    client = client_for(reviewer)
    review = Review.objects.get(release=release, role="msro")
    client.post(f"/model/{release.model_id}/review/{review.pk}/respond", {"decision": "approve"})
    html = client.get(f"/model/{release.model_id}/release/{release.semver}").content.decode()
    assert "This needs your review" not in html


def test_owners_are_warned_about_a_review_role_nobody_holds(
    reviewed: dict[str, Any], owner: Any, contributor: Any, client_for: Any
) -> None:
    release = reviewed["release"]
    url = f"/model/{release.model_id}/release/{release.semver}"
    html = client_for(owner).get(url).content.decode()
    assert "Nobody on this model holds the review role" in html and "mtr" in html
    assert "Nobody on this model holds" not in client_for(contributor).get(url).content.decode()
    Collaborator.objects.create(model=reviewed["model"], entity="user:someone", role="mtr")
    assert "Nobody on this model holds" not in client_for(owner).get(url).content.decode()


def test_creating_a_release_owed_to_an_unheld_role_warns_its_creator(
    carded: Any, owner: Any, client_for: Any
) -> None:
    client = client_for(owner)
    response = client.post(
        f"/model/{carded.pk}/release/new",
        {"semver": "3.0.0", "notes": "Third", "model_card_version": "1"},
        follow=True,
    )
    html = response.content.decode()
    assert "Release 3.0.0 was created." in html
    assert "message-warning" in html and "Nobody on this model holds the review role" in html


def test_the_release_list_shows_each_releases_review_state(
    reviewed: dict[str, Any], owner: Any, reviewer: Any, client_for: Any
) -> None:
    model = reviewed["model"]
    html = client_for(owner).get(f"/model/{model.pk}/releases").content.decode()
    assert "chip-review-pending" in html and "Awaiting review" in html
    review = Review.objects.get(release=reviewed["release"], role="msro")
    client_for(reviewer).post(
        f"/model/{model.pk}/review/{review.pk}/respond",
        {"decision": "request_changes", "comment": "Say more"},
    )
    html = client_for(owner).get(f"/model/{model.pk}/releases").content.decode()
    assert "Changes requested" in html
