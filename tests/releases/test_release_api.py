"""The v2 releases API: Bailo's paths and shapes, range queries, refusals and nothing stored on
bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from releases.models import Release, ReleaseFile, ScanResult
from tests.conftest import basic
from tests.releases.release_helpers import make_file, make_release, with_card

pytestmark = pytest.mark.django_db

RELEASE_KEYS = {
    "modelId",
    "semver",
    "notes",
    "minor",
    "draft",
    "modelCardVersion",
    "fileIds",
    "images",
    "createdBy",
    "createdAt",
    "updatedAt",
}
FILE_KEYS = {
    "id",
    "_id",
    "modelId",
    "name",
    "size",
    "mime",
    "tags",
    "sha256",
    "complete",
    "createdAt",
    "updatedAt",
}


def send(client: Client, method: str, path: str, body: Any = None, **extra: Any) -> Any:
    data = body if isinstance(body, str) else json.dumps(body) if body is not None else ""
    return getattr(client, method.lower())(
        f"/api/v2{path}", data=data, content_type="application/json", **extra
    )


def error_of(response: Any, status: int) -> str:
    """The message of a Bailo-shaped refusal with this status."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}, body
    message: str = body["error"]["message"]
    assert message
    return message


@pytest.fixture
def carded(entry: Any, owner: Any) -> Any:
    return with_card(entry, owner)


@pytest.fixture
def as_owner(client_for: Any, owner: Any) -> Client:
    client: Client = client_for(owner)
    return client


def nothing_stored() -> bool:
    return not Release.all_objects.exists() and not ReleaseFile.objects.exists()


# --- create -------------------------------------------------------------------------------------


def test_posting_a_release_answers_bailos_release_object(carded: Any, as_owner: Client) -> None:
    weights = make_file(carded, "weights.bin")
    response = send(
        as_owner,
        "POST",
        f"/model/{carded.pk}/releases",
        {
            "semver": "v1.0.0",
            "notes": "First cut",
            "fileIds": [weights.pk],
            "images": [],
            "minor": False,
            "draft": False,
        },
    )
    assert response.status_code == 200, response.content
    release = response.json()["release"]
    assert set(release) == RELEASE_KEYS
    assert release["semver"] == "1.0.0"
    assert release["modelId"] == carded.pk
    assert release["modelCardVersion"] == 1
    assert release["fileIds"] == [weights.pk]
    assert (release["minor"], release["draft"], release["createdBy"]) == (False, False, "owen")


def test_the_official_clients_body_with_flags_as_strings_is_accepted(
    carded: Any, as_owner: Client
) -> None:
    body = {
        "modelCardVersion": 1,
        "semver": "0.1.0",
        "notes": "n",
        "minor": "true",
        "draft": "True",
        "fileIds": [],
        "images": [],
    }
    response = send(as_owner, "POST", f"/model/{carded.pk}/releases", body)
    assert response.status_code == 200, response.content
    assert (response.json()["release"]["minor"], response.json()["release"]["draft"]) == (
        True,
        True,
    )


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ("not json", 400, "not valid JSON"),
        ([1, 2], 400, "JSON object"),
        ({"notes": "n"}, 400, "version is required"),
        ({"semver": "1.2", "notes": "n"}, 400, "not a valid semantic version"),
        ({"semver": "1.0.0"}, 400, "notes are required"),
        ({"semver": "1.0.0", "notes": 7}, 400, "notes are required"),
        ({"semver": "1.0.0", "notes": "n", "fileIds": "abc"}, 400, "fileIds must be a list"),
        ({"semver": "1.0.0", "notes": "n", "fileIds": ["nope"]}, 400, "nope"),
        ({"semver": "1.0.0", "notes": "n", "modelCardVersion": 7}, 400, "no version 7"),
        ({"semver": "1.0.0", "notes": "n", "draft": "no"}, 400, "draft must be true or false"),
        ({"semver": "1.0.0", "notes": "n", "minor": 0}, 400, "minor must be true or false"),
    ],
)
def test_bad_bodies_get_a_clear_400_and_store_nothing(
    carded: Any, as_owner: Client, body: Any, status: int, message: str
) -> None:
    response = send(as_owner, "POST", f"/model/{carded.pk}/releases", body)
    assert message in error_of(response, status)
    assert nothing_stored()


def test_a_taken_semver_is_409_including_a_deleted_ones(carded: Any, as_owner: Client) -> None:
    make_release(carded, carded.created_by, "1.0.0")
    gone = make_release(carded, carded.created_by, "2.0.0")
    Release.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
    for semver in ("1.0.0", "2.0.0"):
        response = send(
            as_owner, "POST", f"/model/{carded.pk}/releases", {"semver": semver, "notes": "n"}
        )
        error_of(response, 409)
    assert Release.all_objects.count() == 2


