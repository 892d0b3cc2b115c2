"""Access request pages: the entry tab, asking for access, a request's page, editing and
withdrawing; refusals show on the page with their status and store nothing."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from access.access_requests.services import today
from access.models import AccessRequest
from models_app.models import Model, Schema
from reviews.models import Review
from tests.access.access_request_helpers import SCHEMA, ask, counts, decide

pytestmark = pytest.mark.django_db


def form_data(
    name: str = "Evaluation",
    entities: str = "user:cody",
    end: str = "",
    justification: str = "To evaluate it.",
) -> dict[str, str]:
    return {
        "card.overview.name": name,
        "card.overview.entities": entities,
        "card.overview.endDate": end,
        "card.overview.justification": justification,
    }


def new_url(model: Model, schema_id: str = SCHEMA) -> str:
    return f"/model/{model.pk}/access-request/new/{schema_id}"


def detail_url(access_request: AccessRequest) -> str:
    return f"/model/{access_request.model_id}/access-request/{access_request.pk}"


def text(response: Any) -> str:
    return response.content.decode()


# --- the tab ----------------------------------------------------------------------------------


def test_the_tab_lists_requests_with_their_state_and_offers_a_request_button(
    client_for: Any, consumer: Any, reviewer: Any, entry: Model
) -> None:
    approved = ask(consumer, entry, name="Approved one", end=today() + timedelta(days=5))
    decide(reviewer, approved)
    ask(consumer, entry, name="Waiting one", entities=["user:cody", "group:analysts"])
    response = client_for(consumer).get(f"/model/{entry.pk}/access-requests")
    assert response.status_code == 200
    page = text(response)
    assert 'aria-current="page">Access requests</a>' in page
    assert "Approved one" in page and "Waiting one" in page
    assert "chip-access-approved" in page and "chip-access-pending" in page
    assert 'title="group:analysts"' in page and ">analysts</span>" in page
    assert (today() + timedelta(days=5)).isoformat() in page
    assert 'by <span class="person" title="user:cody">' in page
    assert f'href="/model/{entry.pk}/access-request/new"' in page


def test_the_tab_shows_on_models_and_not_on_data_cards(
    client_for: Any, consumer: Any, entry: Model, make_entry: Any
) -> None:
    overview = text(client_for(consumer).get(f"/model/{entry.pk}"))
    assert f'href="/model/{entry.pk}/access-requests"' in overview
    card = make_entry("Survey data", kind="data-card")
    assert "access-requests" not in text(client_for(consumer).get(f"/model/{card.pk}"))
    assert client_for(consumer).get(f"/model/{card.pk}/access-requests").status_code == 404
    assert client_for(consumer).get(f"/model/{card.pk}/access-request/new").status_code == 404


def test_an_outsider_gets_404_on_a_private_model_and_a_signed_out_visitor_signs_in(
    client_for: Any, outsider: Any, consumer: Any, entry: Model
) -> None:
    access_request = ask(consumer, entry)
    for url in (f"/model/{entry.pk}/access-requests", detail_url(access_request), new_url(entry)):
        assert client_for(outsider).get(url).status_code == 404
        assert client_for(None).get(url).status_code == 302


def test_the_list_page_takes_the_same_queries_however_many_requests(
    client_for: Any, consumer: Any, reviewer: Any, entry: Model
) -> None:
    client = client_for(consumer)
    url = f"/model/{entry.pk}/access-requests"
    decide(reviewer, ask(consumer, entry, name="First"))
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for n in range(4):
        decide(reviewer, ask(consumer, entry, name=f"More {n}"), "request_changes", "Why?")
    client.get(url)  # the navigation's review badge is counted again after the writes
    with CaptureQueriesContext(connection) as five:
        assert client.get(url).status_code == 200
    assert len(five) == len(one)


# --- asking -----------------------------------------------------------------------------------


def test_with_one_usable_schema_request_access_goes_straight_to_the_form(
    client_for: Any, consumer: Any, entry: Model
) -> None:
    Schema.objects.filter(kind="accessRequest").exclude(pk=SCHEMA).update(hidden=True)
    response = client_for(consumer).get(f"/model/{entry.pk}/access-request/new")
    assert response.status_code == 302
    assert response["Location"] == new_url(entry)


def test_with_several_schemas_the_user_picks_one(
    client_for: Any, consumer: Any, entry: Model
) -> None:
    body = Schema.objects.get(pk=SCHEMA).json_schema
    Schema.objects.create(
        id="export-access-v1",
        name="Export access",
        kind="accessRequest",
        json_schema=body,
        review_roles=["msro", "mtr"],
    )
    Schema.objects.create(
        id="old-access-v1", name="Old access", kind="accessRequest", json_schema=body, hidden=True
    )
    response = client_for(consumer).get(f"/model/{entry.pk}/access-request/new")
    page = text(response)
    assert response.status_code == 200
    assert new_url(entry, "export-access-v1") in page and new_url(entry) in page
    assert "old-access-v1" not in page


def test_the_form_starts_with_the_user_named_and_sends_the_request(
    client_for: Any, consumer: Any, entry: Model
) -> None:
    client = client_for(consumer)
    page = text(client.get(new_url(entry)))
    assert 'name="card.overview.entities" value="user:cody"' in page
    assert 'type="date" id="q-overview--endDate"' in page
    end = (today() + timedelta(days=3)).isoformat()
    response = client.post(new_url(entry), form_data(entities="user:cody, group:analysts", end=end))
    access_request = AccessRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(access_request)
    assert access_request.metadata["overview"] == {
        "name": "Evaluation",
        "entities": ["user:cody", "group:analysts"],
        "endDate": end,
        "justification": "To evaluate it.",
    }
    assert Review.objects.filter(access_request=access_request, role="msro").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (form_data(entities="user:cody, user:nobody"), "Unknown user &#x27;nobody&#x27;"),
        (form_data(end="2001-01-01"), "in the past"),
        (form_data(justification=""), "is required"),
    ],
)
def test_bad_answers_show_beside_the_question_and_nothing_is_stored(
    client_for: Any, consumer: Any, entry: Model, data: dict[str, str], message: str
) -> None:
    before = counts()
    response = client_for(consumer).post(new_url(entry), data)
    assert response.status_code == 400
    page = text(response)
    assert "The access request was not sent" in page
    assert message in page
    assert 'aria-invalid="true"' in page
    assert counts() == before


def test_an_unknown_or_retired_schema_is_refused(
    client_for: Any, consumer: Any, entry: Model
) -> None:
    client = client_for(consumer)
    assert client.get(new_url(entry, "no-such-schema")).status_code == 404
    assert client.get(new_url(entry, "minimal-general-v10")).status_code == 400
    Schema.objects.filter(pk=SCHEMA).update(hidden=True)
    before = counts()
    assert client.post(new_url(entry), form_data()).status_code == 400
    assert counts() == before


# --- one request ------------------------------------------------------------------------------


def test_the_request_page_shows_answers_state_and_the_review_panel(
    client_for: Any, consumer: Any, reviewer: Any, contributor: Any, entry: Model
) -> None:
    access_request = ask(consumer, entry, justification="For the *Kestrel* project.")
    decide(reviewer, access_request, "request_changes", "Say which data you will use.")
    page = text(client_for(consumer).get(detail_url(access_request)))
    assert "Changes requested" in page
    assert "<em>Kestrel</em>" in page
    assert "Say which data you will use." in page
    assert f'href="{detail_url(access_request)}/edit"' in page
    assert f'action="{detail_url(access_request)}/withdraw"' in page
    assert f'action="{detail_url(access_request)}/comment"' in page
    # Only the holder of the role gets the decision form; only named people and owners may edit.
    review = Review.objects.get(access_request=access_request)
    respond = f"/model/{entry.pk}/review/{review.pk}/respond"
    assert respond not in page
    reviewer_page = text(client_for(reviewer).get(detail_url(access_request)))
    assert respond in reviewer_page
    assert "/edit" not in reviewer_page
    contributor_page = text(client_for(contributor).get(detail_url(access_request)))
    assert "/withdraw" not in contributor_page


def test_a_named_user_edits_the_request(client_for: Any, consumer: Any, entry: Model) -> None:
    access_request = ask(consumer, entry)
    client = client_for(consumer)
    url = detail_url(access_request) + "/edit"
    assert "Evaluation for project Kestrel" in text(client.get(url))
    response = client.post(url, form_data(name="Renamed", justification="Clearer reason."))
    assert response.status_code == 302
    assert AccessRequest.objects.get().metadata["overview"]["justification"] == "Clearer reason."
    bad = client.post(url, form_data(entities="user:ghost"))
    assert bad.status_code == 400
    assert "Unknown user" in text(bad)
    assert AccessRequest.objects.get().name == "Renamed"


def test_someone_not_named_cannot_edit_or_withdraw(
    client_for: Any, consumer: Any, contributor: Any, entry: Model
) -> None:
    access_request = ask(consumer, entry)
    client = client_for(contributor)
    assert client.get(detail_url(access_request) + "/edit").status_code == 403
    assert client.post(detail_url(access_request) + "/edit", form_data()).status_code == 403
    assert client.post(detail_url(access_request) + "/withdraw").status_code == 403
    assert AccessRequest.objects.filter(pk=access_request.pk).exists()


def test_withdrawing_removes_the_request(client_for: Any, consumer: Any, entry: Model) -> None:
    access_request = ask(consumer, entry)
    client = client_for(consumer)
    assert client.get(detail_url(access_request) + "/withdraw").status_code == 405
    response = client.post(detail_url(access_request) + "/withdraw", follow=True)
    assert response.redirect_chain[-1][0] == f"/model/{entry.pk}/access-requests"
    assert "was withdrawn" in text(response)
    assert not AccessRequest.objects.exists()
    assert client.get(detail_url(access_request)).status_code == 404


def test_a_viewer_comments_from_the_panel(
    client_for: Any, consumer: Any, contributor: Any, entry: Model
) -> None:
    access_request = ask(consumer, entry)
    client = client_for(contributor)
    url = detail_url(access_request) + "/comment"
    response = client.post(url, {"comment": "Which team?", "next": detail_url(access_request)})
    assert response.status_code == 302
    assert response["Location"] == detail_url(access_request)
    assert "Which team?" in text(client.get(detail_url(access_request)))
    refused = client.post(url, {"comment": "  ", "next": "https://elsewhere.example/"})
    assert refused.status_code == 400
    assert "must not be empty" in text(refused)


def test_an_approved_request_says_what_it_grants_and_an_expired_one_says_it_lapsed(
    client_for: Any, consumer: Any, reviewer: Any, entry: Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.access.access_request_helpers import move_clock

    access_request = ask(consumer, entry, end=today())
    decide(reviewer, access_request)
    assert "This request is approved" in text(client_for(consumer).get(detail_url(access_request)))
    move_clock(monkeypatch, days=1)
    page = text(client_for(consumer).get(detail_url(access_request)))
    assert re.search(r"chip-access-expired\">Expired", page)
