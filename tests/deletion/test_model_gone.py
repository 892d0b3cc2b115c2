"""After a model is deleted it is gone for everyone, its owner included.

The pages and API endpoints are not listed by hand: every URL pattern and every API route that
takes a ``model_id`` is walked, so a page added later is covered the day it appears.

Every test runs twice: with the worker's bulk step (``deletion.beneath``) held back, so the rows
beneath the entry are still live in their own tables and only the entry's row is hidden (as from
the request's commit until a worker picks the step up), and once it has hidden them.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from access.models import AccessRequest, Token
from deletion.beneath import hide_beneath
from deletion.services import model_delete
from models_app.models import Model
from models_app.policy import Actor
from releases.models import File, Release, ScanResult
from reviews.models import Response, Review
from tests.conftest import basic, stack_required
from tests.deletion.model_helpers import FullModel, build_full_model, deletion_env
from webhooks.models import Webhook

pytestmark = pytest.mark.django_db

__all__ = ["deletion_env"]

# Who must find nothing: the owner who deleted it, and people who could see it before.
AFTERWARDS = ["owner", "contributor", "consumer", "reviewer", "outsider", "site_admin"]
PLACEHOLDER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>|\{(?P<api>[^}]+)\}")


@pytest.fixture(autouse=True)
def _env(deletion_env: None) -> None:
    """Eager tasks and a private blob directory for every test here."""


# Whether ``delete`` runs the worker's bulk step after the request (set per test run below).
BULK_STEP: dict[str, bool] = {"run": False}


@pytest.fixture(autouse=True, params=["bulk step held", "bulk step done"])
def _bulk_step(request: Any) -> Iterator[None]:
    BULK_STEP["run"] = request.param == "bulk step done"
    yield
    BULK_STEP["run"] = False


@pytest.fixture
def full(
    make_entry: Any,
    entry: Model,
    owner: Any,
    reviewer: Any,
    consumer: Any,
    make_token: Any,
) -> FullModel:
    """A public model (so that everyone could see it before), full of rows, then deleted."""
    built = build_full_model(
        entry=make_entry("Doomed model", visibility="public"),
        other_entry=entry,
        owner=owner,
        reviewer=reviewer,
        consumer=consumer,
        make_token=make_token,
    )
    return built


def delete(full: FullModel, owner: Any) -> None:
    """The request; then, or not, the worker's bulk step (inside a test's transaction nothing
    commits, so nothing queues it by itself)."""
    deletion = model_delete(
        actor=Actor(user=owner), model_id=full.model.pk, confirm_name=full.model.name
    )
    beneath = [File, Release, Review, Response, AccessRequest, Webhook, ScanResult]
    if BULK_STEP["run"]:
        hide_beneath(deletion.pk)
        live = [kind.__name__ for kind in beneath if _live_beneath(kind, full.model.pk)]
        assert live == [], live
    else:
        # Held: every kind of row beneath the entry is still live in its own table.
        live = {kind.__name__: _live_beneath(kind, full.model.pk) for kind in beneath}
        assert all(live.values()), live


def _live_beneath(kind: Any, model_id: str) -> bool:
    lookup = "file__model_id" if kind is ScanResult else "model_id"
    if kind is Response:
        return Response.objects.filter(review__model_id=model_id).exists()
    return bool(kind.objects.filter(**{lookup: model_id}).exists())


def values_for(full: FullModel) -> dict[str, str]:
    review = Review.all_objects.filter(model_id=full.model.pk).first()
    assert review is not None
    return {
        "model_id": full.model.pk,
        "semver": full.release.semver,
        "file_id": full.files[0].pk,
        "file_name": full.files[0].name,
        "access_request_id": full.access_request.pk,
        "review_pk": str(review.pk),
        "schema_id": "minimal-access-request-general-v10",
        "version": "1",
        "migration_id": "no-such-migration",
        "name": "img",
        "tag": "latest",
        "webhook_id": full.webhook.pk,
    }


def fill(route: str, values: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group("name") or match.group("api")
        return values.get(name, "x")

    return PLACEHOLDER.sub(one, route)


def page_routes() -> Iterator[str]:
    """Every page route that names an entry (the API's own routes are walked separately)."""

    def walk(patterns: list[Any], prefix: str) -> Iterator[str]:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            elif (
                isinstance(pattern, URLPattern)
                and "model_id" in route
                and not route.startswith("api/")
            ):
                yield route

    return walk(get_resolver().url_patterns, "")


def api_routes() -> Iterator[tuple[str, str]]:
    """Every ``(method, path)`` of the v2 API that names an entry."""
    from bailo_site.api import api

    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            if "{model_id}" not in path:
                continue
            for operation in path_view.operations:
                for method in operation.methods:
                    yield method, prefix + path


def api_route_exists(method: str, path: str) -> bool:
    from bailo_site.api import api

    return any(
        path == prefix + p and method in op.methods
        for prefix, router in api._routers
        for p, view in router.path_operations.items()
        for op in view.operations
    )


# Query parameters some endpoints require before they look at the entry; extra ones are ignored.
QUERY = "fileId={file_id}&uploadId=u1&partNumber=1&name=a.bin&size=1&semver=1.0.0"


def get_or_post(client: Client, path: str) -> Any:
    """GET the page (following a redirect such as /data-card/<id> -> /model/<id>); a page that
    only takes POST gets a POST."""
    response = client.get(path, follow=True)
    if response.status_code == 405:
        response = client.post(path, {}, follow=True)
    return response


def test_the_walk_finds_the_pages_and_endpoints_under_a_model() -> None:
    pages = set(page_routes())
    routes = {path for _, path in api_routes()}
    assert {"model/<str:model_id>", "model/<str:model_id>/settings"} <= pages
    assert "model/<str:model_id>/delete" in pages
    assert {
        "/model/{model_id}",
        "/model/{model_id}/files",
        "/model/{model_id}/file/{file_id}/download",
        "/model/{model_id}/release/{semver}/file/{file_name}/download",
        "/model/{model_id}/images",
        "/model/{model_id}/access-requests",
    } <= routes
    assert "model/<str:model_id>/file/<str:file_id>/download" in pages


@pytest.mark.parametrize("persona", AFTERWARDS)
def test_every_page_under_a_deleted_model_answers_404(
    persona: str, full: FullModel, owner: Any, personas: dict[str, Any], client_for: Any
) -> None:
    client = client_for(personas[persona])
    values = values_for(full)
    assert client.get(f"/model/{full.model.pk}").status_code == 200
    delete(full, owner)

    wrong = []
    for route in page_routes():
        path = "/" + fill(route, values)
        response = get_or_post(client, path)
        if response.status_code != 404:
            wrong.append(f"{path}: {response.status_code}")
    assert not wrong, "pages that still answer:\n" + "\n".join(wrong)


@pytest.mark.parametrize("persona", AFTERWARDS)
def test_every_api_endpoint_under_a_deleted_model_answers_404(
    persona: str, full: FullModel, owner: Any, personas: dict[str, Any], client_for: Any
) -> None:
    client = client_for(personas[persona])
    values = values_for(full)
    assert client.get(f"/api/v2/model/{full.model.pk}").status_code == 200
    delete(full, owner)

    wrong = []
    for method, route in api_routes():
        path = f"/api/v2{fill(route, values)}?{QUERY.format(**values)}"
        body = "" if method == "GET" else "{}"
        response = client.generic(method, path, body, content_type="application/json")
        if response.status_code != 404 or set(response.json()) != {"error"}:
            wrong.append(f"{method} {path}: {response.status_code} {response.content[:120]!r}")
    assert not wrong, "endpoints that still answer:\n" + "\n".join(wrong)


@pytest.mark.parametrize("persona", ["owner", "outsider", "site_admin"])
def test_the_marketplace_and_search_no_longer_list_it(
    persona: str, full: FullModel, owner: Any, personas: dict[str, Any], client_for: Any
) -> None:
    client = client_for(personas[persona])

    def listed() -> tuple[bool, bool]:
        page = client.get("/")
        assert page.status_code == 200
        found = client.get("/api/v2/models/search", {"search": "Doomed"})
        assert found.status_code == 200
        ids = [m["id"] for m in found.json()["models"]]
        return full.model.pk in page.content.decode(), full.model.pk in ids

    assert listed() == (True, True)
    delete(full, owner)
    assert listed() == (False, False)


def test_its_reviews_no_longer_show_to_the_reviewer(
    full: FullModel, owner: Any, reviewer: Any, client_for: Any
) -> None:
    client = client_for(reviewer)

    def shown() -> bool:
        pages = [client.get("/reviews"), client.get("/reviews?tab=archived")]
        assert all(p.status_code == 200 for p in pages)
        text = "".join(p.content.decode() for p in pages)
        if api_route_exists("GET", "/reviews"):
            answer = client.get("/api/v2/reviews")
            assert answer.status_code == 200
            text += answer.content.decode()
        return full.model.pk in text

    assert shown()
    delete(full, owner)
    assert not shown()


def test_its_access_requests_no_longer_show_to_the_requester(
    full: FullModel, owner: Any, consumer: Any, client_for: Any
) -> None:
    client = client_for(consumer)
    searchable = api_route_exists("GET", "/access-requests/search")
    if not searchable:
        pytest.skip("the access request search endpoint is not there yet")

    def shown() -> bool:
        answer = client.get("/api/v2/access-requests/search", {"mine": "true"})
        assert answer.status_code == 200
        return full.access_request.pk in answer.content.decode()

    assert shown()
    delete(full, owner)
    assert not shown()


def test_a_token_scoped_only_to_the_model_no_longer_works(full: FullModel, owner: Any) -> None:
    key = full.only_token.access_key
    auth = basic(key, full.secrets[key])
    assert Client().get(f"/api/v2/model/{full.model.pk}", **auth).status_code == 200
    delete(full, owner)

    assert Client().get(f"/api/v2/model/{full.model.pk}", **auth).status_code == 401


def test_a_token_scoped_to_it_and_another_model_keeps_only_the_other(
    full: FullModel, owner: Any, entry: Model, client_for: Any
) -> None:
    key = full.shared_token.access_key
    auth = basic(key, full.secrets[key])
    delete(full, owner)

    assert Client().get(f"/api/v2/model/{full.model.pk}", **auth).status_code == 404
    assert Client().get(f"/api/v2/model/{entry.pk}", **auth).status_code == 200
    tokens = client_for(owner).get("/api/v2/user/tokens").json()["tokens"]
    shared = next(t for t in tokens if t["accessKey"] == key)
    assert shared["modelIds"] == [entry.pk]
    assert full.model.pk not in json.dumps(tokens)
    assert Token.objects.get(pk=full.shared_token.pk).revoked_at is None


# --- the registry token endpoint --------------------------------------------------------------


def registry_token_access(response: Any) -> list[Any]:
    """The ``access`` claim of an issued registry token (a JWT; its signature is the registry's
    business, not this test's)."""
    payload = response.json()["token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return list(claims.get("access") or [])


@pytest.mark.parametrize("actions", ["pull", "push", "pull,push", "delete", "*"])
def test_the_registry_token_endpoint_refuses_every_scope_on_its_images(
    actions: str, full: FullModel, owner: Any
) -> None:
    from core.ports import registry

    if not registry.is_configured():
        if stack_required():
            pytest.fail("the registry is not configured but the stack is required")
        pytest.skip("no registry configured")
    key = full.wide_token.access_key
    auth = basic(key, full.secrets[key])
    url = "/api/v1/registry_auth"
    query = {
        "service": django_settings.REGISTRY_SERVICE,
        "scope": f"repository:{full.model.pk}/img:{actions}",
    }
    before = Client().get(url, query, **auth)
    if actions == "pull":
        assert before.status_code == 200
        assert registry_token_access(before) != []
    delete(full, owner)

    after = Client().get(url, query, **auth)
    if after.status_code == 200:
        assert registry_token_access(after) == []
    else:
        assert after.status_code == 403, after.content
