"""Input nothing can store answers 400 in Bailo's error shape, never a 500, and changes nothing:
NUL characters, lone surrogates, NaN and Infinity, deep nesting, unreadable bodies, and names
with control characters or bidirectional overrides."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from access.models import Token
from models_app.models import Model
from models_app.services import MAX_TAGS

pytestmark = pytest.mark.django_db

GOOD = '{"name": "Fine", "description": "d", "visibility": "private"'


def post_raw(client: Client, path: str, body: str | bytes) -> Any:
    return client.post(f"/api/v2{path}", data=body, content_type="application/json")


def assert_400(response: Any, *words: str) -> None:
    assert response.status_code == 400, response.content
    assert set(response.json()) == {"error"}
    message = response.json()["error"]["message"]
    for word in words:
        assert word in message, message


BAD_BODIES = {
    "nul-in-a-value": GOOD + ', "organisation": "a\\u0000b"}',
    "nul-in-a-key": GOOD + ', "a\\u0000": 1}',
    "nul-deep-inside": GOOD + ', "settings": {"x": [["\\u0000"]]}}',
    "lone-high-surrogate": GOOD + ', "organisation": "\\ud800"}',
    "lone-low-surrogate": GOOD + ', "organisation": "x\\udfffy"}',
    "nan": GOOD + ', "settings": {"x": NaN}}',
    "infinity": GOOD + ', "settings": {"x": Infinity}}',
    "minus-infinity": GOOD + ', "settings": {"x": -Infinity}}',
    "nested-past-the-limit": GOOD + ', "settings": ' + "[" * 100 + "]" * 100 + "}",
    "nested-past-the-recursion-limit": "[" * 40_000 + "]" * 40_000,
    "invalid-utf-8": b'{"name": "\xff\xfe"}',
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_a_json_body_nothing_can_store_is_a_400_and_creates_nothing(
    client_for: Any, outsider: User, body: str | bytes
) -> None:
    response = post_raw(client_for(outsider), "/models", body)
    assert_400(response)
    assert not Model.objects.exists()


def test_the_messages_say_what_is_wrong(client_for: Any, outsider: User) -> None:
    client = client_for(outsider)
    assert_400(post_raw(client, "/models", BAD_BODIES["nul-in-a-value"]), "NUL")
    assert_400(post_raw(client, "/models", BAD_BODIES["lone-high-surrogate"]), "surrogate")
    assert_400(post_raw(client, "/models", BAD_BODIES["nan"]), "NaN")
    assert_400(post_raw(client, "/models", BAD_BODIES["nested-past-the-limit"]), "nested")


def test_the_token_routes_parse_bodies_the_same_way(client_for: Any, outsider: User) -> None:
    body = '{"description": "x\\u0000", "scope": "all", "actions": ["model:read"]}'
    assert_400(post_raw(client_for(outsider), "/user/tokens", body), "NUL")
    assert not Token.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v2/models/search?search=%00",
        "/api/v2/models/search?search=a%00b&task=x",
        "/api/v2/models/search?a%00=1",
        "/api/v2/model/abc%00def",
        "/api/v2/model/abc%00def/files",
    ],
)
def test_a_nul_in_an_api_path_or_query_string_is_a_400(
    client_for: Any, outsider: User, path: str
) -> None:
    assert_400(client_for(outsider).get(path), "NUL")


@pytest.mark.parametrize("path", ["/?q=%00", "/model/abc%00def", "/docs/%00"])
def test_a_nul_in_a_page_address_is_a_400_page(client_for: Any, outsider: User, path: str) -> None:
    response = client_for(outsider).get(path)
    assert response.status_code == 400
    assert "NUL" in response.content.decode()


def test_a_nul_in_a_form_field_is_a_400_page_and_changes_nothing(
    client_for: Any, outsider: User
) -> None:
    response = client_for(outsider).post(
        "/settings/personal-access-tokens/new",
        {"description": "a\x00b", "scope": "all", "actions": ["model:read"]},
    )
    assert response.status_code == 400
    assert not Token.objects.exists()


def test_an_unreadable_body_is_a_400(client_for: Any, outsider: User) -> None:
    """A client that stops sending mid-body: Django's read raises UnreadablePostError."""

    class Broken:
        def read(self, *args: Any) -> bytes:
            raise OSError("connection reset while reading the body")

        readline = read

    client = client_for(outsider)
    response = client.generic(
        "POST",
        "/api/v2/models",
        data=b"x" * 10,
        content_type="application/json",
        **{"wsgi.input": Broken()},
    )
    assert_400(response, "could not be read")
    assert not Model.objects.exists()


# --- names and tags -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["Model\x00", "Tab\there", "New\nline", "Bell\x07", "\u202eexe.txt", "Iso\u2066late"],
    ids=["nul", "tab", "newline", "bell", "right-to-left-override", "isolate"],
)
def test_a_model_name_with_control_characters_or_bidi_overrides_is_refused(
    client_for: Any, outsider: User, name: str
) -> None:
    body = {"name": name, "description": "d", "visibility": "private"}
    response = post_raw(client_for(outsider), "/models", json.dumps(body))
    assert_400(response)
    assert not Model.objects.exists()


def test_names_in_other_scripts_are_still_fine(client_for: Any, outsider: User) -> None:
    body = {"name": "Modèle ライオン", "description": "d", "visibility": "private"}
    assert post_raw(client_for(outsider), "/models", json.dumps(body)).status_code == 200


def test_an_entry_may_have_at_most_the_ceiling_of_tags(client_for: Any, outsider: User) -> None:
    client = client_for(outsider)
    body = {"name": "Tagged", "description": "d", "visibility": "private"}
    too_many = [f"tag-{n}" for n in range(MAX_TAGS + 1)]
    assert_400(post_raw(client, "/models", json.dumps({**body, "tags": too_many})), "tags")
    assert not Model.objects.exists()
    # Repeats count once.
    at_limit = [f"tag-{n}" for n in range(MAX_TAGS)] * 2
    created = post_raw(client, "/models", json.dumps({**body, "tags": at_limit}))
    assert created.status_code == 200
    model_id = created.json()["model"]["id"]
    patched = client.patch(
        f"/api/v2/model/{model_id}",
        data=json.dumps({"tags": too_many}),
        content_type="application/json",
    )
    assert_400(patched, "tags")
    assert Model.objects.get(pk=model_id).tag_rows.count() == MAX_TAGS


def test_a_tag_with_a_bidi_override_is_refused(client_for: Any, outsider: User) -> None:
    body = {"name": "T", "description": "d", "visibility": "private", "tags": ["a\u202eb"]}
    assert_400(post_raw(client_for(outsider), "/models", json.dumps(body)))
