"""Deliveries, end to end against a real receiver on 127.0.0.1: what each event sends (Bailo's
bodies, our headers and signature), which webhooks fire, and how attempts are retried, timed out,
refused and recorded.

Events are caused through the features' own services. Their hooks fire after commit, so each is
caused inside ``django_capture_on_commit_callbacks(execute=True)`` (the test's transaction never
commits), with tasks run in this process (``eager_tasks``): the worker's code path, at once.
Retries are driven by calling the attempt again with a clock, never by sleeping.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from access.access_requests.selectors import access_request_json
from access.access_requests.services import access_request_create
from deletion.services import model_delete
from models_app.models import Model
from models_app.policy import Actor
from releases.models import Release
from releases.selectors import release_json
from releases.services import RELEASE_CREATED, release_update
from reviews.models import Review
from reviews.services import review_respond
from tests.releases.release_helpers import make_release, with_card
from tests.webhooks.conftest import add_webhook, documented_verify_signature
from tests.webhooks.receiver import Receiver, running
from webhooks import events
from webhooks.delivery import (
    MAX_ATTEMPTS,
    RETRY_BASE,
    deliveries_overdue,
    deliveries_prune,
    delivery_attempt,
    retry_delay,
)
from webhooks.models import DeliveryState, Webhook, WebhookDelivery
from webhooks.services import (
    delivery_redeliver,
    event_dispatch,
    webhook_send_test,
    webhook_update,
)
from webhooks.tasks import deliver

pytestmark = pytest.mark.django_db

REQUEST = {
    "overview": {
        "name": "Project Kite",
        "entities": ["user:cody"],
    }
}


# The receivers' check, exactly as the documentation gives it.
verify_signature = documented_verify_signature()


@pytest.fixture
def carded(entry: Model, owner: Any) -> Model:
    return with_card(entry, owner)


def only_delivery() -> WebhookDelivery:
    deliveries = list(WebhookDelivery.objects.all())
    assert len(deliveries) == 1, deliveries
    return deliveries[0]


def assert_signed_by(hook: Webhook, received: Any) -> None:
    header = received.headers["X-Bailo-Signature-256"]
    assert verify_signature(hook.secret, received.body, header), header


# --- what each event sends ------------------------------------------------------------------------


def test_creating_a_release_posts_bailos_body_signed_with_the_webhooks_secret(
    eager_tasks: None,
    hook: Webhook,
    receiver: Receiver,
    carded: Model,
    owner: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        release = make_release(carded, owner, "1.0.0", draft=True)

    assert receiver.count == 1
    received = receiver.received[0]
    assert received.path == "/hook"
    assert received.json() == {
        "event": "createRelease",
        "description": f"Release 1.0.0 has been created for model {carded.pk}",
        "release": release_json(Release.objects.get(pk=release.pk)),
    }
    delivery = only_delivery()
    headers = received.headers
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == "Bailo-Webhooks/1"
    assert headers["X-Bailo-Event"] == "createRelease"
    assert headers["X-Bailo-Delivery"] == str(delivery.pk)
    assert headers["X-Bailo-Delivery-Attempt"] == "1"
    assert headers["Authorization"] == "Bearer s3cret-bearer"
    assert_signed_by(hook, received)
    assert delivery.state == DeliveryState.SUCCEEDED and delivery.next_attempt_at is None
    [attempt] = delivery.attempts
    assert (attempt["number"], attempt["statusCode"], attempt["error"]) == (1, 200, "")
    assert '"received": true' in attempt["response"]


def test_a_signature_made_with_another_secret_does_not_verify(
    eager_tasks: None,
    hook: Webhook,
    receiver: Receiver,
    carded: Model,
    owner: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        make_release(carded, owner, "1.0.0")

    received = receiver.received[0]
    header = received.headers["X-Bailo-Signature-256"]
    assert not verify_signature("BWS_" + "0" * 48, received.body, header)
    assert not verify_signature(hook.secret, received.body + b" ", header)


def test_updating_a_release_posts_update_release(
    eager_tasks: None,
    hook: Webhook,
    receiver: Receiver,
    carded: Model,
    owner: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    release = make_release(carded, owner, "1.0.0")  # not committed: no event
    with django_capture_on_commit_callbacks(execute=True):
        release_update(actor=Actor(user=owner), release=release, changes={"notes": "Better"})

    [received] = receiver.received
    body = received.json()
    assert body["event"] == "updateRelease"
    assert body["description"] == f"Release 1.0.0 has been updated for model {carded.pk}"
    assert body["release"]["notes"] == "Better"
    assert received.headers["X-Bailo-Event"] == "updateRelease"


def test_a_review_response_posts_the_review_with_its_responses(
    eager_tasks: None,
    hook: Webhook,
    receiver: Receiver,
    carded: Model,
    owner: Any,
    reviewer: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    Webhook.objects.filter(pk=hook.pk).update(events=["createReviewResponse"])
    with django_capture_on_commit_callbacks(execute=True):
        release = make_release(carded, owner, "1.0.0")  # opens its reviews after commit
    review = Review.objects.get(release=release, role="msro")
    with django_capture_on_commit_callbacks(execute=True):
        review_respond(actor=Actor(user=reviewer), review=review, decision="approve")

    [received] = receiver.received
    body = received.json()
    assert body["event"] == "createReviewResponse"
    assert body["description"] == (
        f"A new response has been added to a review requested for Model {carded.pk}"
    )
    assert body["review"]["id"] == str(review.pk)
    assert (body["review"]["kind"], body["review"]["semver"]) == ("release", "1.0.0")
    assert body["review"]["status"] == "approve"
    assert [r["decision"] for r in body["review"]["responses"]] == ["approve"]


def test_an_access_request_posts_create_access_request(
    eager_tasks: None,
    hook: Webhook,
    receiver: Receiver,
    entry: Model,
    consumer: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        created = access_request_create(
            actor=Actor(user=consumer),
            model=entry,
            schema_id="minimal-access-request-general-v10",
            metadata=REQUEST,
        )

    [received] = receiver.received
    assert received.json() == {
        "event": "createAccessRequest",
        "description": f"Access Request {created.pk} has been created for model {entry.pk}",
        "accessRequest": access_request_json(created),
    }


def test_an_import_would_post_import_model_with_the_transfer(
    eager_tasks: None,
    hook: Webhook,
    receiver: Receiver,
    entry: Model,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The body of importModel (tests/mirroring shows an import sending it)."""
    transfer = {"exportId": "e1", "modelId": entry.pk, "status": "completed"}
    with django_capture_on_commit_callbacks(execute=True):
        events.model_imported(entry.pk, transfer)

    assert receiver.received[0].json() == {
        "event": "importModel",
        "description": f"Model {entry.pk} has been imported",
        "transfer": transfer,
    }


