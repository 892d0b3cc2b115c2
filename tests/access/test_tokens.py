"""Personal access tokens: minting, listing, revoking, expiry and scope (service, API, pages)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from bailo import Client as BailoClient
from bailo import TokenAgent
from bailo.core.exceptions import BailoException
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from access.models import Token
from access.tokens.credentials import hash_secret
from access.tokens.services import token_create, token_revoke
from core.errors import Forbidden, NotFound
from core.models import AuditEvent
from models_app.policy import Action, Actor, TokenAction, check, get_model_for
from tests.conftest import basic

pytestmark = pytest.mark.django_db

READ = ["model:read", "release:read", "file:read"]


def post_token(client: Client, body: Any, **extra: Any) -> Any:
    return client.post(
        "/api/v2/user/tokens",
        data=json.dumps(body) if not isinstance(body, str) else body,
        content_type="application/json",
        **extra,
    )


def new_token(user: User, **fields: Any) -> tuple[Token, str]:
    fields.setdefault("description", "ci pipeline")
    fields.setdefault("scope", "all")
    fields.setdefault("model_ids", [])
    fields.setdefault("actions", READ)
    return token_create(actor=Actor(user=user), **fields)


# --- minting ----------------------------------------------------------------------------------


def test_a_new_token_has_bailos_key_shapes_and_its_secret_is_stored_only_as_a_keyed_hash(
    outsider: User,
) -> None:
    token, secret = new_token(outsider)
    token.refresh_from_db()
    assert token.access_key.startswith("BAC_") and len(token.access_key) == 12
    assert secret.startswith("BSK_") and len(secret) == 36
    assert token.secret_hash == hash_secret(secret)
    assert secret not in token.secret_hash
    assert token.hash_method == "hmac-sha256"
    assert token.user == outsider


def test_creating_a_token_over_the_api_shows_the_secret_once_and_never_lists_it(
    client_for: Any, outsider: User
) -> None:
    client = client_for(outsider)
    response = post_token(
        client, {"description": "notebook", "scope": "all", "modelIds": [], "actions": READ}
    )
    assert response.status_code == 200, response.content
    created = response.json()["token"]
    assert created["accessKey"].startswith("BAC_")
    assert created["secretKey"].startswith("BSK_")
    assert created["scope"] == "all" and created["actions"] == READ
    assert created["revoked"] is False and created["expiresAt"] is None

    listed = client.get("/api/v2/user/tokens")
    assert listed.status_code == 200
    tokens = listed.json()["tokens"]
    assert [t["accessKey"] for t in tokens] == [created["accessKey"]]
    assert set(tokens[0]) == {
        "accessKey",
        "description",
        "scope",
        "modelIds",
        "actions",
        "createdAt",
        "expiresAt",
        "lastUsedAt",
        "revoked",
    }
    assert created["secretKey"] not in listed.content.decode()
    stored = Token.objects.get(access_key=created["accessKey"]).secret_hash
    assert stored not in listed.content.decode()


def test_the_new_secret_authenticates_as_its_user(client_for: Any, outsider: User) -> None:
    created = post_token(
        client_for(outsider),
        {"description": "x", "scope": "all", "modelIds": [], "actions": READ},
    ).json()["token"]
    me = Client().get("/api/v2/entities/me", **basic(created["accessKey"], created["secretKey"]))
    assert me.status_code == 200
    assert me.json()["user"]["dn"] == outsider.username


def test_users_see_only_their_own_tokens(
    client_for: Any, outsider: User, owner: User, make_token: Any
) -> None:
    make_token(owner, description="owner's token")
    mine, _ = make_token(outsider, description="mine")
    tokens = client_for(outsider).get("/api/v2/user/tokens").json()["tokens"]
    assert [t["accessKey"] for t in tokens] == [mine.access_key]


def test_listing_tokens_takes_the_same_number_of_queries_for_one_or_many_tokens(
    client_for: Any, outsider: User, public_entry: Any
) -> None:
    client = client_for(outsider)
    new_token(outsider, scope="models", model_ids=[public_entry.id])
    with CaptureQueriesContext(connection) as one:
        client.get("/api/v2/user/tokens")
    for n in range(5):
        new_token(outsider, description=f"t{n}", scope="models", model_ids=[public_entry.id])
    with CaptureQueriesContext(connection) as six:
        response = client.get("/api/v2/user/tokens")
    assert len(response.json()["tokens"]) == 6
    assert len(six) == len(one)


def test_the_action_catalogue_uses_bailos_token_action_map_shape(
    client_for: Any, outsider: User
) -> None:
    response = client_for(outsider).get("/api/v2/user/tokens/list")
    assert response.status_code == 200
    actions = response.json()["tokenActionMap"]
    ids = [a["id"] for a in actions]
    assert {"model:read", "file:write", "image:read", "schema:write"} <= set(ids)
    assert all(set(a) == {"id", "description"} for a in actions)


def test_token_creation_and_revocation_are_audited_without_the_secret(outsider: User) -> None:
    token, secret = new_token(outsider)
    token_revoke(actor=Actor(user=outsider), access_key=token.access_key)
    events = list(AuditEvent.objects.filter(subject=token.access_key).order_by("id"))
    assert [e.action for e in events] == ["token:create", "token:revoke"]
    assert all(e.actor == "user:olive" for e in events)
    assert secret not in json.dumps([e.detail for e in events])


# --- who may mint what ------------------------------------------------------------------------


def test_a_token_cannot_create_tokens(client_for: Any, outsider: User, make_token: Any) -> None:
    token, secret = make_token(outsider, actions=READ)
    body = {"description": "child", "scope": "all", "modelIds": [], "actions": READ}
    response = post_token(Client(), body, **basic(token.access_key, secret))
    assert response.status_code == 403
    assert "cannot manage access tokens" in response.json()["error"]["message"]
    assert Token.objects.count() == 1
    with pytest.raises(Forbidden):
        token_create(
            actor=Actor(user=outsider, token=token),
            description="child",
            scope="all",
            model_ids=[],
            actions=READ,
        )


@pytest.mark.parametrize(
    "fields",
    [
        {"actions": ["model:read"]},
        {"actions": [str(a) for a in TokenAction]},
        {"actions": [str(a) for a in TokenAction], "scope": "models"},
    ],
    ids=["read-only", "every-action", "scoped-to-another-model"],
)
def test_a_token_can_neither_list_nor_revoke_tokens(
    outsider: User, make_token: Any, make_entry: Any, fields: dict[str, Any]
) -> None:
    token, secret = make_token(outsider, **fields)
    if fields.get("scope") == "models":
        token.scoped_models.set([make_entry("Somebody else's", visibility="public")])
    sibling, _ = make_token(outsider, actions=READ)
    credentials = basic(token.access_key, secret)

    listed = Client().get("/api/v2/user/tokens", **credentials)
    assert listed.status_code == 403
    assert set(listed.json()) == {"error"}
    assert sibling.access_key not in listed.content.decode()
    for key in (sibling.access_key, token.access_key):
        revoked = Client().delete(f"/api/v2/user/token/{key}", **credentials)
        assert revoked.status_code == 403
        assert "cannot manage access tokens" in revoked.json()["error"]["message"]
    assert not Token.objects.filter(revoked_at__isnull=False).exists()
    # The same person signed in manages them as before.
    assert Client().get("/api/v2/entities/me", **credentials).status_code == 200


@pytest.mark.parametrize("action", ["schema:write", "reviewRole:write"])
def test_a_non_admin_cannot_create_a_token_with_an_administrator_action(
    client_for: Any, outsider: User, action: str
) -> None:
    body = {"description": "x", "scope": "all", "modelIds": [], "actions": [action]}
    response = post_token(client_for(outsider), body)
    assert response.status_code == 403
    assert "Only administrators" in response.json()["error"]["message"]
    assert not Token.objects.exists()


def test_an_administrator_can_create_a_token_with_schema_write(
    client_for: Any, site_admin: User
) -> None:
    body = {"description": "x", "scope": "all", "modelIds": [], "actions": ["schema:write"]}
    response = post_token(client_for(site_admin), body)
    assert response.status_code == 200
    assert response.json()["token"]["actions"] == ["schema:write"]


def test_anonymous_callers_cannot_create_or_list_tokens() -> None:
    body = {"description": "x", "scope": "all", "modelIds": [], "actions": READ}
    assert post_token(Client(), body).status_code == 401
    assert Client().get("/api/v2/user/tokens").status_code == 401
    assert not Token.objects.exists()


VALID = {"description": "ok", "scope": "all", "modelIds": [], "actions": ["model:read"]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"description": ""}, "description is required"),
        ({"description": "   "}, "description is required"),
        ({"description": "x" * 201}, "at most 200"),
        ({"description": 7}, "description is required"),
        ({"scope": "everything"}, "scope must be one of"),
        ({"actions": []}, "at least one action"),
        ({"actions": "model:read"}, "actions must be a list"),
        ({"actions": ["model:read", "model:fly"]}, "Unknown action(s): model:fly"),
        ({"scope": "models", "modelIds": []}, "at least one model"),
        ({"scope": "models", "modelIds": ["no-such-model-abc123"]}, "Unknown model(s)"),
        ({"modelIds": "abc"}, "modelIds must be a list"),
        ({"expiresAt": "2001-01-01T00:00:00Z"}, "in the future"),
        ({"expiresAt": "next tuesday"}, "ISO 8601"),
        ({"expiresAt": "2030-02-31"}, "ISO 8601"),
        ({"expiresAt": 12}, "ISO 8601"),
    ],
)
def test_bad_input_is_refused_with_a_400_and_nothing_is_stored(
    client_for: Any, outsider: User, change: dict[str, Any], message: str
) -> None:
    response = post_token(client_for(outsider), {**VALID, **change})
    assert response.status_code == 400, response.content
    assert message in response.json()["error"]["message"]
    assert not Token.objects.exists()
    assert not AuditEvent.objects.filter(action="token:create").exists()


def test_model_ids_with_scope_all_are_refused(
    client_for: Any, outsider: User, public_entry: Any
) -> None:
    response = post_token(client_for(outsider), {**VALID, "modelIds": [public_entry.id]})
    assert response.status_code == 400
    assert "only be given when scope is 'models'" in response.json()["error"]["message"]


@pytest.mark.parametrize("body", ["not json", "[1, 2]", ""])
def test_a_body_that_is_not_a_json_object_is_a_400(
    client_for: Any, outsider: User, body: str
) -> None:
    response = post_token(client_for(outsider), body)
    assert response.status_code == 400
    assert not Token.objects.exists()


def test_a_token_cannot_name_a_private_model_its_user_cannot_see(
    client_for: Any, outsider: User, entry: Any
) -> None:
    response = post_token(
        client_for(outsider), {**VALID, "scope": "models", "modelIds": [entry.id]}
    )
    assert response.status_code == 400
    assert f"Unknown model(s): {entry.id}" in response.json()["error"]["message"]
    assert not Token.objects.exists()


# --- revocation -------------------------------------------------------------------------------


def test_a_revoked_token_is_refused_on_the_very_next_call(client_for: Any, outsider: User) -> None:
    client = client_for(outsider)
    created = post_token(client, VALID).json()["token"]
    credentials = basic(created["accessKey"], created["secretKey"])
    assert Client().get("/api/v2/entities/me", **credentials).status_code == 200

    response = client.delete(f"/api/v2/user/token/{created['accessKey']}")
    assert response.status_code == 200
    assert response.json() == {"message": "Successfully removed access key."}

    again = Client().get("/api/v2/entities/me", **credentials)
    assert again.status_code == 401
    assert client.get("/api/v2/user/tokens").json()["tokens"] == []


def test_nobody_can_revoke_another_users_token(
    client_for: Any, outsider: User, owner: User, make_token: Any
) -> None:
    token, secret = make_token(owner)
    response = client_for(outsider).delete(f"/api/v2/user/token/{token.access_key}")
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert Client().get("/api/v2/entities/me", **basic(token.access_key, secret)).status_code == 200


def test_revoking_an_unknown_or_already_revoked_token_is_a_404(outsider: User) -> None:
    token, _ = new_token(outsider)
    with pytest.raises(NotFound):
        token_revoke(actor=Actor(user=outsider), access_key="BAC_UNKNOWN0")
    token_revoke(actor=Actor(user=outsider), access_key=token.access_key)
    with pytest.raises(NotFound):
        token_revoke(actor=Actor(user=outsider), access_key=token.access_key)


# --- expiry -----------------------------------------------------------------------------------


def test_a_token_works_until_it_expires_and_is_refused_after(
    client_for: Any, outsider: User
) -> None:
    expires = (timezone.now() + timedelta(hours=1)).isoformat()
    created = post_token(client_for(outsider), {**VALID, "expiresAt": expires}).json()["token"]
    assert created["expiresAt"] is not None
    credentials = basic(created["accessKey"], created["secretKey"])
    assert Client().get("/api/v2/entities/me", **credentials).status_code == 200

    Token.objects.filter(access_key=created["accessKey"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert Client().get("/api/v2/entities/me", **credentials).status_code == 401


def test_an_expiry_date_without_a_time_lasts_to_the_end_of_that_day(outsider: User) -> None:
    tomorrow = timezone.localdate() + timedelta(days=1)
    token, _ = new_token(outsider, expires_at=tomorrow.isoformat())
    assert token.expires_at is not None
    local = timezone.localtime(token.expires_at)
    assert local.date() == tomorrow + timedelta(days=1)
    assert (local.hour, local.minute) == (0, 0)


def test_an_expiry_of_today_as_a_date_is_accepted(outsider: User) -> None:
    token, _ = new_token(outsider, expires_at=timezone.localdate().isoformat())
    assert token.expires_at is not None and token.expires_at > timezone.now()


# --- scope and actions ------------------------------------------------------------------------


def test_a_token_limited_to_chosen_models_cannot_reach_any_other_model(
    owner: User, make_entry: Any
) -> None:
    chosen = make_entry("Chosen model")
    other = make_entry("Other model")
    token, _ = new_token(owner, scope="models", model_ids=[chosen.id])
    actor = Actor(user=owner, token=token)
    assert get_model_for(actor, chosen.id).pk == chosen.pk
    with pytest.raises(NotFound):
        get_model_for(actor, other.id)


def test_over_the_api_a_token_limited_to_chosen_models_gets_404_for_any_other(
    client_for: Any, owner: User, make_entry: Any
) -> None:
    chosen = make_entry("Chosen model")
    other = make_entry("Other model", visibility="public")
    body = {**VALID, "scope": "models", "modelIds": [chosen.id], "actions": ["model:read"]}
    created = post_token(client_for(owner), body).json()["token"]
    assert created["modelIds"] == [chosen.id]
    credentials = basic(created["accessKey"], created["secretKey"])
    assert Client().get(f"/api/v2/model/{chosen.id}", **credentials).status_code == 200
    refused = Client().get(f"/api/v2/model/{other.id}", **credentials)
    assert refused.status_code == 404
    assert client_for(owner).get(f"/api/v2/model/{other.id}").status_code == 200


def test_over_the_api_a_token_without_the_action_gets_a_403(
    client_for: Any, owner: User, entry: Any
) -> None:
    body = {**VALID, "actions": ["file:read"]}
    created = post_token(client_for(owner), body).json()["token"]
    response = Client().get(
        f"/api/v2/model/{entry.id}", **basic(created["accessKey"], created["secretKey"])
    )
    assert response.status_code == 403
    assert "does not allow 'model:read'" in response.json()["error"]["message"]


def test_a_token_without_an_action_is_refused_that_action_with_a_403(
    owner: User, entry: Any
) -> None:
    token, _ = new_token(owner, actions=["model:read"])
    actor = Actor(user=owner, token=token)
    check(actor, Action.MODEL_VIEW, entry)
    with pytest.raises(Forbidden, match="does not allow 'file:write'"):
        check(actor, Action.FILE_UPLOAD, entry)


def test_a_token_can_never_do_more_than_its_user(consumer: User, entry: Any) -> None:
    token, _ = new_token(consumer, actions=["file:write", "model:read"])
    with pytest.raises(Forbidden):
        check(Actor(user=consumer, token=token), Action.FILE_UPLOAD, entry)


# --- pages ------------------------------------------------------------------------------------


TOKEN_PAGES = ["/settings/personal-access-tokens", "/settings/personal-access-tokens/new"]


@pytest.mark.parametrize("url", TOKEN_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(url: str) -> None:
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_token_pages_link_to_each_other_in_the_settings_navigation(
    client_for: Any, outsider: User
) -> None:
    page = client_for(outsider).get("/settings/personal-access-tokens").content.decode()
    assert 'href="/settings/personal-access-tokens" aria-current="page">Authentication' in page
    assert 'href="/settings/personal-access-tokens/new"' in page


def form(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"description": "laptop", "scope": "all", "actions": ["model:read"]}
    data.update(fields)
    return data


def test_creating_a_token_on_the_page_shows_the_keys_and_snippets_once(
    client_for: Any, outsider: User, settings: Any
) -> None:
    settings.REGISTRY_HOST = "registry.example.org:5000"
    client = client_for(outsider)
    created = client.post("/settings/personal-access-tokens/new", form())
    token = Token.objects.get()
    # Post/redirect/get: the page that shows the secret is reached by GET.
    assert created.status_code == 302
    assert created["Location"] == f"/settings/personal-access-tokens/{token.access_key}/created"
    response = client.get(created["Location"])
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = response.context["secret"]
    page = response.content.decode()
    assert token.access_key in page and secret in page
    assert f"docker login registry.example.org:5000 -u {token.access_key} -p {secret}" in page
    assert f'TokenAgent(access_key="{token.access_key}", secret_key="{secret}")' in page
    assert f"export BAILO_ACCESS_KEY={token.access_key}" in page
    assert f"export BAILO_SECRET_KEY={secret}" in page

    listing = client.get("/settings/personal-access-tokens").content.decode()
    assert token.access_key in listing
    assert secret not in listing


def test_reloading_the_created_page_neither_shows_the_secret_again_nor_makes_a_token(
    client_for: Any, outsider: User
) -> None:
    client = client_for(outsider)
    created = client.post("/settings/personal-access-tokens/new", form())
    first = client.get(created["Location"])
    secret = first.context["secret"]
    again = client.get(created["Location"])
    assert again.status_code == 200
    page = again.content.decode()
    assert secret not in page and "was shown once" in page
    assert Token.objects.count() == 1


def test_nobody_else_sees_a_created_page(client_for: Any, outsider: User, owner: User) -> None:
    created = client_for(outsider).post("/settings/personal-access-tokens/new", form())
    assert client_for(owner).get(created["Location"]).status_code == 404


def test_snippets_use_the_browsers_host_when_no_public_url_is_set(
    client_for: Any, outsider: User, settings: Any
) -> None:
    settings.BAILO_PUBLIC_URL_SET = False
    settings.REGISTRY_HOST = ""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "bailo.internal"]
    client = client_for(outsider)
    created = client.post("/settings/personal-access-tokens/new", form())
    page = client.get(created["Location"], HTTP_HOST="bailo.internal:8443").content.decode()
    assert 'Client("http://bailo.internal:8443", agent)' in page
    assert "docker login bailo.internal:8443 -u BAC_" in page


def test_no_docker_login_snippet_without_a_registry(
    client_for: Any, outsider: User, settings: Any
) -> None:
    settings.REGISTRY_URL = ""
    client = client_for(outsider)
    created = client.post("/settings/personal-access-tokens/new", form())
    page = client.get(created["Location"]).content.decode()
    assert "docker login" not in page and "TokenAgent(" in page


def test_docker_login_falls_back_to_the_sites_host_without_a_registry_host(
    client_for: Any, outsider: User, settings: Any
) -> None:
    settings.REGISTRY_HOST = ""
    settings.BAILO_PUBLIC_URL = "https://bailo.example.org"
    settings.BAILO_PUBLIC_URL_SET = True
    response = client_for(outsider).post(
        "/settings/personal-access-tokens/new", form(), follow=True
    )
    assert "docker login bailo.example.org -u BAC_" in response.content.decode()


def test_the_page_limits_a_token_to_the_chosen_models(
    client_for: Any, owner: User, make_entry: Any
) -> None:
    chosen = make_entry("Chosen model")
    make_entry("Other model")
    response = client_for(owner).post(
        "/settings/personal-access-tokens/new",
        form(scope="models", models=[chosen.id], actions=["model:read", "file:read"]),
    )
    assert response.status_code == 302
    token = Token.objects.get()
    assert token.scope == "models"
    assert [m.pk for m in token.scoped_models.all()] == [chosen.id]
    assert token.actions == ["model:read", "file:read"]


def test_models_picked_before_switching_to_all_models_are_ignored(
    client_for: Any, owner: User, entry: Any
) -> None:
    response = client_for(owner).post(
        "/settings/personal-access-tokens/new", form(scope="all", models=[entry.id])
    )
    assert response.status_code == 302
    assert Token.objects.get().scoped_models.count() == 0


def test_the_form_offers_only_models_the_user_can_see(
    client_for: Any, outsider: User, entry: Any, public_entry: Any
) -> None:
    page = client_for(outsider).get("/settings/personal-access-tokens/new").content.decode()
    assert public_entry.id in page
    assert entry.id not in page


def test_the_form_offers_administrator_actions_only_to_administrators(
    client_for: Any, outsider: User, site_admin: User
) -> None:
    outsider_page = client_for(outsider).get("/settings/personal-access-tokens/new")
    admin_page = client_for(site_admin).get("/settings/personal-access-tokens/new")
    assert 'value="schema:write"' not in outsider_page.content.decode()
    assert 'value="file:read"' in outsider_page.content.decode()
    assert 'value="schema:write"' in admin_page.content.decode()


def test_a_non_admin_posting_schema_write_on_the_page_gets_a_403_and_no_token(
    client_for: Any, outsider: User
) -> None:
    response = client_for(outsider).post(
        "/settings/personal-access-tokens/new", form(actions=["schema:write"])
    )
    assert response.status_code == 403
    assert "Only administrators" in response.content.decode()
    assert not Token.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field_id"),
    [
        ({"description": ""}, "id_description"),
        ({"actions": []}, None),
        ({"scope": "models"}, "id_models"),
        ({"expires_at": "2001-01-01"}, "id_expires_at"),
    ],
)
def test_the_form_shows_what_is_wrong_keeps_the_input_and_stores_nothing(
    client_for: Any, outsider: User, fields: dict[str, Any], field_id: str | None
) -> None:
    response = client_for(outsider).post("/settings/personal-access-tokens/new", form(**fields))
    assert response.status_code == 400
    page = response.content.decode()
    assert 'role="alert"' in page
    assert 'aria-invalid="true"' in page
    if field_id:
        start = page.index(f'id="{field_id}"')
        assert 'aria-invalid="true"' in page[start : page.index(">", start)]
    assert not Token.objects.exists()


def test_revoking_on_the_page_stops_the_token_at_once(
    client_for: Any, outsider: User, make_token: Any
) -> None:
    token, secret = make_token(outsider)
    client = client_for(outsider)
    response = client.post(
        f"/settings/personal-access-tokens/{token.access_key}/revoke", follow=True
    )
    assert response.status_code == 200
    assert "was revoked" in response.content.decode()
    assert token.access_key not in response.content.decode().split("was revoked")[1]
    assert Client().get("/api/v2/entities/me", **basic(token.access_key, secret)).status_code == 401


def test_revoking_on_the_page_asks_for_confirmation_first(
    client_for: Any, outsider: User, make_token: Any
) -> None:
    token, _ = make_token(outsider, description="CI laptop")
    client = client_for(outsider)
    listing = client.get("/settings/personal-access-tokens").content.decode()
    confirm = f"/settings/personal-access-tokens/{token.access_key}/revoke/confirm"
    assert f'href="{confirm}"' in listing
    page = client.get(confirm).content.decode()
    assert "Revoke the token “CI laptop”?" in page
    assert f'action="/settings/personal-access-tokens/{token.access_key}/revoke"' in page
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoking_someone_elses_token_on_the_page_is_a_404(
    client_for: Any, outsider: User, owner: User, make_token: Any
) -> None:
    token, _ = make_token(owner)
    response = client_for(outsider).post(
        f"/settings/personal-access-tokens/{token.access_key}/revoke"
    )
    assert response.status_code == 404
    assert "not found" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoking_needs_a_post(client_for: Any, outsider: User, make_token: Any) -> None:
    token, _ = make_token(outsider)
    response = client_for(outsider).get(
        f"/settings/personal-access-tokens/{token.access_key}/revoke"
    )
    assert response.status_code == 405
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_list_marks_expired_tokens(client_for: Any, outsider: User, make_token: Any) -> None:
    make_token(outsider, expires_at=timezone.now() - timedelta(days=1))
    assert (
        "Expired" in client_for(outsider).get("/settings/personal-access-tokens").content.decode()
    )


# --- the official client ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_official_client_works_with_a_token_minted_through_the_api(
    live_server: Any, client_for: Any, outsider: User
) -> None:
    created = post_token(client_for(outsider), VALID).json()["token"]
    agent = TokenAgent(access_key=created["accessKey"], secret_key=created["secretKey"])
    # One request per connection: each server thread then ends, and closes its database
    # connection, as soon as it has answered, so the test database can be dropped afterwards.
    agent.session.headers["Connection"] = "close"
    try:
        schemas = BailoClient(live_server.url, agent).get_all_schemas()["schemas"]
        assert "minimal-general-v10" in {s["id"] for s in schemas}
        revoked = client_for(outsider).delete(f"/api/v2/user/token/{created['accessKey']}")
        assert revoked.status_code == 200
        with pytest.raises(BailoException) as refused:
            BailoClient(live_server.url, agent).get_all_schemas()
        assert refused.value.status_code == 401
    finally:
        agent.session.close()