def test_a_file_of_another_entry_is_a_400_naming_it(
    carded: Any, as_owner: Client, make_entry: Any
) -> None:
    foreign = make_file(make_entry("Other"), "x.bin")
    response = send(
        as_owner,
        "POST",
        f"/model/{carded.pk}/releases",
        {"semver": "1.0.0", "notes": "n", "fileIds": [foreign.pk]},
    )
    assert foreign.pk in error_of(response, 400)
    assert response.json()["error"]["context"]["fileId"] == foreign.pk
    assert nothing_stored()


def test_an_entry_without_a_card_cannot_have_releases(entry: Any, as_owner: Client) -> None:
    response = send(
        as_owner, "POST", f"/model/{entry.pk}/releases", {"semver": "1.0.0", "notes": "n"}
    )
    assert "no model card" in error_of(response, 400)
    assert nothing_stored()


@pytest.mark.parametrize(
    ("persona", "status"),
    [("consumer", 403), ("reviewer", 403), ("outsider", 404), ("anonymous", 401)],
)
def test_creating_is_refused_to_people_without_a_role(
    carded: Any, client_for: Any, personas: dict[str, Any], persona: str, status: int
) -> None:
    response = send(
        client_for(personas[persona]),
        "POST",
        f"/model/{carded.pk}/releases",
        {"semver": "1.0.0", "notes": "n"},
    )
    error_of(response, status)
    assert nothing_stored()


def test_a_token_needs_release_write_to_create(
    carded: Any, owner: Any, make_token: Any, settings: Any
) -> None:
    settings.BAILO_AUTH_MODE = "password"
    token, secret = make_token(owner, actions=["model:read", "release:read"])
    response = send(
        Client(),
        "POST",
        f"/model/{carded.pk}/releases",
        {"semver": "1.0.0", "notes": "n"},
        **basic(token.access_key, secret),
    )
    assert "release:write" in error_of(response, 403)
    writer, secret = make_token(owner, actions=["release:read", "release:write"])
    response = send(
        Client(),
        "POST",
        f"/model/{carded.pk}/releases",
        {"semver": "1.0.0", "notes": "n"},
        **basic(writer.access_key, secret),
    )
    assert response.status_code == 200, response.content


def test_an_unknown_entry_is_404(as_owner: Client) -> None:
    response = send(as_owner, "POST", "/model/nope-000000/releases", {"semver": "1.0.0"})
    error_of(response, 404)
    error_of(send(as_owner, "GET", "/model/nope-000000/releases"), 404)


# --- read ---------------------------------------------------------------------------------------


def test_get_release_includes_its_files_with_scan_results(carded: Any, as_owner: Client) -> None:
    weights = make_file(carded, "weights.bin", b"12345")
    ScanResult.objects.create(file=weights, tool_name="Clam AV", state="complete")
    make_release(carded, carded.created_by, "1.0.0", file_ids=[weights.pk])
    response = send(as_owner, "GET", f"/model/{carded.pk}/release/v1.0.0")
    assert response.status_code == 200, response.content
    release = response.json()["release"]
    assert set(release) == RELEASE_KEYS | {"files"}
    (file,) = release["files"]
    assert set(file) >= FILE_KEYS
    assert (file["id"], file["name"], file["size"], file["complete"]) == (
        weights.pk,
        "weights.bin",
        5,
        True,
    )
    assert file["scanResults"][0]["state"] == "complete"


def test_get_releases_lists_newest_version_first(carded: Any, as_owner: Client) -> None:
    for semver in ("1.9.0", "1.10.0", "0.5.0"):
        make_release(carded, carded.created_by, semver)
    response = send(as_owner, "GET", f"/model/{carded.pk}/releases")
    assert [r["semver"] for r in response.json()["releases"]] == ["1.10.0", "1.9.0", "0.5.0"]
    assert all(set(r) == RELEASE_KEYS for r in response.json()["releases"])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("^1.2", ["1.10.0", "1.2.5", "1.2.0"]),
        ("~1.2.3", ["1.2.5"]),
        (">=2 <3", ["2.1.0", "2.0.0"]),
        ("1.x", ["1.10.0", "1.2.5", "1.2.0"]),
        ("*", ["3.0.0", "2.1.0", "2.0.0", "1.10.0", "1.2.5", "1.2.0", "0.9.0"]),
        ("1.2.3 - 2.0.0", ["2.0.0", "1.10.0", "1.2.5"]),
        ("<1 || >=3", ["3.0.0", "0.9.0"]),
        (">=3.0.0-0", ["3.0.0", "3.0.0-rc.1"]),
        ("^9", []),
    ],
)
def test_query_semver_takes_npm_ranges(
    carded: Any, as_owner: Client, query: str, expected: list[str]
) -> None:
    for semver in ("0.9.0", "1.2.0", "1.2.5", "1.10.0", "2.0.0", "2.1.0", "3.0.0-rc.1", "3.0.0"):
        make_release(carded, carded.created_by, semver)
    response = as_owner.get(f"/api/v2/model/{carded.pk}/releases", {"querySemver": query})
    assert response.status_code == 200, response.content
    assert [r["semver"] for r in response.json()["releases"]] == expected


