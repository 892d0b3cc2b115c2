"""Lifecycle reviews of the model card (Bailo's ``kind=lifecycle``): opening one
(``POST /api/v3/review/{modelId}``), answering it (``POST /api/v3/review/{reviewId}/response``),
listing them (``GET /api/v2/reviews?kind=lifecycle``), what answering does (the next review, the
``createReviewResponse`` webhook), the reminder sweep, and the deletion cascade. Every refusal
answers in Bailo's error shape and changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from deletion.beneath import hide_beneath
from deletion.models import Deletion
from deletion.services import deletion_restore, model_delete
from models_app.models import Model
from models_app.policy import Actor
from reviews.lifecycle.reminders import lifecycle_reminders_send
from reviews.lifecycle.services import lifecycle_review_create, lifecycle_review_respond
from reviews.models import Response, Review, ReviewKind
from tests.webhooks.conftest import add_webhook
from tests.webhooks.receiver import Receiver, running
from webhooks.models import Webhook

pytestmark = pytest.mark.django_db

V3 = "/api/v3"


def day(offset: int) -> str:
    """The date ``offset`` days from today, as a date input sends it."""
    return (timezone.now() + timedelta(days=offset)).date().isoformat()


def post(client: Any, path: str, body: Any) -> Any:
    return client.post(path, data=json.dumps(body), content_type="application/json")


def open_review(client: Any, model_id: str, due: Any) -> Any:
    return post(client, f"{V3}/review/{model_id}", {"kind": "lifecycle", "dueDate": due})


def answer(client: Any, review_id: Any, **body: Any) -> Any:
    body = {"kind": "lifecycle", "decision": "approve", **body}
    return post(client, f"{V3}/review/{review_id}/response", body)


def lifecycle_reviews(model: Model) -> list[Review]:
    return list(Review.all_objects.filter(model=model, kind=ReviewKind.LIFECYCLE).order_by("pk"))


def assert_refused(response: Any, status: int, words: str = "") -> None:
    assert response.status_code == status, response.content
    assert set(response.json()) == {"error"}
    assert words in response.json()["error"]["message"]


# --- opening a review -----------------------------------------------------------------------------


def test_an_owner_sets_the_date_of_the_next_review(
    entry: Model, owner: Any, client_for: Any
) -> None:
    response = open_review(client_for(owner), entry.pk, day(30))
    assert response.status_code == 200, response.content
    review = response.json()["review"]
    assert review["kind"] == "lifecycle" and review["role"] == "owner"
    assert review["modelId"] == entry.pk and review["responses"] == []
    assert review["dueDate"].startswith(day(30)) and review["status"] is None
    [stored] = lifecycle_reviews(entry)
    assert str(stored.pk) == review["id"] and stored.completed_at is None


def test_an_administrator_may_set_the_date_too(
    entry: Model, site_admin: Any, client_for: Any
) -> None:
    assert open_review(client_for(site_admin), entry.pk, day(10)).status_code == 200


def test_a_past_date_is_accepted_as_bailo_does(entry: Model, owner: Any, client_for: Any) -> None:
    response = open_review(client_for(owner), entry.pk, "2001-05-01")
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("contributor", 403),
        ("consumer", 403),
        ("reviewer", 403),
        ("outsider", 404),
        ("anonymous", 401),
    ],
)
def test_only_owners_and_administrators_open_a_review(
    entry: Model, personas: dict[str, Any], client_for: Any, persona: str, status: int
) -> None:
    assert_refused(open_review(client_for(personas[persona]), entry.pk, day(30)), status)
    assert lifecycle_reviews(entry) == []


def test_an_outsider_of_a_public_entry_is_forbidden(
    public_entry: Model, outsider: Any, client_for: Any
) -> None:
    assert_refused(open_review(client_for(outsider), public_entry.pk, day(30)), 403)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"kind": "lifecycle"}, "dueDate is required"),
        ({"kind": "lifecycle", "dueDate": ""}, "dueDate is required"),
        ({"kind": "lifecycle", "dueDate": "next tuesday"}, "must be a date"),
        ({"kind": "lifecycle", "dueDate": 20270101}, "must be a date"),
        ({"kind": "lifecycle", "dueDate": "2027-02-30"}, "must be a date"),
        ({"kind": "lifecycle", "dueDate": "1999-12-31"}, "cannot be before year 2000"),
        ({"kind": "lifecycle", "dueDate": "2999-01-01"}, "cannot be further than 365 days"),
        ({"kind": "release", "semver": "1.0.0"}, "not supported yet in V3"),
        ({"kind": "access", "accessRequestId": "x"}, "not supported yet in V3"),
        ({"dueDate": "2027-01-01"}, "kind must be lifecycle"),
        ({"kind": "weekly", "dueDate": "2027-01-01"}, "kind must be lifecycle"),
    ],
)
def test_bad_input_is_refused_and_opens_nothing(
    entry: Model, owner: Any, client_for: Any, body: dict[str, Any], words: str
) -> None:
    assert_refused(post(client_for(owner), f"{V3}/review/{entry.pk}", body), 400, words)
    assert lifecycle_reviews(entry) == []


def test_a_body_that_is_not_json_is_refused(entry: Model, owner: Any, client_for: Any) -> None:
    response = client_for(owner).post(
        f"{V3}/review/{entry.pk}", data="{nope", content_type="application/json"
    )
    assert_refused(response, 400)


def test_the_maximum_interval_is_a_setting(
    entry: Model, owner: Any, client_for: Any, settings: Any
) -> None:
    settings.LIFECYCLE_MAX_REVIEW_INTERVAL = timedelta(days=30)
    assert_refused(open_review(client_for(owner), entry.pk, day(40)), 400, "30 days")
    assert open_review(client_for(owner), entry.pk, day(20)).status_code == 200


def test_only_one_review_is_open_at_a_time(entry: Model, owner: Any, client_for: Any) -> None:
    client = client_for(owner)
    assert open_review(client, entry.pk, day(30)).status_code == 200
    assert_refused(open_review(client, entry.pk, day(60)), 400, "already has an open")
    assert len(lifecycle_reviews(entry)) == 1


def test_unknown_entry_is_404(owner: Any, client_for: Any) -> None:
    assert_refused(open_review(client_for(owner), "no-such-model-000000", day(3)), 404)


# --- answering it ---------------------------------------------------------------------------------


@pytest.fixture
def due(entry: Model, owner: Any) -> Review:
    """The private entry's open lifecycle review, due in 5 days."""
    return lifecycle_review_create(actor=Actor(user=owner), model=entry, due_date=day(5))


