"""Access request services: who may ask, change and withdraw, what is refused, and the download
and pull grant an approved request gives (and takes back after its end date)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.utils import timezone

from access.access_requests.selectors import access_request_state, with_reviews
from access.access_requests.services import (
    access_granted,
    access_request_create,
    access_request_delete,
    access_request_may_change,
    access_request_update,
    today,
)
from access.models import AccessRequest, AccessRequestEntity
from core.errors import BadRequest, Conflict, Forbidden, NotFound
from core.models import AuditEvent
from models_app.models import Model, Schema
from models_app.policy import Action, Actor, allowed
from models_app.services import model_update
from reviews.models import Response, Review
from tests.access.access_request_helpers import SCHEMA, answers, ask, counts, decide, move_clock

pytestmark = pytest.mark.django_db


def can_download(user: Any, model: Model) -> bool:
    actor = Actor(user=user)
    return allowed(actor, Action.FILE_DOWNLOAD, model) and allowed(actor, Action.IMAGE_PULL, model)


def fresh(access_request: AccessRequest) -> AccessRequest:
    return with_reviews(AccessRequest.objects.filter(pk=access_request.pk)).get()


# --- asking -----------------------------------------------------------------------------------


def test_a_consumer_asks_for_access_and_one_review_per_schema_role_opens(
    consumer: Any, entry: Model
) -> None:
    end = today() + timedelta(days=30)
    access_request = ask(consumer, entry, entities=["user:cody", "group:analysts"], end=end)
    assert re.fullmatch(r"evaluation-for-project-kestrel-[0-9a-z]{6}", access_request.pk)
    assert access_request.created_by == consumer
    assert access_request.schema_id == SCHEMA
    assert access_request.end_date == end
    rows = AccessRequestEntity.objects.filter(access_request=access_request)
    assert sorted(r.entity for r in rows) == ["group:analysts", "user:cody"]
    assert list(
        Review.objects.filter(access_request=access_request).values_list("role", "kind")
    ) == [("msro", "access")]
    assert access_request_state(fresh(access_request)) == "pending"
    event = AuditEvent.objects.get(action="access_request:create")
    assert event.subject == f"{entry.pk}/{access_request.pk}"
    assert event.actor == "user:cody"


def test_an_outsider_may_ask_for_access_to_a_public_model(
    outsider: Any, public_entry: Model
) -> None:
    access_request = ask(outsider, public_entry, entities=["user:olive"])
    assert access_request.model_id == public_entry.pk


def test_an_outsider_cannot_ask_for_access_to_a_private_model_it_cannot_see(
    outsider: Any, entry: Model
) -> None:
    before = counts()
    with pytest.raises(NotFound):
        ask(outsider, entry, entities=["user:olive"])
    assert counts() == before


def test_someone_signed_out_cannot_ask(public_entry: Model) -> None:
    with pytest.raises(NotFound):
        access_request_create(
            actor=Actor(user=AnonymousUser()),
            model=public_entry,
            schema_id=SCHEMA,
            metadata=answers(),
        )


def test_a_token_without_access_request_write_cannot_ask(
    consumer: Any, entry: Model, make_token: Any
) -> None:
    token, _ = make_token(consumer, actions=["model:read", "access_request:read"])
    with pytest.raises(Forbidden, match="access_request:write"):
        access_request_create(
            actor=Actor(user=consumer, token=token),
            model=entry,
            schema_id=SCHEMA,
            metadata=answers(),
        )


def test_a_data_card_takes_no_access_requests(consumer: Any, make_entry: Any) -> None:
    card = make_entry("Survey data", kind="data-card")
    before = counts()
    with pytest.raises(BadRequest, match="data card"):
        ask(consumer, card)
    assert counts() == before


# --- bad input: a clear 400/404 and nothing stored --------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "property_", "message"),
    [
        ({"entities": ["user:nobody"]}, "overview.entities", "Unknown user 'nobody'"),
        ({"entities": ["cody"]}, "overview.entities", "not an entity"),
        ({"entities": ["user:cody", "user:cody"]}, "overview.entities", "has non-unique"),
        ({"entities": []}, "overview.entities", "should be non-empty"),
        ({"end": "2001-02-03"}, "overview.endDate", "in the past"),
        ({"end": "next week"}, "overview.endDate", "is not a 'date'"),
        ({"name": ""}, "overview.name", "should be non-empty"),
        ({"justification": ""}, "overview.justification", "should be non-empty"),
    ],
)
def test_bad_answers_are_refused_beside_the_question_and_nothing_is_stored(
    consumer: Any, entry: Model, overrides: dict[str, Any], property_: str, message: str
) -> None:
    before = counts()
    with pytest.raises(BadRequest) as refused:
        ask(consumer, entry, **overrides)
    problems = refused.value.context["validationErrors"]
    assert any(p["property"] == property_ and message in p["message"] for p in problems), problems
    assert counts() == before


def test_each_missing_answer_is_reported_once(consumer: Any, entry: Model) -> None:
    with pytest.raises(BadRequest) as refused:
        access_request_create(
            actor=Actor(user=consumer),
            model=entry,
            schema_id=SCHEMA,
            metadata={"overview": {"entities": ["user:cody"]}},
        )
    assert refused.value.context["validationErrors"] == [
        {"property": "overview.justification", "message": "is required"},
        {"property": "overview.name", "message": "is required"},
    ]


def test_an_end_date_of_yesterday_is_refused_and_today_is_accepted(
    consumer: Any, entry: Model
) -> None:
    with pytest.raises(BadRequest, match="in the past"):
        ask(consumer, entry, end=today() - timedelta(days=1))
    assert ask(consumer, entry, end=today()).end_date == today()


def test_a_group_is_accepted_without_checking_that_it_exists_yet(
    consumer: Any, entry: Model
) -> None:
    access_request = ask(consumer, entry, entities=["group:future-team"])
    assert access_request.entity_rows.get().entity == "group:future-team"


def test_an_unknown_schema_is_not_found(consumer: Any, entry: Model) -> None:
    with pytest.raises(NotFound):
        access_request_create(
            actor=Actor(user=consumer),
            model=entry,
            schema_id="no-such-schema",
            metadata=answers(),
        )


def test_a_model_card_schema_cannot_be_used_for_an_access_request(
    consumer: Any, entry: Model
) -> None:
    with pytest.raises(BadRequest, match="not an access-request schema"):
        access_request_create(
            actor=Actor(user=consumer),
            model=entry,
            schema_id="minimal-general-v10",
            metadata=answers(),
        )


@pytest.mark.parametrize("field", ["hidden", "inactive"])
def test_a_retired_schema_cannot_be_used(consumer: Any, entry: Model, field: str) -> None:
    Schema.objects.filter(pk=SCHEMA).update(
        **({"hidden": True} if field == "hidden" else {"active": False})
    )
    with pytest.raises(BadRequest, match="retired"):
        ask(consumer, entry)


def test_metadata_that_is_not_an_object_is_refused(consumer: Any, entry: Model) -> None:
    with pytest.raises(BadRequest, match="metadata must be a JSON object"):
        access_request_create(
            actor=Actor(user=consumer), model=entry, schema_id=SCHEMA, metadata=["no"]
        )


def test_a_schema_without_an_overview_still_needs_a_name_and_entities(
    consumer: Any, entry: Model
) -> None:
    Schema.objects.create(
        id="loose-access-v1",
        name="Loose",
        kind="accessRequest",
        json_schema={"type": "object", "properties": {"why": {"type": "string"}}},
    )
    with pytest.raises(BadRequest, match="overview"):
        access_request_create(
            actor=Actor(user=consumer),
            model=entry,
            schema_id="loose-access-v1",
            metadata={"why": "because"},
        )


# --- changing and withdrawing -----------------------------------------------------------------


def test_a_named_user_changes_the_request_and_the_rows_follow(
    consumer: Any, contributor: Any, entry: Model
) -> None:
    access_request = ask(consumer, entry, entities=["user:cody", "group:analysts"])
    end = today() + timedelta(days=10)
    updated = access_request_update(
        actor=Actor(user=consumer),
        access_request=access_request,
        metadata=answers(entities=["user:cody", "user:connie"], end=end),
    )
    assert updated.end_date == end
    assert sorted(updated.entity_rows.values_list("entity", flat=True)) == [
        "user:cody",
        "user:connie",
    ]
    assert updated.metadata["overview"]["entities"] == ["user:cody", "user:connie"]


def test_the_owner_may_change_a_request_that_does_not_name_them(
    consumer: Any, owner: Any, entry: Model
) -> None:
    access_request = ask(consumer, entry)
    access_request_update(
        actor=Actor(user=owner), access_request=access_request, metadata=answers(name="Renamed")
    )
    assert AccessRequest.objects.get(pk=access_request.pk).name == "Renamed"


def test_a_member_of_a_named_group_may_change_the_request(
    consumer: Any, outsider: Any, public_entry: Model
) -> None:
    group = Group.objects.create(name="analysts")
    outsider.groups.add(group)
    access_request = ask(consumer, public_entry, entities=["group:analysts"])
    assert access_request_may_change(Actor(user=outsider), access_request)


@pytest.mark.parametrize("persona", ["contributor", "reviewer"])
def test_a_collaborator_who_is_not_named_cannot_change_or_withdraw(
    persona: str, personas: dict[str, Any], consumer: Any, entry: Model
) -> None:
    access_request = ask(consumer, entry)
    actor = Actor(user=personas[persona])
    with pytest.raises(Forbidden, match="named in this access request"):
        access_request_update(
            actor=actor, access_request=access_request, metadata=answers(name="Hijacked")
        )
    with pytest.raises(Forbidden):
        access_request_delete(actor=actor, access_request=access_request)
    assert AccessRequest.objects.get(pk=access_request.pk).name == access_request.name


def test_an_outsider_cannot_even_see_a_request_on_a_private_model(
    consumer: Any, outsider: Any, entry: Model
) -> None:
    access_request = ask(consumer, entry)
    with pytest.raises(NotFound):
        access_request_delete(actor=Actor(user=outsider), access_request=access_request)


def test_a_change_is_validated_like_a_new_request(consumer: Any, entry: Model) -> None:
    access_request = ask(consumer, entry)
    with pytest.raises(BadRequest, match="Unknown user 'ghost'"):
        access_request_update(
            actor=Actor(user=consumer),
            access_request=access_request,
            metadata=answers(entities=["user:cody", "user:ghost"]),
        )
    assert list(access_request.entity_rows.values_list("entity", flat=True)) == ["user:cody"]


def test_an_expired_request_keeps_its_end_date_when_other_answers_change(
    consumer: Any, entry: Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    end = today()
    access_request = ask(consumer, entry, end=end)
    move_clock(monkeypatch, days=3)
    access_request_update(
        actor=Actor(user=consumer),
        access_request=access_request,
        metadata=answers(end=end, justification="Clarified."),
    )
    with pytest.raises(BadRequest, match="in the past"):
        access_request_update(
            actor=Actor(user=consumer),
            access_request=access_request,
            metadata=answers(end=end + timedelta(days=1)),
        )


def test_after_approval_a_change_may_narrow_but_not_widen_the_grant(
    consumer: Any, reviewer: Any, contributor: Any, outsider: Any, entry: Model
) -> None:
    end = today() + timedelta(days=30)
    access_request = ask(consumer, entry, entities=["user:cody", "user:connie"], end=end)
    decide(reviewer, access_request)
    actor = Actor(user=consumer)
    for widened in (
        answers(entities=["user:cody", "user:connie", "user:olive"], end=end),
        answers(entities=["user:cody", "user:connie"], end=end + timedelta(days=1)),
        answers(entities=["user:cody", "user:connie"]),
    ):
        with pytest.raises(Conflict, match="new access request"):
            access_request_update(actor=actor, access_request=access_request, metadata=widened)
    narrowed = access_request_update(
        actor=actor,
        access_request=access_request,
        metadata=answers(entities=["user:cody"], end=end - timedelta(days=1)),
    )
    assert list(narrowed.entity_rows.values_list("entity", flat=True)) == ["user:cody"]
    assert access_request_state(fresh(access_request)) == "approved"


def test_withdrawing_soft_deletes_the_request_its_reviews_and_their_responses(
    consumer: Any, reviewer: Any, entry: Model
) -> None:
    access_request = ask(consumer, entry)
    decide(reviewer, access_request, "request_changes", "Say which data you will use.")
    access_request_delete(actor=Actor(user=consumer), access_request=access_request)
    gone = AccessRequest.all_objects.get(pk=access_request.pk)
    assert gone.deleted_at is not None
    assert gone.deleted_by == consumer
    assert gone.deletion is None
    assert not AccessRequest.objects.filter(pk=access_request.pk).exists()
    review = Review.all_objects.get(access_request_id=access_request.pk)
    assert (review.deleted_at is not None, review.deleted_by, review.deletion) == (
        True,
        consumer,
        None,
    )
    assert not Response.objects.filter(review=review).exists()


def test_the_owner_may_withdraw_a_request(consumer: Any, owner: Any, entry: Model) -> None:
    access_request = ask(consumer, entry)
    access_request_delete(actor=Actor(user=owner), access_request=access_request)
    assert not AccessRequest.objects.filter(pk=access_request.pk).exists()


# --- the grant --------------------------------------------------------------------------------


def test_owners_and_contributors_download_without_a_request(
    owner: Any, contributor: Any, entry: Model
) -> None:
    assert can_download(owner, entry)
    assert can_download(contributor, entry)


def test_a_consumer_without_an_approved_request_is_refused(
    consumer: Any, reviewer: Any, entry: Model
) -> None:
    assert not can_download(consumer, entry)
    access_request = ask(consumer, entry)
    assert not can_download(consumer, entry)  # pending
    decide(reviewer, access_request, "request_changes", "Which data?")
    assert not can_download(consumer, entry)  # changes requested


def test_a_reviewer_role_gives_no_download(reviewer: Any, entry: Model) -> None:
    assert not can_download(reviewer, entry)


def test_an_approved_request_grants_download_and_pull_to_the_people_it_names(
    consumer: Any, reviewer: Any, outsider: Any, public_entry: Model
) -> None:
    access_request = ask(consumer, public_entry, entities=["user:olive"])
    decide(reviewer, access_request)
    assert can_download(outsider, public_entry)
    # Making a request for someone else gives its author nothing.
    assert not can_download(consumer, public_entry)
    assert access_granted(outsider, public_entry)


def test_an_approved_request_naming_a_group_grants_its_members(
    consumer: Any, reviewer: Any, outsider: Any, public_entry: Model
) -> None:
    outsider.groups.add(Group.objects.create(name="analysts"))
    decide(reviewer, ask(consumer, public_entry, entities=["group:analysts"]))
    assert can_download(outsider, public_entry)


def test_an_undone_approval_takes_the_grant_back(
    consumer: Any, reviewer: Any, entry: Model
) -> None:
    access_request = ask(consumer, entry)
    decide(reviewer, access_request)
    assert can_download(consumer, entry)
    decide(reviewer, access_request, "undo")
    assert not can_download(consumer, entry)


def test_a_grant_on_one_model_does_not_open_another(
    consumer: Any, reviewer: Any, entry: Model, public_entry: Model
) -> None:
    decide(reviewer, ask(consumer, entry))
    assert can_download(consumer, entry)
    assert not can_download(consumer, public_entry)


def test_a_withdrawn_request_grants_nothing(consumer: Any, reviewer: Any, entry: Model) -> None:
    access_request = ask(consumer, entry)
    decide(reviewer, access_request)
    access_request_delete(actor=Actor(user=consumer), access_request=access_request)
    assert not can_download(consumer, entry)


def test_the_grant_lapses_by_itself_after_the_end_date(
    consumer: Any, reviewer: Any, entry: Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    access_request = ask(consumer, entry, end=today() + timedelta(days=1))
    decide(reviewer, access_request)
    assert can_download(consumer, entry)
    move_clock(monkeypatch, days=1)  # the last day of access
    assert can_download(consumer, entry)
    move_clock(monkeypatch, days=2)  # the day after the end date
    assert not can_download(consumer, entry)
    assert access_request_state(fresh(access_request)) == "expired"


def test_ungoverned_access_needs_no_request(
    owner: Any, consumer: Any, entry: Model, outsider: Any, public_entry: Model
) -> None:
    for model in (entry, public_entry):
        model_update(
            actor=Actor(user=owner), model=model, changes={"settings": {"ungovernedAccess": True}}
        )
        model.refresh_from_db()
    assert can_download(consumer, entry)
    assert can_download(outsider, public_entry)
    # Seeing the entry still comes first: ungoverned access does not open a private model.
    assert not can_download(outsider, entry)


def test_a_request_whose_schema_owes_no_review_is_approved_at_once(
    consumer: Any, entry: Model
) -> None:
    Schema.objects.create(
        id="self-service-access-v1",
        name="Self service",
        kind="accessRequest",
        json_schema=Schema.objects.get(pk=SCHEMA).json_schema,
        review_roles=[],
    )
    access_request_create(
        actor=Actor(user=consumer),
        model=entry,
        schema_id="self-service-access-v1",
        metadata=answers(),
    )
    assert can_download(consumer, entry)


def test_checking_the_grant_takes_the_same_queries_however_many_requests_there_are(
    consumer: Any,
    reviewer: Any,
    entry: Model,
) -> None:
    def queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            access_granted(consumer, entry)
        return len(captured)

    decide(reviewer, ask(consumer, entry, name="First"), "request_changes", "No")
    one = queries()
    for n in range(5):
        decide(reviewer, ask(consumer, entry, name=f"Request {n}"), "request_changes", "No")
    assert queries() == one <= 4


def test_someone_signed_out_is_granted_nothing() -> None:
    assert access_granted(AnonymousUser(), Model(pk="x")) is False


def test_today_follows_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    before = today()
    move_clock(monkeypatch, days=2)
    assert today() == before + timedelta(days=2)
    assert timezone.localdate() == today()
