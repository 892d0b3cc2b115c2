"""Reviews open when a release is published, holders respond, outcomes follow, e-mails leave, and
the reviews a user owes are found."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.utils import timezone

from access.models import AccessRequest
from core.errors import BadRequest, Forbidden
from models_app.models import Collaborator, Schema
from models_app.policy import Actor
from models_app.services import schema_update
from releases.models import Release
from releases.services import release_update
from reviews import outcomes, selectors, services
from reviews.models import Response, Review
from reviews.roles.services import reviews_backfill_for_schema
from tests.reviews.conftest import publish

pytestmark = pytest.mark.django_db


def review(release: Release, role: str = "msro") -> Review:
    return Review.objects.get(release=release, role=role)


def respond(
    user: Any,
    release: Release,
    decision: str,
    comment: str = "",
    *,
    role: str = "msro",
    token: Any = None,
) -> Response:
    return services.review_respond(
        actor=Actor(user=user, token=token),
        review=review(release, role),
        decision=decision,
        comment=comment,
    )


def hold(model: Any, user: Any, role: str) -> None:
    Collaborator.objects.create(model=model, entity=f"user:{user.username}", role=role)


# --- opening reviews ----------------------------------------------------------------------------


def test_publishing_a_release_opens_one_review_per_role_of_the_card_schema(
    release: Release,
) -> None:
    roles = sorted(Review.objects.filter(release=release).values_list("role", flat=True))
    assert roles == ["msro", "mtr"]
    assert all(
        r.kind == "release" and r.model_id == release.model_id for r in release.reviews.all()
    )


def test_minor_and_draft_releases_open_no_review_until_a_draft_is_published(
    carded: Any, owner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    minor = publish(carded, owner, "1.0.0", django_capture_on_commit_callbacks, minor=True)
    draft = publish(carded, owner, "1.1.0", django_capture_on_commit_callbacks, draft=True)
    assert not Review.objects.filter(release__in=[minor, draft]).exists()
    with django_capture_on_commit_callbacks(execute=True):
        release_update(actor=Actor(user=owner), release=draft, changes={"draft": False})
    assert Review.objects.filter(release=draft).count() == 2


def test_opening_reviews_again_adds_nothing(release: Release) -> None:
    assert services.reviews_open_for_release(release) == []
    assert Review.objects.filter(release=release).count() == 2


def test_holders_of_the_role_are_emailed_when_a_review_opens(
    release: Release, reviewer: Any
) -> None:
    requested = [m for m in mail.outbox if "Review requested" in m.subject]
    assert [m.to for m in requested] == [[reviewer.email]]
    assert "release 1.0.0" in requested[0].subject
    assert f"/model/{release.model_id}/release/1.0.0" in requested[0].body
    assert "/reviews" in requested[0].body


def test_members_of_a_group_holding_the_role_are_emailed_and_users_without_address_skipped(
    carded: Any,
    owner: Any,
    make_user: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    group = Group.objects.create(name="tech-reviewers")
    member = make_user("gail")
    silent = make_user("sam", email="")
    group.user_set.add(member, silent)
    Collaborator.objects.create(model=carded, entity="group:tech-reviewers", role="mtr")
    mail.outbox.clear()
    publish(carded, owner, "2.0.0", django_capture_on_commit_callbacks)
    mtr_mail = [m for m in mail.outbox if "Review requested" in m.subject and member.email in m.to]
    assert len(mtr_mail) == 1
    assert not any(m.to == [""] for m in mail.outbox)


# --- responding ---------------------------------------------------------------------------------


def test_a_holder_approves_and_the_owners_are_told(
    release: Release, reviewer: Any, owner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = respond(reviewer, release, "approve", "Looks right")
    assert response.decision == "approve" and response.entity == "user:rita"
    told = [m for m in mail.outbox if owner.email in m.to]
    assert len(told) == 1 and "rita approved release 1.0.0" in told[0].subject
    assert "Looks right" in told[0].body
    assert not any(reviewer.email in m.to for m in mail.outbox)


def test_someone_without_the_role_cannot_respond_and_nothing_is_stored(
    release: Release, owner: Any, consumer: Any, site_admin: Any
) -> None:
    for user in (owner, consumer, site_admin):
        with pytest.raises(Forbidden):
            respond(user, release, "approve")
    assert not Response.objects.exists()


def test_requesting_changes_needs_a_comment_and_nothing_is_stored(
    release: Release, reviewer: Any
) -> None:
    for comment in ("", "   "):
        with pytest.raises(BadRequest, match="comment is required"):
            respond(reviewer, release, "request_changes", comment)
    assert not Response.objects.exists()


def test_an_unknown_decision_is_refused_and_nothing_is_stored(
    release: Release, reviewer: Any
) -> None:
    for decision in ("maybe", "", None, ["approve"]):
        with pytest.raises(BadRequest, match="decision must be one of"):
            services.review_respond(
                actor=Actor(user=reviewer), review=review(release), decision=decision
            )
    assert not Response.objects.exists()


def test_a_token_without_model_write_cannot_respond(
    release: Release, reviewer: Any, make_token: Any
) -> None:
    token, _ = make_token(reviewer, actions=["model:read"])
    with pytest.raises(Forbidden):
        respond(reviewer, release, "approve", token=token)
    assert not Response.objects.exists()


def test_a_holder_through_a_group_may_respond(
    release: Release, make_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    group = Group.objects.create(name="technical")
    gail = make_user("gail")
    group.user_set.add(gail)
    Collaborator.objects.create(model=release.model, entity="group:technical", role="mtr")
    response = services.review_respond(
        actor=Actor(user=gail), review=review(release, "mtr"), decision="approve"
    )
    assert response.role == "mtr"


# --- outcomes -----------------------------------------------------------------------------------


def fresh_outcome(release: Release) -> str:
    return outcomes.outcome(list(outcomes.reviews_of(release=release)))


def test_the_latest_decision_counts_and_undo_cancels_it(
    release: Release, reviewer: Any, make_user: Any
) -> None:
    respond(reviewer, release, "request_changes", "Add a licence")
    assert fresh_outcome(release) == "changes_requested"
    respond(reviewer, release, "undo")
    assert fresh_outcome(release) == "pending"
    respond(reviewer, release, "approve")
    decisions = outcomes.latest_decisions(outcomes.reviews_of(release=release))
    assert decisions[review(release).pk] == "approve"
    assert decisions[review(release, "mtr").pk] is None
    assert fresh_outcome(release) == "pending"


def test_a_release_is_approved_only_when_every_role_approves_and_owners_get_one_email(
    release: Release,
    reviewer: Any,
    make_user: Any,
    owner: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    tess = make_user("tess")
    hold(release.model, tess, "mtr")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        respond(reviewer, release, "approve")
    assert fresh_outcome(release) == "pending"
    assert not [m for m in mail.outbox if m.subject.startswith("[Bailo] Approved")]
    with django_capture_on_commit_callbacks(execute=True):
        services.review_respond(
            actor=Actor(user=tess), review=review(release, "mtr"), decision="approve"
        )
    assert fresh_outcome(release) == "approved"
    approved = [m for m in mail.outbox if m.subject.startswith("[Bailo] Approved")]
    assert [m.to for m in approved] == [[owner.email]]
    assert "Every review role has approved release 1.0.0" in approved[0].body


# --- comments -----------------------------------------------------------------------------------


def test_anyone_signed_in_comments_and_only_the_author_edits(
    release: Release, consumer: Any, owner: Any
) -> None:
    comment = services.comment_add(actor=Actor(user=consumer), text=" Nice ", release=release)
    assert comment.comment == "Nice" and comment.kind == "comment"
    with pytest.raises(BadRequest):
        services.comment_add(actor=Actor(user=consumer), text=" ", release=release)
    with pytest.raises(Forbidden):
        services.comment_edit(actor=Actor(user=owner), response=comment, text="Mine now")
    edited = services.comment_edit(actor=Actor(user=consumer), response=comment, text="Better")
    assert edited.comment == "Better" and edited.comment_edited_at is not None


# --- which reviews a user owes ------------------------------------------------------------------


def test_open_reviews_are_those_of_my_roles_that_i_have_not_answered(
    release: Release, reviewer: Any, owner: Any, outsider: Any
) -> None:
    open_ = selectors.reviews_for_user(actor=Actor(user=reviewer), open=True)
    assert [r.role for r in open_] == ["msro"]
    assert not selectors.reviews_for_user(actor=Actor(user=owner), open=True).exists()
    assert not selectors.reviews_for_user(actor=Actor(user=outsider), open=None).exists()
    respond(reviewer, release, "approve")
    assert not selectors.reviews_for_user(actor=Actor(user=reviewer), open=True).exists()
    archived = selectors.reviews_for_user(actor=Actor(user=reviewer), open=False)
    assert [r.role for r in archived] == ["msro"]
    assert selectors.open_review_count(reviewer) == 0


def test_reviews_of_a_deleted_release_or_entry_are_not_owed(
    release: Release, reviewer: Any
) -> None:
    assert selectors.open_review_count(reviewer) == 1
    Release.objects.filter(pk=release.pk).update(deleted_at=timezone.now())
    assert selectors.open_review_count(reviewer) == 0
    Release.all_objects.filter(pk=release.pk).update(deleted_at=None)
    type(release.model).objects.filter(pk=release.model_id).update(deleted_at=timezone.now())
    assert selectors.open_review_count(reviewer) == 0


def test_the_reviews_page_groups_take_two_queries_however_many_reviews(
    carded: Any,
    owner: Any,
    reviewer: Any,
    django_capture_on_commit_callbacks: Any,
    django_assert_max_num_queries: Any,
) -> None:
    for n in range(5):
        publish(carded, owner, f"1.{n}.0", django_capture_on_commit_callbacks)
    with django_assert_max_num_queries(3):
        groups = selectors.reviews_page_groups(user=reviewer, open=True)
        assert len(groups.releases) == 5 and groups.access_requests == []


# --- back-filling -------------------------------------------------------------------------------


def test_adding_a_role_to_a_schema_backfills_reviews_of_published_releases(
    carded: Any,
    owner: Any,
    site_admin: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    schema = Schema.objects.get(pk="minimal-general-v10")
    schema_update(actor=Actor(user=site_admin), schema=schema, changes={"reviewRoles": []})
    published = publish(carded, owner, "1.0.0", django_capture_on_commit_callbacks)
    minor = publish(carded, owner, "1.0.1", django_capture_on_commit_callbacks, minor=True)
    assert not Review.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        schema_update(
            actor=Actor(user=site_admin), schema=schema, changes={"reviewRoles": ["msro"]}
        )
    assert list(Review.objects.values_list("release_id", "role")) == [(published.pk, "msro")]
    assert not Review.objects.filter(release=minor).exists()
    assert reviews_backfill_for_schema(schema) == []


def access_request(model: Any, user: Any, name: str, **fields: Any) -> AccessRequest:
    return AccessRequest.objects.create(
        id=name,
        model=model,
        schema_id="minimal-access-request-general-v10",
        metadata={"overview": {"name": name, "entities": [f"user:{user.username}"]}},
        created_by=user,
        **fields,
    )


def test_adding_a_role_to_an_access_request_schema_backfills_open_requests_only(
    carded: Any, consumer: Any, reviewer: Any, site_admin: Any
) -> None:
    schema = Schema.objects.get(pk="minimal-access-request-general-v10")
    schema_update(actor=Actor(user=site_admin), schema=schema, changes={"reviewRoles": []})
    open_request = access_request(carded, consumer, "open-one")
    expired = access_request(
        carded, consumer, "expired-one", end_date=timezone.localdate().replace(year=2000)
    )
    approved = access_request(carded, consumer, "approved-one")
    granted = Review.objects.create(
        kind="access", model=carded, role="msro", access_request=approved
    )
    Response.objects.create(
        kind="review", user=reviewer, entity="user:rita", review=granted, decision="approve"
    )
    schema_update(
        actor=Actor(user=site_admin), schema=schema, changes={"reviewRoles": ["msro", "mtr"]}
    )
    assert sorted(
        Review.objects.filter(access_request=open_request).values_list("role", flat=True)
    ) == [
        "msro",
        "mtr",
    ]
    assert not Review.objects.filter(access_request=expired).exists()
    assert list(Review.objects.filter(access_request=approved).values_list("role", flat=True)) == [
        "msro"
    ]