def test_an_owner_approves_and_the_next_review_opens(
    due: Review, entry: Model, owner: Any, client_for: Any
) -> None:
    response = answer(client_for(owner), due.pk, comment="Still accurate", dueDate=day(200))
    assert response.status_code == 200, response.content
    body = response.json()["response"]
    assert body["decision"] == "approve" and body["role"] == "owner"
    assert body["parentId"] == str(due.pk) and body["comment"] == "Still accurate"
    answered, following = lifecycle_reviews(entry)
    assert answered.pk == due.pk and answered.completed_at is not None
    assert following.completed_at is None and following.due_date is not None
    assert following.due_date.date().isoformat() == day(200)
    # No e-mail for a lifecycle response (Bailo sends none).
    assert mail.outbox == []


def test_the_latest_response_and_the_reviews_list_show_it(
    due: Review, entry: Model, owner: Any, contributor: Any, client_for: Any
) -> None:
    client = client_for(owner)
    answer(client, due.pk, dueDate=day(90))
    latest = client.get(f"{V3}/review/{due.pk}/responses/latest")
    assert latest.status_code == 200 and latest.json()["response"]["decision"] == "approve"
    listed = client.get("/api/v2/reviews?kind=lifecycle&mine=false").json()["reviews"]
    assert [(r["kind"], r["status"]) for r in listed] == [
        ("lifecycle", None),
        ("lifecycle", "approve"),
    ]
    # Open ones are the owners' to answer: the owner has one, the contributor none.
    assert len(client.get("/api/v2/reviews?kind=lifecycle&open=true").json()["reviews"]) == 1
    assert len(client.get("/api/v2/reviews?kind=lifecycle&open=false").json()["reviews"]) == 1
    mine = client_for(contributor).get("/api/v2/reviews?kind=lifecycle").json()["reviews"]
    assert mine == []


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("contributor", 403),
        ("consumer", 403),
        ("reviewer", 403),
        # The literal role: an administrator who is not an owner may not answer (as Bailo).
        ("site_admin", 403),
        ("outsider", 404),
        ("anonymous", 401),
    ],
)
def test_only_owners_answer(
    due: Review, personas: dict[str, Any], client_for: Any, persona: str, status: int
) -> None:
    assert_refused(answer(client_for(personas[persona]), due.pk, dueDate=day(30)), status)
    assert not Response.objects.filter(review=due).exists()


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({}, 400, "dueDate is required"),
        ({"dueDate": "soon"}, 400, "must be a date"),
        ({"dueDate": "2020-01-01"}, 400, "must be in the future"),
        ({"dueDate": "2999-01-01"}, 400, "cannot be further than"),
        ({"decision": "undo", "dueDate": "2027-01-01"}, 400, "approving it"),
        ({"decision": "request_changes"}, 400, "A comment must be supplied"),
        (
            {"decision": "request_changes", "comment": "x", "dueDate": "2027-01-01"},
            400,
            "approving",
        ),
        ({"kind": "release", "dueDate": "2027-01-01"}, 400, "is a lifecycle review"),
        ({"kind": None, "dueDate": "2027-01-01"}, 400, "kind must be one of"),
    ],
)
def test_bad_answers_are_refused_and_change_nothing(
    due: Review,
    entry: Model,
    owner: Any,
    client_for: Any,
    body: dict[str, Any],
    status: int,
    words: str,
) -> None:
    assert_refused(answer(client_for(owner), due.pk, **body), status, words)
    assert not Response.objects.filter(review=due).exists()
    assert len(lifecycle_reviews(entry)) == 1