def test_a_malformed_query_semver_is_400(carded: Any, as_owner: Client) -> None:
    response = as_owner.get(f"/api/v2/model/{carded.pk}/releases", {"querySemver": ">>1"})
    assert "querySemver is not a valid version range" in error_of(response, 400)


def test_drafts_are_hidden_from_consumers_in_lists_and_by_version(
    carded: Any, client_for: Any, consumer: Any, contributor: Any
) -> None:
    make_release(carded, carded.created_by, "1.0.0")
    make_release(carded, carded.created_by, "2.0.0", draft=True)
    listed = send(client_for(consumer), "GET", f"/model/{carded.pk}/releases").json()
    assert [r["semver"] for r in listed["releases"]] == ["1.0.0"]
    error_of(send(client_for(consumer), "GET", f"/model/{carded.pk}/release/2.0.0"), 404)
    listed = send(client_for(contributor), "GET", f"/model/{carded.pk}/releases").json()
    assert [r["semver"] for r in listed["releases"]] == ["2.0.0", "1.0.0"]


def test_an_outsider_cannot_see_the_releases_of_a_private_entry(
    carded: Any, client_for: Any, outsider: Any
) -> None:
    make_release(carded, carded.created_by, "1.0.0")
    client = client_for(outsider)
    error_of(send(client, "GET", f"/model/{carded.pk}/releases"), 404)
    error_of(send(client, "GET", f"/model/{carded.pk}/release/1.0.0"), 404)


def test_listing_releases_takes_the_same_number_of_queries_for_more_releases(
    carded: Any, as_owner: Client
) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = send(as_owner, "GET", f"/model/{carded.pk}/releases")
        assert response.status_code == 200
        return len(queries)

    make_release(carded, carded.created_by, "1.0.0", file_ids=[make_file(carded, "a").pk])
    few = count()
    for n in range(2, 7):
        files = [make_file(carded, f"f{n}-{i}").pk for i in range(3)]
        make_release(carded, carded.created_by, f"{n}.0.0", file_ids=files)
    assert count() == few


# --- update -------------------------------------------------------------------------------------


def test_put_release_changes_what_the_official_client_sends(carded: Any, as_owner: Client) -> None:
    weights = make_file(carded, "weights.bin")
    make_release(carded, carded.created_by, "1.0.0", draft=True)
    response = send(
        as_owner,
        "PUT",
        f"/model/{carded.pk}/release/1.0.0",
        {
            "notes": "Now with weights",
            "draft": False,
            "fileIds": [weights.pk],
            "images": [],
            "modelCardVersion": 1,
        },
    )
    assert response.status_code == 200, response.content
    release = response.json()["release"]
    assert (release["notes"], release["draft"], release["fileIds"]) == (
        "Now with weights",
        False,
        [weights.pk],
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"semver": "1.0.1"}, "cannot change"),
        ({"minor": True}, "fixed"),
        ({"draft": True}, "cannot go back to draft"),
        ({"fileIds": ["nope"]}, "nope"),
        ({"colour": "red"}, "Unknown field"),
    ],
)
def test_put_refuses_immutable_and_bad_changes_and_stores_nothing(
    carded: Any, as_owner: Client, body: dict[str, Any], message: str
) -> None:
    make_release(carded, carded.created_by, "1.0.0")
    response = send(as_owner, "PUT", f"/model/{carded.pk}/release/1.0.0", {"notes": "x", **body})
    assert message in error_of(response, 400)
    stored = Release.objects.get()
    assert (stored.semver, stored.is_minor, stored.draft, stored.notes) == (
        "1.0.0",
        False,
        False,
        "Release 1.0.0",
    )


@pytest.mark.parametrize(("persona", "status"), [("contributor", 403), ("outsider", 404)])
def test_put_is_for_owners(
    carded: Any, client_for: Any, personas: dict[str, Any], persona: str, status: int
) -> None:
    make_release(carded, carded.created_by, "1.0.0")
    response = send(
        client_for(personas[persona]),
        "PUT",
        f"/model/{carded.pk}/release/1.0.0",
        {"notes": "mine"},
    )
    error_of(response, status)
    assert Release.objects.get().notes == "Release 1.0.0"


def test_put_on_a_missing_release_is_404(carded: Any, as_owner: Client) -> None:
    error_of(send(as_owner, "PUT", f"/model/{carded.pk}/release/9.9.9", {"notes": "n"}), 404)


# --- delete (arrives with the deletion feature) ------------------------------------------------


def test_only_owners_delete_a_release_after_the_permission_checks(
    carded: Any, client_for: Any, owner: Any, consumer: Any, outsider: Any
) -> None:
    make_release(carded, owner, "1.0.0")
    path = f"/model/{carded.pk}/release/1.0.0"
    error_of(send(client_for(outsider), "DELETE", path), 404)
    error_of(send(client_for(consumer), "DELETE", path), 403)
    error_of(send(client_for(owner), "DELETE", f"/model/{carded.pk}/release/2.0.0"), 404)
    assert Release.objects.filter(semver="1.0.0").exists()
    assert send(client_for(owner), "DELETE", path).status_code == 200
    assert not Release.objects.filter(semver="1.0.0").exists()
