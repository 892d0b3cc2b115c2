"""The access request API: Bailo's paths and shapes, refusals with clear 4xx, nothing stored."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from access.access_requests.services import today
from access.models import AccessRequest
from models_app.models import Model
from reviews.models import Response
from tests.access.access_request_helpers import SCHEMA, answers, ask, counts
from tests.conftest import basic

pytestmark = pytest.mark.django_db


def api(path: str) -> str:
    return f"/api/v2{path}"


def send(client: Client, method: str, path: str, body: Any = None, **extra: Any) -> Any:
    data = json.dumps(body) if body is not None else ""
    return getattr(client, method)(api(path), data=data, content_type="application/json", **extra)


def create(client: Client, model: Model, metadata: Any = None, schema_id: str = SCHEMA) -> Any:
    body = {"schemaId": schema_id, "metadata": answers() if metadata is None else metadata}
    return send(client, "post", f"/model/{model.pk}/access-requests", body)


def error_of(response: Any, status: int) -> str:
    assert response.status_code == status, response.content
    assert set(response.json()) == {"error"}
    return str(response.json()["error"]["message"])


# --- create -----------------------------------------------------------------------------------


def test_a_consumer_creates_an_access_request_in_bailos_shape(
    client_for: Any, consumer: Any, entry: Model
) -> None:
    response = create(client_for(consumer), entry)
    assert response.status_code == 200, response.content
    body = response.json()["accessRequest"]
    row = AccessRequest.objects.get()
    assert body == {
        "id": row.pk,
        "modelId": entry.pk,
        "schemaId": SCHEMA,
        "metadata": answers(),
        "createdBy": "cody",
        "createdAt": body["createdAt"],
        "updatedAt": body["updatedAt"],
        "deleted": False,
    }
    assert body["createdAt"].endswith("Z")


@pytest.mark.parametrize(
    ("metadata", "status", "message"),
    [
        (answers(entities=["user:nobody"]), 400, "Unknown user 'nobody'"),
        (answers(end="2000-01-01"), 400, "in the past"),
        (answers(justification=""), 400, "does not match its schema"),
        ("not an object", 400, "metadata must be a JSON object"),
    ],
)
def test_bad_input_is_a_clear_400_and_nothing_is_stored(
    client_for: Any, consumer: Any, entry: Model, metadata: Any, status: int, message: str
) -> None:
    before = counts()
    assert message in error_of(create(client_for(consumer), entry, metadata), status)
    assert counts() == before


def test_failing_the_schema_lists_the_validation_errors(
    client_for: Any, consumer: Any, entry: Model
) -> None:
    response = create(client_for(consumer), entry, answers(justification=""))
    problems = response.json()["error"]["context"]["validationErrors"]
    assert [p["property"] for p in problems] == ["overview.justification"]


def test_an_unknown_schema_is_404(client_for: Any, consumer: Any, entry: Model) -> None:
    before = counts()
    error_of(create(client_for(consumer), entry, schema_id="no-such-schema"), 404)
    assert counts() == before


def test_an_entry_you_cannot_see_is_404_and_nothing_is_stored(
    client_for: Any, outsider: Any, entry: Model
) -> None:
    before = counts()
    error_of(create(client_for(outsider), entry, answers(entities=["user:olive"])), 404)
    assert counts() == before


def test_a_body_that_is_not_json_is_400(client_for: Any, consumer: Any, entry: Model) -> None:
    response = client_for(consumer).post(
        api(f"/model/{entry.pk}/access-requests"), data="{oops", content_type="application/json"
    )
    assert "not valid JSON" in error_of(response, 400)


def test_signed_out_callers_are_401(entry: Model) -> None:
    error_of(create(Client(), entry), 401)


# --- read -------------------------------------------------------------------------------------


def test_every_viewer_sees_the_entrys_requests(
    client_for: Any, consumer: Any, contributor: Any, outsider: Any, entry: Model
) -> None:
    access_request = ask(consumer, entry)
    listed = send(client_for(contributor), "get", f"/model/{entry.pk}/access-requests")
    assert [a["id"] for a in listed.json()["accessRequests"]] == [access_request.pk]
    one = send(
        client_for(contributor), "get", f"/model/{entry.pk}/access-request/{access_request.pk}"
    )
    assert one.json()["accessRequest"]["metadata"] == access_request.metadata
    error_of(send(client_for(outsider), "get", f"/model/{entry.pk}/access-requests"), 404)
    error_of(
        send(client_for(outsider), "get", f"/model/{entry.pk}/access-request/{access_request.pk}"),
        404,
    )


def test_a_request_is_only_found_under_its_own_model(
    client_for: Any, consumer: Any, entry: Model, public_entry: Model
) -> None:
    access_request = ask(consumer, entry)
    path = f"/model/{public_entry.pk}/access-request/{access_request.pk}"
    error_of(send(client_for(consumer), "get", path), 404)
    error_of(send(client_for(consumer), "get", f"/model/{entry.pk}/access-request/nope"), 404)


def test_permissions_mine_says_who_may_edit_and_withdraw(
    client_for: Any, consumer: Any, contributor: Any, entry: Model
) -> None:
    access_request = ask(consumer, entry)
    path = f"/model/{entry.pk}/access-request/{access_request.pk}/permissions/mine"
    mine = send(client_for(consumer), "get", path).json()["permissions"]
    assert mine == {
        "editAccessRequest": {"hasPermission": True},
        "deleteAccessRequest": {"hasPermission": True},
    }
    theirs = send(client_for(contributor), "get", path).json()["permissions"]
    assert theirs["editAccessRequest"]["hasPermission"] is False
    assert "named in this access request" in theirs["deleteAccessRequest"]["info"]


# --- update and delete ------------------------------------------------------------------------


def test_a_named_user_patches_the_metadata(client_for: Any, consumer: Any, entry: Model) -> None:
    access_request = ask(consumer, entry)
    end = today() + timedelta(days=7)
    response = send(
        client_for(consumer),
        "patch",
        f"/model/{entry.pk}/access-request/{access_request.pk}",
        {"metadata": answers(end=end)},
    )
    assert response.status_code == 200, response.content
    assert response.json()["accessRequest"]["metadata"]["overview"]["endDate"] == end.isoformat()
    assert AccessRequest.objects.get().end_date == end


def test_a_collaborator_who_is_not_named_cannot_patch_or_delete(
    client_for: Any, consumer: Any, contributor: Any, entry: Model
) -> None:
    access_request = ask(consumer, entry)
    path = f"/model/{entry.pk}/access-request/{access_request.pk}"
    client = client_for(contributor)
    error_of(send(client, "patch", path, {"metadata": answers(name="Mine now")}), 403)
    error_of(send(client, "delete", path), 403)
    assert AccessRequest.objects.get().name == access_request.name


def test_patch_refuses_a_new_schema_and_a_missing_metadata(
    client_for: Any, consumer: Any, entry: Model
) -> None:
    access_request = ask(consumer, entry)
    path = f"/model/{entry.pk}/access-request/{access_request.pk}"
    client = client_for(consumer)
    assert "cannot change" in error_of(
        send(client, "patch", path, {"schemaId": "other", "metadata": answers()}), 400
    )
    assert "metadata is required" in error_of(send(client, "patch", path, {}), 400)


def test_delete_withdraws_the_request(client_for: Any, consumer: Any, entry: Model) -> None:
    access_request = ask(consumer, entry)
    path = f"/model/{entry.pk}/access-request/{access_request.pk}"
    response = send(client_for(consumer), "delete", path)
    assert response.json() == {"message": "Successfully removed access request."}
    error_of(send(client_for(consumer), "get", path), 404)
    listed = send(client_for(consumer), "get", f"/model/{entry.pk}/access-requests")
    assert listed.json() == {"accessRequests": []}


# --- comments and reviews ---------------------------------------------------------------------


def test_a_viewer_comments_on_a_request(
    client_for: Any, consumer: Any, contributor: Any, entry: Model
) -> None:
    access_request = ask(consumer, entry)
    path = f"/model/{entry.pk}/access-request/{access_request.pk}/comment"
    response = send(client_for(contributor), "post", path, {"comment": "Which team is this?"})
    comment = response.json()["accessRequestComment"]
    assert (comment["kind"], comment["comment"], comment["entity"]) == (
        "comment",
        "Which team is this?",
        "user:connie",
    )
    assert comment["parentId"] == access_request.pk
    assert "must not be empty" in error_of(send(client_for(contributor), "post", path, {}), 400)


def test_the_reviewer_approves_through_the_api(
    client_for: Any, consumer: Any, reviewer: Any, entry: Model
) -> None:
    access_request = ask(consumer, entry)
    path = f"/model/{entry.pk}/access-request/{access_request.pk}/review"
    response = send(client_for(reviewer), "post", path, {"role": "msro", "decision": "approve"})
    assert response.status_code == 200, response.content
    body = response.json()["response"]
    assert (body["decision"], body["role"], body["entity"]) == ("approve", "msro", "user:rita")


def test_a_review_by_someone_without_the_role_is_refused(
    client_for: Any, consumer: Any, owner: Any, entry: Model
) -> None:
    access_request = ask(consumer, entry)
    path = f"/model/{entry.pk}/access-request/{access_request.pk}/review"
    for user in (consumer, owner):
        error_of(send(client_for(user), "post", path, {"role": "msro", "decision": "approve"}), 403)
    assert not Response.objects.exists()


def test_review_input_is_checked(
    client_for: Any, consumer: Any, reviewer: Any, entry: Model
) -> None:
    access_request = ask(consumer, entry)
    path = f"/model/{entry.pk}/access-request/{access_request.pk}/review"
    client = client_for(reviewer)
    assert "role is required" in error_of(send(client, "post", path, {"decision": "approve"}), 400)
    assert "no review for the role mtr" in error_of(
        send(client, "post", path, {"role": "mtr", "decision": "approve"}), 404
    )
    assert "comment is required" in error_of(
        send(client, "post", path, {"role": "msro", "decision": "request_changes"}), 400
    )
    assert "decision must be one of" in error_of(
        send(client, "post", path, {"role": "msro", "decision": "maybe"}), 400
    )
    assert not Response.objects.exists()


# --- search -----------------------------------------------------------------------------------


def test_search_finds_the_requests_i_made_or_am_named_in(
    client_for: Any,
    consumer: Any,
    contributor: Any,
    outsider: Any,
    entry: Model,
    public_entry: Model,
) -> None:
    for_me = ask(contributor, entry, name="For Cody", entities=["user:cody"])
    by_me = ask(consumer, public_entry, name="For Olive", entities=["user:olive"])
    other = ask(contributor, public_entry, name="Other", entities=["user:connie"])

    def ids(client: Client, query: str) -> set[str]:
        response = send(client, "get", f"/access-requests/search{query}")
        assert response.status_code == 200, response.content
        return {a["id"] for a in response.json()["accessRequests"]}

    assert ids(client_for(consumer), "?mine=true") == {for_me.pk, by_me.pk}
    assert ids(client_for(consumer), "") == {for_me.pk, by_me.pk, other.pk}
    assert ids(client_for(consumer), f"?modelId={public_entry.pk}") == {by_me.pk, other.pk}
    # The outsider cannot see the private entry, so not its requests either.
    assert ids(client_for(outsider), "") == {by_me.pk, other.pk}
    assert ids(client_for(outsider), "?mine=true") == {by_me.pk}
    assert "mine must be true or false" in error_of(
        send(client_for(consumer), "get", "/access-requests/search?mine=perhaps"), 400
    )


# --- tokens -----------------------------------------------------------------------------------


def test_a_token_reads_with_access_request_read_and_writes_with_access_request_write(
    consumer: Any, reviewer: Any, entry: Model, make_token: Any
) -> None:
    access_request = ask(consumer, entry)
    reader, secret = make_token(consumer, actions=["access_request:read"])
    auth = basic(reader.access_key, secret)
    listed = send(Client(), "get", f"/model/{entry.pk}/access-requests", **auth)
    assert listed.status_code == 200
    assert "access_request:write" in error_of(
        send(
            Client(),
            "post",
            f"/model/{entry.pk}/access-requests",
            {"schemaId": SCHEMA, "metadata": answers()},
            **auth,
        ),
        403,
    )
    writer, secret = make_token(consumer, actions=["access_request:read", "access_request:write"])
    created = send(
        Client(),
        "post",
        f"/model/{entry.pk}/access-requests",
        {"schemaId": SCHEMA, "metadata": answers()},
        **basic(writer.access_key, secret),
    )
    assert created.status_code == 200, created.content
    without_read, secret = make_token(consumer, actions=["model:read"])
    error_of(
        send(
            Client(),
            "get",
            f"/model/{entry.pk}/access-request/{access_request.pk}",
            **basic(without_read.access_key, secret),
        ),
        403,
    )
    # Reviewing is model:write, as for releases.
    review_token, secret = make_token(reviewer, actions=["access_request:read"])
    error_of(
        send(
            Client(),
            "post",
            f"/model/{entry.pk}/access-request/{access_request.pk}/review",
            {"role": "msro", "decision": "approve"},
            **basic(review_token.access_key, secret),
        ),
        403,
    )
    assert not Response.objects.exists()
