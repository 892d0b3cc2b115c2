"""My access: every entry you can use and why, and every access request you made or are named in,
with its state."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from access.access_requests.selectors import my_access
from access.access_requests.services import access_request_delete, today
from models_app.models import Collaborator, Model
from models_app.policy import Actor
from models_app.services import model_update
from tests.access.access_request_helpers import ask, decide, move_clock

pytestmark = pytest.mark.django_db


def entry_of(access: Any, model: Model) -> Any:
    return next((e for e in access.entries if e.model.pk == model.pk), None)


def test_a_consumer_sees_their_role_and_that_downloading_needs_a_request(
    consumer: Any, entry: Model
) -> None:
    access = my_access(actor=Actor(user=consumer))
    row = entry_of(access, entry)
    assert [(r.role, r.via) for r in row.roles] == [("consumer", "user:cody")]
    assert not row.downloads
    assert row.download_reason == "Needs an approved access request"
    assert access.requests == []


def test_an_approved_request_lists_the_entry_with_its_end_date_and_the_request_with_its_state(
    consumer: Any, reviewer: Any, outsider: Any, public_entry: Model
) -> None:
    end = today() + timedelta(days=9)
    access_request = ask(consumer, public_entry, entities=["user:olive"], end=end)
    assert (
        entry_of(my_access(actor=Actor(user=outsider)), public_entry) is None
    )  # pending: no access yet
    decide(reviewer, access_request)
    access = my_access(actor=Actor(user=outsider))
    row = entry_of(access, public_entry)
    assert row.roles == []
    assert [g.pk for g in row.grants] == [access_request.pk]
    assert row.downloads and row.download_reason == "Through an approved access request"
    [request_row] = access.requests
    assert (request_row.state, request_row.made_by_me, request_row.names_me) == (
        "approved",
        False,
        True,
    )
    # The author is not named: the request gives them nothing (they are only a consumer here).
    by_author = my_access(actor=Actor(user=consumer))
    assert entry_of(by_author, public_entry).grants == []
    assert not entry_of(by_author, public_entry).downloads
    assert [(r.state, r.made_by_me, r.names_me) for r in by_author.requests] == [
        ("approved", True, False)
    ]


def test_roles_held_through_a_group_say_so(outsider: Any, make_entry: Any) -> None:
    outsider.groups.add(Group.objects.create(name="analysts"))
    model = make_entry("Group model")
    Collaborator.objects.create(model=model, entity="group:analysts", role="contributor")
    row = entry_of(my_access(actor=Actor(user=outsider)), model)
    assert [(r.role, r.via) for r in row.roles] == [("contributor", "group:analysts")]
    assert row.downloads and row.download_reason == "As contributor"


def test_states_are_pending_changes_requested_and_expired_and_withdrawn_ones_are_gone(
    consumer: Any, reviewer: Any, entry: Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    ask(consumer, entry, name="Waiting")
    decide(reviewer, ask(consumer, entry, name="Questioned"), "request_changes", "Why?")
    decide(reviewer, ask(consumer, entry, name="Short", end=today()))
    withdrawn = ask(consumer, entry, name="Withdrawn")
    access_request_delete(actor=Actor(user=consumer), access_request=withdrawn)
    states = {
        r.access_request.name: r.state for r in my_access(actor=Actor(user=consumer)).requests
    }
    assert states == {"Waiting": "pending", "Questioned": "changes_requested", "Short": "approved"}
    assert entry_of(my_access(actor=Actor(user=consumer)), entry).downloads
    move_clock(monkeypatch, days=1)
    access = my_access(actor=Actor(user=consumer))
    states = {r.access_request.name: r.state for r in access.requests}
    assert states["Short"] == "expired"
    assert entry_of(access, entry).grants == []
    assert not entry_of(access, entry).downloads


def test_ungoverned_entries_are_not_listed_without_a_role(
    owner: Any, outsider: Any, public_entry: Model
) -> None:
    model_update(
        actor=Actor(user=owner),
        model=public_entry,
        changes={"settings": {"ungovernedAccess": True}},
    )
    assert entry_of(my_access(actor=Actor(user=outsider)), public_entry) is None
    assert entry_of(my_access(actor=Actor(user=owner)), public_entry) is not None


def test_requests_on_an_entry_that_became_invisible_are_not_listed(
    owner: Any, consumer: Any, public_entry: Model
) -> None:
    access_request = ask(consumer, public_entry, entities=["user:cody"])
    Collaborator.objects.filter(model=public_entry, entity="user:cody").delete()
    assert [r.access_request.pk for r in my_access(actor=Actor(user=consumer)).requests] == [
        access_request.pk
    ]
    model_update(actor=Actor(user=owner), model=public_entry, changes={"visibility": "private"})
    assert my_access(actor=Actor(user=consumer)).requests == []


def test_the_page_shows_both_lists(
    client_for: Any, consumer: Any, reviewer: Any, entry: Model
) -> None:
    decide(
        reviewer, ask(consumer, entry, name="Kestrel evaluation", end=today() + timedelta(days=2))
    )
    response = client_for(consumer).get("/access")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Entries you can use" in page and "Your access requests" in page
    assert f'href="/model/{entry.pk}"' in page
    assert "Kestrel evaluation" in page
    assert "Through an approved access request" in page
    assert "chip-access-approved" in page
    assert "Made it, named in it" in page


def test_the_page_needs_a_sign_in(client_for: Any) -> None:
    response = client_for(None).get("/access")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_page_takes_the_same_queries_however_many_entries_and_requests(
    client_for: Any, consumer: Any, reviewer: Any, make_entry: Any
) -> None:
    client = client_for(consumer)
    first = make_entry("Model 0")
    decide(reviewer, ask(consumer, first, name="Request 0"))
    client.get("/access")
    with CaptureQueriesContext(connection) as one:
        client.get("/access")
    for n in range(1, 5):
        model = make_entry(f"Model {n}")
        decide(reviewer, ask(consumer, model, name=f"Request {n}"), "request_changes", "Why?")
    client.get("/access")  # the navigation's review badge is counted again after the writes
    with CaptureQueriesContext(connection) as five:
        assert client.get("/access").status_code == 200
    assert len(five) == len(one)