def test_without_a_token_there_is_no_authorization_header(
    eager_tasks: None,
    receiver: Receiver,
    carded: Model,
    owner: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    add_webhook(owner, carded, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        make_release(carded, owner, "1.0.0")

    assert "Authorization" not in receiver.received[0].headers


# --- which webhooks fire ------------------------------------------------------------------------


def test_a_webhook_gets_only_the_events_it_listens_to(
    eager_tasks: None,
    receiver: Receiver,
    carded: Model,
    owner: Any,
    consumer: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    add_webhook(owner, carded, receiver.url, events=["createAccessRequest"])
    with django_capture_on_commit_callbacks(execute=True):
        make_release(carded, owner, "1.0.0")
        access_request_create(
            actor=Actor(user=consumer),
            model=carded,
            schema_id="minimal-access-request-general-v10",
            metadata=REQUEST,
        )

    assert [r.json()["event"] for r in receiver.received] == ["createAccessRequest"]


def test_every_listening_webhook_of_the_model_gets_the_event_and_no_other_models_do(
    eager_tasks: None,
    carded: Model,
    public_entry: Model,
    owner: Any,
    allow_loopback: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with running() as first, running() as second, running() as elsewhere:
        add_webhook(owner, carded, first.url)
        add_webhook(owner, carded, second.url)
        add_webhook(owner, public_entry, elsewhere.url)
        with django_capture_on_commit_callbacks(execute=True):
            make_release(carded, owner, "1.0.0")

    assert (first.count, second.count, elsewhere.count) == (1, 1, 0)


def test_a_paused_webhook_sends_nothing(
    eager_tasks: None,
    hook: Webhook,
    receiver: Receiver,
    carded: Model,
    owner: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    webhook_update(actor=Actor(user=owner), webhook=hook, changes={"active": False})
    with django_capture_on_commit_callbacks(execute=True):
        make_release(carded, owner, "1.0.0")

    assert receiver.count == 0
    assert not WebhookDelivery.objects.exists()


def test_a_write_that_is_rolled_back_sends_nothing(
    eager_tasks: None,
    hook: Webhook,
    receiver: Receiver,
    carded: Model,
    owner: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                make_release(carded, owner, "1.0.0")
                raise RuntimeError("something later in the same transaction failed")
        except RuntimeError:
            pass

    assert callbacks == []
    assert receiver.count == 0 and not WebhookDelivery.objects.exists()


def test_a_failing_listener_neither_fails_the_write_nor_stops_the_webhooks(
    eager_tasks: None,
    hook: Webhook,
    receiver: Receiver,
    carded: Model,
    owner: Any,
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(release: Release) -> None:
        raise RuntimeError("a broken listener")

    RELEASE_CREATED.register(broken)
    try:
        with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
            release = make_release(carded, owner, "1.0.0")
    finally:
        RELEASE_CREATED.unregister(broken)

    assert Release.objects.filter(pk=release.pk).exists()
    assert receiver.count == 1
    assert "release created listener" in caplog.text


# --- retries, timeouts, refusals ------------------------------------------------------------------


def queued(
    hook: Webhook, *, event: str = "createRelease", at: datetime | None = None
) -> WebhookDelivery:
    """One delivery recorded for ``hook`` and not attempted yet (as an event leaves it)."""
    at = at or timezone.now()
    body = json.dumps({"event": event, "description": "d", "release": {"semver": "1.0.0"}})
    return WebhookDelivery.objects.create(
        webhook=hook, event=event, body=body, next_attempt_at=at, created_at=at
    )


def test_a_receiver_that_fails_then_recovers_gets_the_retries_and_each_attempt_is_recorded(
    allow_loopback: None, owner: Any, entry: Model
) -> None:
    start = timezone.now()
    with running(500, 502, 200) as receiver:
        hook = add_webhook(owner, entry, receiver.url)
        delivery = queued(hook, at=start)

        first = delivery_attempt(delivery_id=delivery.pk, now=start)
        early = delivery_attempt(delivery_id=delivery.pk, now=start + timedelta(seconds=30))
        assert first.retry_at is not None
        second = delivery_attempt(delivery_id=delivery.pk, now=first.retry_at)
        assert second.retry_at is not None
        third = delivery_attempt(delivery_id=delivery.pk, now=second.retry_at)

    assert early.retry_at is None and receiver.count == 3
    assert start + RETRY_BASE * 0.8 <= first.retry_at <= start + RETRY_BASE * 1.2
    gap = second.retry_at - first.retry_at
    assert RETRY_BASE * 2 * 0.8 <= gap <= RETRY_BASE * 2 * 1.2
    assert third.retry_at is None
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SUCCEEDED and delivery.attempt_count == 3
    assert [(a["number"], a["statusCode"]) for a in delivery.attempts] == [
        (1, 500),
        (2, 502),
        (3, 200),
    ]
    assert [a["error"] for a in delivery.attempts] == [
        "The receiver answered 500",
        "The receiver answered 502",
        "",
    ]
    assert [r.headers["X-Bailo-Delivery"] for r in receiver.received] == [str(delivery.pk)] * 3
    assert [r.headers["X-Bailo-Delivery-Attempt"] for r in receiver.received] == ["1", "2", "3"]
    assert len({r.body for r in receiver.received}) == 1
    for received in receiver.received:
        assert_signed_by(hook, received)


def test_a_receiver_that_keeps_failing_gets_six_attempts_over_about_an_hour(
    allow_loopback: None, owner: Any, entry: Model
) -> None:
    start = now = timezone.now()
    with running(500) as receiver:
        hook = add_webhook(owner, entry, receiver.url)
        delivery = queued(hook, at=start)
        for _ in range(MAX_ATTEMPTS):
            attempt = delivery_attempt(delivery_id=delivery.pk, now=now)
            now = attempt.retry_at or now
        after = delivery_attempt(delivery_id=delivery.pk, now=now + timedelta(days=1))

    assert receiver.count == MAX_ATTEMPTS == 6
    assert timedelta(minutes=49) < now - start < timedelta(minutes=75)
    assert after.retry_at is None
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED and delivery.next_attempt_at is None
    assert delivery.note == "Gave up after 6 attempts"
    assert [a["number"] for a in delivery.attempts] == [1, 2, 3, 4, 5, 6]


def test_a_delivery_whose_last_attempt_was_lost_is_not_tried_a_seventh_time(
    hook: Webhook, receiver: Receiver
) -> None:
    """A worker died during the sixth attempt: the sweep queues the delivery again once its lease
    has run out, and it is given up rather than tried beyond the limit."""
    delivery = queued(hook)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempt_count=MAX_ATTEMPTS)

    attempt = delivery_attempt(delivery_id=delivery.pk)

    assert receiver.count == 0 and attempt.retry_at is None
    delivery.refresh_from_db()
    assert (delivery.state, delivery.note) == ("failed", "Gave up after 6 attempts")


def test_the_backoff_doubles_and_is_jittered_within_a_fifth() -> None:
    lowest = [retry_delay(n, jitter=lambda low, high: low) for n in range(1, 6)]
    highest = [retry_delay(n, jitter=lambda low, high: high) for n in range(1, 6)]

    assert lowest == [96, 192, 384, 768, 1536]
    assert highest == [144, 288, 576, 1152, 2304]
    assert retry_delay(1) != retry_delay(1) or retry_delay(2) != retry_delay(2)


def test_a_receiver_that_hangs_times_out_and_the_delivery_waits_for_its_retry(
    allow_loopback: None, owner: Any, entry: Model, settings: Any
) -> None:
    settings.WEBHOOK_TIMEOUT = 0.3
    with running(200, hang=True) as receiver:
        hook = add_webhook(owner, entry, receiver.url)
        delivery = queued(hook)
        attempt = delivery_attempt(delivery_id=delivery.pk)

    assert attempt.retry_at is not None
    delivery.refresh_from_db()
    [record] = delivery.attempts
    assert record["error"] == "Timed out after 0.3 s" and record["statusCode"] is None
    assert delivery.state == DeliveryState.PENDING
    assert record["durationMs"] < 5_000  # the attempt ended at the timeout, not with the receiver


@pytest.mark.parametrize(("insecure_ssl", "delivered"), [(False, False), (True, True)])
def test_tls_certificates_are_checked_unless_the_webhook_says_insecure_ssl(
    allow_loopback: None, owner: Any, entry: Model, insecure_ssl: bool, delivered: bool
) -> None:
    """Bailo inverted this flag: its default turned checking off."""
    with running(200, tls=True) as receiver:
        hook = add_webhook(owner, entry, receiver.url, insecureSSL=insecure_ssl)
        delivery = queued(hook)
        delivery_attempt(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert receiver.count == int(delivered)
    assert (delivery.state == DeliveryState.SUCCEEDED) is delivered
    if not delivered:
        assert "certificate verify failed" in delivery.attempts[0]["error"]


def test_a_target_no_longer_allowed_is_refused_at_delivery_and_not_retried(
    owner: Any, entry: Model, settings: Any
) -> None:
    with running() as receiver:
        settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
        hook = add_webhook(owner, entry, receiver.url)
        delivery = queued(hook)
        settings.WEBHOOK_ALLOWED_HOSTS = []
        attempt = delivery_attempt(delivery_id=delivery.pk)

    assert receiver.count == 0 and attempt.retry_at is None
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED
    assert delivery.note == "Not retried: the target's address is not allowed"
    assert delivery.attempts[0]["error"].startswith("Refused: 127.0.0.1 is on a loopback")


def test_a_host_name_that_resolves_to_loopback_is_refused_at_delivery_when_not_allowed(
    owner: Any, entry: Model, settings: Any
) -> None:
    with running() as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        settings.WEBHOOK_ALLOWED_HOSTS = ["localhost"]
        hook = add_webhook(owner, entry, f"http://localhost:{port}/hook")
        delivery = queued(hook)
        settings.WEBHOOK_ALLOWED_HOSTS = []
        delivery_attempt(delivery_id=delivery.pk)

    assert receiver.count == 0
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED
    assert "localhost is on a loopback" in delivery.attempts[0]["error"]


def test_a_queued_delivery_of_a_deleted_model_is_dropped_and_nothing_is_sent(
    hook: Webhook, receiver: Receiver, carded: Model, owner: Any
) -> None:
    release = make_release(carded, owner, "1.0.0")
    delivery = queued(hook)
    model_delete(actor=Actor(user=owner), model_id=carded.pk, confirm_name=carded.name)

    attempt = delivery_attempt(delivery_id=delivery.pk)
    events.release_updated(release)  # an event arriving after the deletion

    assert receiver.count == 0 and attempt.retry_at is None
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DROPPED
    assert delivery.note == "Not sent: the model was deleted"
    assert WebhookDelivery.objects.count() == 1


def test_a_queued_delivery_of_a_webhook_paused_meanwhile_is_dropped(
    hook: Webhook, receiver: Receiver, owner: Any
) -> None:
    delivery = queued(hook)
    webhook_update(actor=Actor(user=owner), webhook=hook, changes={"active": False})

    delivery_attempt(delivery_id=delivery.pk)

    assert receiver.count == 0
    delivery.refresh_from_db()
    assert (delivery.state, delivery.note) == ("dropped", "Not sent: the webhook is paused")


def test_a_queued_delivery_of_a_deleted_webhook_is_forgotten(
    hook: Webhook, receiver: Receiver
) -> None:
    delivery_id = queued(hook).pk
    Webhook.all_objects.filter(pk=hook.pk).delete()

    attempt = delivery_attempt(delivery_id=delivery_id)

    assert attempt.delivery is None and receiver.count == 0


def test_a_finished_delivery_is_not_attempted_again(hook: Webhook, receiver: Receiver) -> None:
    delivery = queued(hook)
    delivery_attempt(delivery_id=delivery.pk)
    again = delivery_attempt(delivery_id=delivery.pk)

    assert receiver.count == 1 and again.retry_at is None


def test_the_task_attempts_once_and_a_failure_is_queued_for_later_not_run_again_at_once(
    eager_tasks: None, allow_loopback: None, owner: Any, entry: Model
) -> None:
    with running(500) as receiver:
        hook = add_webhook(owner, entry, receiver.url)
        delivery = queued(hook)

        state = deliver.apply(args=(str(delivery.pk),)).get()

    # The retry was queued with a countdown; run eagerly it finds itself not due and stops.
    assert state == "pending" and receiver.count == 1


# --- manual sends ---------------------------------------------------------------------------------


def test_send_test_event_posts_a_signed_test_body(
    eager_tasks: None,
    hook: Webhook,
    receiver: Receiver,
    owner: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        webhook_send_test(actor=Actor(user=owner), webhook=hook)

    [received] = receiver.received
    assert received.json() == {
        "event": "test",
        "description": f"A test event for webhook CI hook of model {hook.model_id}",
        "webhook": {"id": hook.pk, "name": "CI hook", "modelId": hook.model_id},
    }
    assert received.headers["X-Bailo-Event"] == "test"
    assert_signed_by(hook, received)


def test_redelivering_sends_the_same_body_as_a_new_delivery(
    eager_tasks: None,
    hook: Webhook,
    receiver: Receiver,
    owner: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    first = queued(hook)
    delivery_attempt(delivery_id=first.pk)
    first.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        again = delivery_redeliver(actor=Actor(user=owner), delivery=first)

    assert receiver.count == 2
    assert receiver.received[0].body == receiver.received[1].body
    assert receiver.received[1].headers["X-Bailo-Delivery"] == str(again.pk) != str(first.pk)
    again.refresh_from_db()
    assert again.redelivery_of == first.pk and again.state == DeliveryState.SUCCEEDED


def test_a_pending_delivery_or_a_paused_webhook_cannot_be_redelivered_or_tested(
    hook: Webhook, owner: Any
) -> None:
    from core.errors import Conflict

    pending = queued(hook)
    with pytest.raises(Conflict, match="still being attempted"):
        delivery_redeliver(actor=Actor(user=owner), delivery=pending)
    WebhookDelivery.objects.filter(pk=pending.pk).update(state="failed", next_attempt_at=None)
    pending.refresh_from_db()
    paused = webhook_update(actor=Actor(user=owner), webhook=hook, changes={"active": False})
    with pytest.raises(Conflict, match="paused"):
        delivery_redeliver(actor=Actor(user=owner), delivery=pending)
    with pytest.raises(Conflict, match="paused"):
        webhook_send_test(actor=Actor(user=owner), webhook=paused)
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.parametrize("persona", ["contributor", "consumer", "reviewer", "site_admin"])
def test_only_owners_send_test_events_or_redeliver(
    hook: Webhook, personas: dict[str, Any], persona: str
) -> None:
    from core.errors import Forbidden

    done = queued(hook)
    WebhookDelivery.objects.filter(pk=done.pk).update(state="succeeded", next_attempt_at=None)
    done.refresh_from_db()
    actor = Actor(user=personas[persona])
    with pytest.raises(Forbidden):
        webhook_send_test(actor=actor, webhook=hook)
    with pytest.raises(Forbidden):
        delivery_redeliver(actor=actor, delivery=done)
    assert WebhookDelivery.objects.count() == 1


# --- the sweeps -----------------------------------------------------------------------------------


def test_pending_deliveries_well_past_due_are_found_for_queueing_again(hook: Webhook) -> None:
    now = timezone.now()
    lost = queued(hook, at=now - timedelta(minutes=10))
    queued(hook, at=now - timedelta(seconds=30))  # just due: its task is on its way
    queued(hook, at=now + timedelta(minutes=5))  # a retry not due yet
    done = queued(hook, at=now - timedelta(hours=1))
    WebhookDelivery.objects.filter(pk=done.pk).update(state="succeeded", next_attempt_at=None)

    assert deliveries_overdue(now=now) == [str(lost.pk)]


def test_the_sweeps_are_scheduled_and_a_lost_delivery_is_sent_when_the_sweep_runs(
    eager_tasks: None, hook: Webhook, receiver: Receiver
) -> None:
    from core.tasks import BEAT_SCHEDULE
    from webhooks.tasks import prune_deliveries, requeue_overdue

    lost = queued(hook, at=timezone.now() - timedelta(minutes=10))

    assert requeue_overdue.apply().get() == 1
    assert prune_deliveries.apply().get() == 0
    assert receiver.count == 1
    lost.refresh_from_db()
    assert lost.state == DeliveryState.SUCCEEDED
    scheduled = {entry["task"]: entry for entry in BEAT_SCHEDULE.values()}
    assert scheduled["webhooks.requeue_overdue"]["schedule"] == 60
    assert scheduled["webhooks.requeue_overdue"]["options"] == {"queue": "webhooks"}
    assert "webhooks.prune_deliveries" in scheduled


def test_finished_deliveries_past_their_retention_are_removed(hook: Webhook, settings: Any) -> None:
    settings.WEBHOOK_DELIVERY_RETENTION = timedelta(days=30)
    now = timezone.now()
    old_done = queued(hook, at=now - timedelta(days=31))
    WebhookDelivery.objects.filter(pk=old_done.pk).update(state="failed", next_attempt_at=None)
    old_pending = queued(hook, at=now - timedelta(days=31))
    recent = queued(hook, at=now - timedelta(days=1))
    WebhookDelivery.objects.filter(pk=recent.pk).update(state="succeeded", next_attempt_at=None)

    assert deliveries_prune(now=now) == 1
    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {
        old_pending.pk,
        recent.pk,
    }


def test_event_dispatch_builds_the_body_only_when_a_webhook_listens(
    entry: Model, owner: Any
) -> None:
    built: list[bool] = []

    def content() -> dict[str, Any]:
        built.append(True)
        return {}

    from webhooks.models import WebhookEvent

    assert (
        event_dispatch(
            model_id=entry.pk, event=WebhookEvent.CREATE_RELEASE, description="d", content=content
        )
        == []
    )
    assert built == []
    assert uuid.UUID(str(queued(add_webhook(owner, entry, "https://93.184.215.14/x")).pk))