def test_an_answered_review_is_not_answered_twice(
    due: Review, entry: Model, owner: Any, client_for: Any
) -> None:
    client = client_for(owner)
    assert answer(client, due.pk, dueDate=day(30)).status_code == 200
    assert_refused(answer(client, due.pk, dueDate=day(40)), 409, "already been answered")
    assert len(lifecycle_reviews(entry)) == 2


def test_a_review_id_that_is_not_a_number_or_unknown(owner: Any, client_for: Any) -> None:
    assert_refused(answer(client_for(owner), "abc", dueDate=day(3)), 400)
    assert_refused(answer(client_for(owner), "999999", dueDate=day(3)), 404)


def test_release_reviews_are_answered_through_v3_as_well(
    release: Any, reviewer: Any, client_for: Any
) -> None:
    review = Review.objects.get(release=release, role="msro")
    client = client_for(reviewer)
    body = {"kind": "release", "decision": "approve", "dueDate": day(3)}
    assert_refused(
        post(client, f"{V3}/review/{review.pk}/response", body), 400, "only for lifecycle"
    )
    body.pop("dueDate")
    response = post(client, f"{V3}/review/{review.pk}/response", body)
    assert response.status_code == 200, response.content
    assert response.json()["response"]["decision"] == "approve"


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    with running() as started:
        yield started


