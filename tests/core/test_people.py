"""Display names for people and groups (core/people.py), the {% person %} tag, the entities route
and the pages that show many people at the cost of one query."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from access.access_requests.services import access_request_create
from core.entities import entity_lookup
from core.oidc import name_from_claims
from core.people import Person, directory, people_named, person_of_user
from models_app.forms import CollaboratorAddForm
from models_app.policy import Actor
from models_app.services import model_update
from tests.conftest import create_user

pytestmark = pytest.mark.django_db


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"], body
    return dict(body["error"])


# --- names -----------------------------------------------------------------------------------


def test_a_user_is_named_by_their_full_name_and_falls_back_to_the_username() -> None:
    create_user("alice", first_name="Alice", last_name="Anders")
    create_user("bob")
    people = people_named(["user:alice", "user:bob", "user:nobody", "group:data-team", "odd"])
    assert people["user:alice"] == Person("user:alice", "user", "Alice Anders")
    assert people["user:bob"].name == "bob"
    assert people["user:nobody"].name == "nobody" and not people["user:nobody"].known
    assert people["group:data-team"] == Person("group:data-team", "group", "data-team")
    assert people["odd"].name == "odd" and people["odd"].kind == ""


def test_many_people_cost_one_query_and_groups_none() -> None:
    for n in range(30):
        create_user(f"user{n}", first_name=f"First{n}", last_name="Last")
    with CaptureQueriesContext(connection) as queries:
        people = people_named([f"user:user{n}" for n in range(30)] + ["group:g"])
    assert len(queries) == 1
    assert people["user:user7"].name == "First7 Last"
    with CaptureQueriesContext(connection) as queries:
        people_named(["group:a", "group:b"])
    assert len(queries) == 0


def test_initials_come_from_the_first_and_last_words() -> None:
    assert Person("user:a", "user", "Alice Anders").initials == "AA"
    assert Person("user:a", "user", "Mary Ann de Souza").initials == "MS"
    assert Person("user:bob", "user", "bob").initials == "B"
    assert Person("group:data-team", "group", "data-team").initials == "DT"
    assert Person("x", "", "!!").initials == "?"


def test_the_lookup_route_and_the_pages_share_one_name() -> None:
    user = create_user("carol", first_name="Carol", last_name="Chen", email="c@example.org")
    assert entity_lookup("carol") == {"name": "Carol Chen", "email": "c@example.org"}
    assert person_of_user(user).name == people_named(["user:carol"])["user:carol"].name


def test_oidc_names_come_from_given_and_family_names_else_the_name_claim() -> None:
    assert name_from_claims({"given_name": "Ada", "family_name": "Lovelace", "name": "X"}) == (
        "Ada",
        "Lovelace",
    )
    assert name_from_claims({"name": "Grace Brewster Hopper"}) == ("Grace Brewster Hopper", "")
    assert name_from_claims({"name": "n" * 300})[0] == "n" * 150
    assert name_from_claims({}) == ("", "")


# --- the tag ---------------------------------------------------------------------------------


def render(source: str, **context: Any) -> str:
    return Template(source).render(Context(context))


def test_the_tag_shows_a_decorative_avatar_and_the_name_as_text() -> None:
    create_user("alice", first_name="Alice", last_name="Anders")
    html = render("{% person code %}", code="user:alice")
    assert '<span class="avatar avatar-' in html and 'aria-hidden="true">AA</span>' in html
    assert '<span class="person-name">Alice Anders</span>' in html
    assert 'title="user:alice"' in html
    with_code = render("{% person code code=True %}", code="user:alice")
    assert '<small class="person-code">user:alice</small>' in with_code
    group = render("{% person 'group:ops' %}")
    assert "avatar-group" in group and "(group)" in group
    assert "unknown" in render("{% person nobody %}", nobody=None)


def test_names_are_escaped() -> None:
    create_user("mallory", first_name="<script>alert(1)</script>")
    html = render("{% person 'user:mallory' %} {% display_name 'user:mallory' %}")
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_a_preloaded_directory_answers_the_tag_without_queries() -> None:
    for n in range(10):
        create_user(f"p{n}", first_name=f"P{n}")
    request = RequestFactory().get("/")
    directory(request).preload(f"user:p{n}" for n in range(10))
    with CaptureQueriesContext(connection) as queries:
        html = render(
            "{% for c in codes %}{% person c %}{% endfor %}",
            codes=[f"user:p{n}" for n in range(10)],
            request=request,
        )
    assert len(queries) == 0 and html.count('class="person-name"') == 10


# --- typing a collaborator -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "typed", "entity"),
    [
        ("user", "alice", "user:alice"),
        ("user", "user:alice", "user:alice"),
        ("user", "group:data-team", "group:data-team"),
        ("group", " data-team ", "group:data-team"),
    ],
)
def test_a_collaborator_may_be_typed_by_name_or_by_code(kind: str, typed: str, entity: str) -> None:
    form = CollaboratorAddForm({"kind": kind, "name": typed, "roles": ["consumer"]})
    assert form.is_valid(), form.errors
    assert form.collaborator() == {"entity": entity, "roles": ["consumer"]}


def test_a_code_without_a_name_is_refused() -> None:
    form = CollaboratorAddForm({"kind": "user", "name": "user:", "roles": ["consumer"]})
    assert not form.is_valid() and "name" in form.errors


# --- GET /api/v2/entities --------------------------------------------------------------------


def test_entities_match_full_names_and_carry_the_display_name(
    client_for: Any, outsider: User
) -> None:
    create_user("aanders", first_name="Alice", last_name="Anders")
    create_user("retired", first_name="Alice", last_name="Gone", is_active=False)
    Group.objects.create(name="anders-fans")
    results = client_for(outsider).get("/api/v2/entities?q=anders").json()["results"]
    assert results == [
        {"kind": "user", "id": "aanders", "name": "Alice Anders"},
        {"kind": "group", "id": "anders-fans", "name": "anders-fans"},
    ]


def test_entities_are_bounded(client_for: Any, outsider: User) -> None:
    User.objects.bulk_create(User(username=f"many{n:02}") for n in range(30))
    results = client_for(outsider).get("/api/v2/entities?q=many").json()["results"]
    assert len(results) == 20


def test_entities_refuse_an_overlong_query_and_anonymous_callers(
    client_for: Any, outsider: User
) -> None:
    error = error_of(client_for(outsider).get("/api/v2/entities?q=" + "a" * 101), 400)
    assert error["context"]["validationErrors"][0]["property"] == "q"
    error_of(Client().get("/api/v2/entities?q=alice"), 401)


# --- list pages: names for many people in one query ------------------------------------------


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_the_settings_and_overview_pages_name_many_collaborators_in_one_query(
    client_for: Any, owner: User, entry: Any
) -> None:
    owner.first_name, owner.last_name = "Owen", "Owner"
    owner.save()
    as_owner = client_for(owner)
    few = {page: _queries(as_owner, f"/model/{entry.pk}{page}") for page in ("", "/settings")}
    people = [
        create_user(f"colleague{n}", first_name=f"Col{n}", last_name="League") for n in range(25)
    ]
    collaborators = [{"entity": f"user:{u.username}", "roles": ["consumer"]} for u in people]
    collaborators.append({"entity": "user:owen", "roles": ["owner"]})
    collaborators += [{"entity": f"group:team{n}", "roles": ["consumer"]} for n in range(5)]
    model_update(actor=Actor(user=owner), model=entry, changes={"collaborators": collaborators})
    for page, count in few.items():
        assert _queries(as_owner, f"/model/{entry.pk}{page}") == count, page
    html = as_owner.get(f"/model/{entry.pk}/settings").content.decode()
    assert "Col24 League" in html and "Owen Owner" in html and "team3" in html
    assert "<code>user:colleague" not in html


def test_the_access_requests_tab_names_everyone_in_one_query(
    client_for: Any, owner: User, consumer: User, make_entry: Any
) -> None:
    """Three requests naming one person each cost what three naming many people each cost."""

    def ask(entry: Any, names: list[str]) -> None:
        access_request_create(
            actor=Actor(user=consumer),
            model=entry,
            schema_id="minimal-access-request-general-v10",
            metadata={"overview": {"name": "Please", "entities": names}},
        )

    few, many = make_entry("Few people"), make_entry("Many people")
    for n in range(12):
        create_user(f"needs{n}", first_name=f"Needs{n}", last_name="Access")
    for n in range(3):
        ask(few, ["user:cody"])
        ask(many, [f"user:needs{n * 4 + k}" for k in range(4)] + ["group:analysts"])
    as_owner = client_for(owner)
    as_owner.get(f"/model/{few.pk}/access-requests")  # the session and the review badge, read
    assert _queries(as_owner, f"/model/{many.pk}/access-requests") == _queries(
        as_owner, f"/model/{few.pk}/access-requests"
    )
    html = as_owner.get(f"/model/{many.pk}/access-requests").content.decode()
    assert "Needs11 Access" in html and ">analysts</span>" in html


def test_a_card_names_its_points_of_contact_with_one_query_for_the_whole_card() -> None:
    from models_app.card_form import build_card_form
    from models_app.models import Schema

    for n in range(8):
        create_user(f"poc{n}", first_name=f"Point{n}", last_name="Contact")
    schema = Schema.objects.get(pk="extended-general-v1").json_schema
    owners = [f"user:poc{n}" for n in range(8)] + ["group:stewards", "not a code"]
    with CaptureQueriesContext(connection) as queries:
        form = build_card_form(schema, {"overview": {"modelSummary": "S", "modelOwners": owners}})
    assert len(queries) == 0  # building a form for input loads no names
    with CaptureQueriesContext(connection) as queries:
        html = "".join(str(f.display_html) for f in form.fields() if f.answered)
    assert len(queries) == 1
    assert "Point7 Contact" in html and ">stewards</span>" in html and "not a code" in html
    assert 'class="people-list"' in html


def test_the_review_conversation_names_authors_and_those_who_reacted(
    client_for: Any, owner: User, consumer: User, reviewer: User, entry: Any
) -> None:
    from reviews.services import comment_add, response_react

    consumer.first_name, consumer.last_name = "Cody", "Castellanos"
    consumer.save()
    reviewer.first_name, reviewer.last_name = "Rita", "Reviewer"
    reviewer.save()
    request = access_request_create(
        actor=Actor(user=consumer),
        model=entry,
        schema_id="minimal-access-request-general-v10",
        metadata={"overview": {"name": "Please", "entities": ["user:cody"]}},
    )
    comment = comment_add(actor=Actor(user=consumer), text="Needed soon", access_request=request)
    response_react(actor=Actor(user=reviewer), response=comment, kind="like")
    html = client_for(owner).get(f"/model/{entry.pk}/access-request/{request.pk}").content.decode()
    assert '<span class="person-name">Cody Castellanos</span>' in html
    assert "Like: Rita Reviewer" in html
