"""The Webhooks section of an entry's settings and the webhook pages: server-rendered, working
without JavaScript (each action a POST form that redirects back), errors beside their fields, the
secret shown once, and every page and action refused to anyone but the entry's owners."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from models_app.models import Model
from tests.webhooks.conftest import add_webhook
from tests.webhooks.receiver import Receiver
from webhooks.models import Webhook, WebhookDelivery

pytestmark = pytest.mark.django_db

URI = "http://127.0.0.1:9/hook"


@pytest.fixture(autouse=True)
def _loopback(allow_loopback: None) -> None:
    """The URIs here point at 127.0.0.1, which the tests allow as an administrator would."""


def settings_url(model: Model) -> str:
    return f"/model/{model.pk}/settings"


def page_url(webhook: Webhook, suffix: str = "") -> str:
    return f"/model/{webhook.model_id}/settings/webhooks/{webhook.pk}{suffix}"


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def form(**fields: Any) -> dict[str, Any]:
    data = {"name": "CI", "uri": URI, "events": ["createRelease"], "active": "on"}
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


# --- the settings section -----------------------------------------------------------------------


def test_owners_see_the_webhooks_section_listing_each_webhook(
    client_for: Any, owner: Any, entry: Model
) -> None:
    add_webhook(owner, entry, URI, name="Everything")
    add_webhook(owner, entry, URI + "/2", name="Releases only", events=["createRelease"])

    page = text(client_for(owner).get(settings_url(entry)))

    assert 'id="webhooks"' in page and '<a href="#webhooks">Webhooks</a>' in page
    assert "Everything" in page and "All events" in page
    assert "Releases only" in page and "A release is created" in page
    assert f'href="/model/{entry.pk}/settings/webhooks/new"' in page
    assert page.index('id="webhooks"') < page.index('id="deletion"')


def test_administrators_see_the_settings_page_but_not_the_webhooks_section(
    client_for: Any, site_admin: Any, owner: Any, entry: Model
) -> None:
    add_webhook(owner, entry, URI)

    response = client_for(site_admin).get(settings_url(entry))

    assert response.status_code == 200
    assert 'id="webhooks"' not in response.content.decode()


def test_data_cards_have_no_webhooks_section(client_for: Any, owner: Any, make_entry: Any) -> None:
    card = make_entry("A data card", kind="data-card")

    page = client_for(owner).get(settings_url(card)).content.decode()

    assert 'id="webhooks"' not in page


def test_the_section_costs_the_same_queries_whatever_the_number_of_webhooks(
    client_for: Any, owner: Any, entry: Model
) -> None:
    client = client_for(owner)
    add_webhook(owner, entry, URI)
    client.get(settings_url(entry))  # warm the session and caches
    with CaptureQueriesContext(connection) as one:
        client.get(settings_url(entry))
    for n in range(5):
        hook = add_webhook(owner, entry, URI, name=f"hook {n}")
        WebhookDelivery.objects.create(webhook=hook, event="test", body="{}", state="failed")
    with CaptureQueriesContext(connection) as six:
        client.get(settings_url(entry))

    assert len(six) == len(one)


# --- adding ---------------------------------------------------------------------------------------


def test_adding_a_webhook_shows_its_secret_once(client_for: Any, owner: Any, entry: Model) -> None:
    client = client_for(owner)
    blank = text(client.get(f"/model/{entry.pk}/settings/webhooks/new"))
    assert 'name="name"' in blank
    assert blank.count('name="events"') == blank.count('name="events" value="') == 5
    assert re.search(r'value="importModel" id="id_events_4" checked', blank)

    response = client.post(
        f"/model/{entry.pk}/settings/webhooks/new",
        form(token="bearer-1", events=["createRelease", "updateRelease"]),
    )

    webhook = Webhook.objects.get()
    assert response.status_code == 302 and response["Location"] == page_url(webhook)
    assert (webhook.name, webhook.uri, webhook.token) == ("CI", URI, "bearer-1")
    assert webhook.events == ["createRelease", "updateRelease"] and webhook.active
    first = client.get(page_url(webhook))
    assert webhook.secret in first.content.decode()
    assert "no-cache" in first["Cache-Control"] or "max-age=0" in first["Cache-Control"]
    assert "Webhook “CI” was added." in text(first)
    assert webhook.secret not in client.get(page_url(webhook)).content.decode()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        (
            {"uri": "http://10.1.1.1/hook"},
            "uri",
            "10.1.1.1 is on a loopback, link-local or private",
        ),
        ({"uri": "ftp://127.0.0.1/x"}, "uri", "The URI must start with http:// or https://"),
        ({"events": None}, "events", "Choose at least one event."),
        ({"token": "has space"}, "token", "must be printable ASCII characters without spaces"),
    ],
)
def test_a_mistake_is_shown_beside_its_field_and_nothing_is_added(
    client_for: Any, owner: Any, entry: Model, fields: dict[str, Any], field: str, message: str
) -> None:
    response = client_for(owner).post(f"/model/{entry.pk}/settings/webhooks/new", form(**fields))

    assert response.status_code == 400
    page = text(response)
    error = re.search(rf'<small id="id_{field}_error" class="field-error">(.*?)</small>', page)
    assert error is not None, page
    assert message in error.group(1)
    assert not Webhook.all_objects.exists()
    # What was typed is kept (except the token, never echoed back).
    if field != "name":
        assert 'value="CI"' in page


# --- one webhook's page and its actions ------------------------------------------------------


def test_editing_changes_the_webhook_and_keeps_the_token_unless_replaced_or_removed(
    client_for: Any, owner: Any, entry: Model
) -> None:
    webhook = add_webhook(owner, entry, URI, token="bearer-1")
    client = client_for(owner)
    page = text(client.get(page_url(webhook, "/edit")))
    assert 'value="CI hook"' in page and "bearer-1" not in page and "A token is set" in page

    client.post(page_url(webhook, "/edit"), form(name="Renamed", insecure_ssl="on"))
    kept = Webhook.objects.get(pk=webhook.pk)
    client.post(page_url(webhook, "/edit"), form(remove_token="on"))
    removed = Webhook.objects.get(pk=webhook.pk)

    assert (kept.name, kept.insecure_ssl, kept.token) == ("Renamed", True, "bearer-1")
    assert removed.token == ""


def test_an_edit_to_a_private_target_is_refused_beside_the_url(
    client_for: Any, owner: Any, entry: Model
) -> None:
    webhook = add_webhook(owner, entry, URI)

    response = client_for(owner).post(page_url(webhook, "/edit"), form(uri="http://[::1]/x"))

    assert response.status_code == 400
    assert 'id="id_uri_error"' in response.content.decode()
    assert Webhook.objects.get(pk=webhook.pk).uri == URI


def test_pausing_and_resuming_from_the_settings_page(
    client_for: Any, owner: Any, entry: Model
) -> None:
    webhook = add_webhook(owner, entry, URI)
    client = client_for(owner)

    paused = client.post(page_url(webhook, "/active"), {"active": "0", "next": "settings"})
    state_after_pause = Webhook.objects.get(pk=webhook.pk).active
    resumed = client.post(page_url(webhook, "/active"), {"active": "1"})

    assert paused["Location"] == f"/model/{entry.pk}/settings#webhooks"
    assert state_after_pause is False
    assert resumed["Location"] == page_url(webhook)
    assert Webhook.objects.get(pk=webhook.pk).active is True


def test_send_test_event_and_redeliver_show_their_outcome_on_the_page(
    eager_tasks: None,
    client_for: Any,
    owner: Any,
    entry: Model,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    webhook = add_webhook(owner, entry, receiver.url)
    client = client_for(owner)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(page_url(webhook, "/test"))
    delivery = WebhookDelivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(page_url(webhook, f"/deliveries/{delivery.pk}/redeliver"))
    page = text(client.get(page_url(webhook)))

    assert again["Location"] == page_url(webhook)
    assert receiver.count == 2
    assert page.count("Delivered") >= 2 and "HTTP 200" in page
    assert str(delivery.pk) in page and "redelivery" in page
    assert "&quot;event&quot;: &quot;test&quot;" in page


def test_a_paused_webhook_refuses_a_test_event_with_a_message(
    client_for: Any, owner: Any, entry: Model
) -> None:
    webhook = add_webhook(owner, entry, URI, active=False)
    client = client_for(owner)

    response = client.post(page_url(webhook, "/test"), follow=True)

    assert "This webhook is paused" in text(response)
    assert not WebhookDelivery.objects.exists()


def test_a_new_secret_is_shown_once_and_replaces_the_old_one(
    client_for: Any, owner: Any, entry: Model
) -> None:
    webhook = add_webhook(owner, entry, URI)
    client = client_for(owner)

    response = client.post(page_url(webhook, "/secret"))
    secret = Webhook.objects.get(pk=webhook.pk).secret

    assert response["Location"] == page_url(webhook)
    assert secret != webhook.secret
    assert secret in client.get(page_url(webhook)).content.decode()
    assert secret not in client.get(page_url(webhook)).content.decode()


def test_deleting_asks_first_then_removes_the_webhook(
    client_for: Any, owner: Any, entry: Model
) -> None:
    webhook = add_webhook(owner, entry, URI)
    client = client_for(owner)

    confirm = client.get(page_url(webhook, "/delete"))
    assert "Delete webhook CI hook?" in text(confirm)
    assert Webhook.objects.filter(pk=webhook.pk).exists()
    response = client.post(page_url(webhook, "/delete"))

    assert response["Location"] == f"/model/{entry.pk}/settings#webhooks"
    assert not Webhook.all_objects.filter(pk=webhook.pk).exists()


# --- refusals -------------------------------------------------------------------------------------

PAGES = [
    ("get", "/new"),
    ("post", "/new"),
    ("get", ""),
    ("get", "/edit"),
    ("post", "/edit"),
    ("post", "/active"),
    ("post", "/test"),
    ("post", "/secret"),
    ("get", "/delete"),
    ("post", "/delete"),
    ("post", "/deliveries/{delivery}/redeliver"),
]


@pytest.mark.parametrize(("method", "suffix"), PAGES, ids=[f"{m} {s}" for m, s in PAGES])
@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("contributor", 403),
        ("consumer", 403),
        ("reviewer", 403),
        ("site_admin", 403),
        ("outsider", 404),
        ("anonymous", 302),
    ],
)
def test_only_owners_reach_the_webhook_pages_and_actions(
    client_for: Any,
    personas: dict[str, Any],
    entry: Model,
    method: str,
    suffix: str,
    persona: str,
    status: int,
) -> None:
    webhook = add_webhook(personas["owner"], entry, URI)
    delivery = WebhookDelivery.objects.create(
        webhook=webhook, event="test", body="{}", state="failed"
    )
    before = list(Webhook.objects.values())
    url = (
        f"/model/{entry.pk}/settings/webhooks/new"
        if suffix == "/new"
        else page_url(webhook, suffix.replace("{delivery}", str(delivery.pk)))
    )
    client = client_for(personas[persona])

    response = getattr(client, method)(url, form(name="Taken over", remove_token="on"))

    assert response.status_code == status
    if status == 302:
        assert response["Location"].startswith("/login/")
    assert list(Webhook.objects.values()) == before
    assert WebhookDelivery.objects.count() == 1


def test_a_webhook_of_another_model_is_not_found_under_this_one(
    client_for: Any, owner: Any, entry: Model, public_entry: Model
) -> None:
    other = add_webhook(owner, public_entry, URI)
    client: Client = client_for(owner)

    for method, suffix in (("get", ""), ("post", "/edit"), ("post", "/delete")):
        url = f"/model/{entry.pk}/settings/webhooks/{other.pk}{suffix}"
        assert getattr(client, method)(url, form()).status_code == 404, suffix
    assert Webhook.objects.filter(pk=other.pk, model=public_entry).exists()