def test_answering_fires_the_create_review_response_webhook(
    eager_tasks: None,
    receiver: Receiver,
    due: Review,
    entry: Model,
    owner: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    hook = add_webhook(owner, entry, receiver.url)
    Webhook.objects.filter(pk=hook.pk).update(events=["createReviewResponse"])
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle_review_respond(
            actor=Actor(user=owner), review=due, decision="approve", due_date=day(60)
        )
    [received] = receiver.received
    body = received.json()
    assert body["event"] == "createReviewResponse"
    assert body["review"]["id"] == str(due.pk) and body["review"]["kind"] == "lifecycle"
    assert body["review"]["dueDate"].startswith(day(5))
    assert [r["decision"] for r in body["review"]["responses"]] == ["approve"]


# --- reminders ------------------------------------------------------------------------------------


def at(review: Review, **offset: float) -> datetime:
    """A moment relative to the review's due date."""
    assert review.due_date is not None
    return review.due_date + timedelta(**offset)


@pytest.fixture
def far(entry: Model, owner: Any) -> Review:
    """A review opened now, due in 100 days (so every pre-reminder is still to come)."""
    return lifecycle_review_create(actor=Actor(user=owner), model=entry, due_date=day(100))


def sweep(now: datetime, capture: Any) -> int:
    with capture(execute=True):
        return lifecycle_reminders_send(now=now)


def test_reminders_go_to_the_owners_before_and_after_the_due_date_once_each(
    far: Review, owner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    mail.outbox.clear()
    assert sweep(at(far, days=-71), capture) == 0
    assert sweep(at(far, days=-70), capture) == 1
    assert sweep(at(far, days=-69), capture) == 0  # sent once
    assert sweep(at(far, days=-14), capture) == 1
    assert sweep(at(far, days=-1), capture) == 1
    assert sweep(at(far, hours=-1), capture) == 0
    assert sweep(at(far), capture) == 1  # due: the first overdue reminder
    assert sweep(at(far, hours=12), capture) == 0
    assert sweep(at(far, days=1), capture) == 1
    assert sweep(at(far, days=1, hours=2), capture) == 0
    assert sweep(at(far, days=3), capture) == 1
    assert [m.to for m in mail.outbox] == [[owner.email]] * 6
    first, *_, last = mail.outbox
    assert "is due in 70 days" in first.subject and "Private model" in first.subject
    assert f"/model/{far.model_id}/lifecycle/{far.pk}/review" in first.body
    assert f"/model/{far.model_id}\n" in first.body
    assert "past its due date" in last.subject and "3 days ago" in last.body
    far.refresh_from_db()
    assert far.reminders_sent == [
        "pre:6048000",
        "pre:1209600",
        "pre:86400",
        "post:0",
        "post:1",
        "post:3",
    ]


def test_reminders_whose_time_passed_before_the_review_opened_are_not_sent(
    due: Review, django_capture_on_commit_callbacks: Any
) -> None:
    # Due in 5 days: the 70- and 14-day reminders were never owed.
    mail.outbox.clear()
    assert sweep(at(due, days=-4), django_capture_on_commit_callbacks) == 0
    assert sweep(at(due, days=-1), django_capture_on_commit_callbacks) == 1
    assert len(mail.outbox) == 1 and "due in 1 day" in mail.outbox[0].subject


def test_a_late_sweep_sends_the_nearest_reminder_only(
    far: Review, django_capture_on_commit_callbacks: Any
) -> None:
    mail.outbox.clear()
    assert sweep(at(far, days=-10), django_capture_on_commit_callbacks) == 1
    assert sweep(at(far, days=-9), django_capture_on_commit_callbacks) == 0
    assert len(mail.outbox) == 1 and "due in 10 days" in mail.outbox[0].subject


def test_answering_the_review_stops_its_reminders(
    far: Review, owner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    lifecycle_review_respond(
        actor=Actor(user=owner), review=far, decision="approve", due_date=day(300)
    )
    mail.outbox.clear()
    for moment in (at(far, days=-1), at(far), at(far, days=5)):
        assert sweep(moment, django_capture_on_commit_callbacks) == 0
    assert mail.outbox == []


def test_deleting_the_entry_stops_its_reminders_and_a_restore_brings_the_review_back(
    far: Review,
    entry: Model,
    owner: Any,
    site_admin: Any,
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    deletion = model_delete(actor=Actor(user=owner), model_id=entry.pk, confirm=False)
    # The request hides the entry; the rows beneath it are hidden by the bulk step a worker runs.
    assert sweep(at(far, days=2), django_capture_on_commit_callbacks) == 0
    deletion = hide_beneath(deletion.pk) or deletion
    hidden = Review.all_objects.get(pk=far.pk)
    assert hidden.deleted_at is not None and hidden.deletion_id == deletion.pk
    assert deletion.counts["reviews"] == 1
    mail.outbox.clear()
    assert sweep(at(far, days=2), django_capture_on_commit_callbacks) == 0
    assert mail.outbox == []
    assert_refused(answer(client_for(owner), far.pk, dueDate=day(30)), 404)

    deletion_restore(actor=Actor(user=site_admin), deletion_id=deletion.pk)
    assert Review.objects.filter(pk=far.pk).exists()
    assert Deletion.objects.get(pk=deletion.pk).restored_at is not None
    assert sweep(at(far, days=2), django_capture_on_commit_callbacks) == 1


def test_the_sweep_is_on_the_default_queues_beat_schedule(settings: Any) -> None:
    from core.tasks import BEAT_SCHEDULE

    entry = BEAT_SCHEDULE["reviews-lifecycle-reminders"]
    assert entry["task"] == "reviews.send_lifecycle_reminders"
    assert entry["options"]["queue"] == "default"
    assert entry["schedule"] == settings.LIFECYCLE_REMINDER_SWEEP_EVERY.total_seconds()


def test_the_task_runs_the_sweep(eager_tasks: None, far: Review) -> None:
    from reviews.tasks import send_lifecycle_reminders

    # Due in 100 days and opened now: nothing is owed yet.
    assert send_lifecycle_reminders.delay().get() == 0
    assert datetime.now(UTC) < at(far, days=-70)


def test_the_database_holds_one_open_review_per_entry(due: Review, entry: Model) -> None:
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Review.objects.create(
            kind=ReviewKind.LIFECYCLE, model=entry, role="owner", due_date=timezone.now()
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Review.objects.create(kind=ReviewKind.LIFECYCLE, model=entry, role="owner")
