"""The permission matrix of ARCHITECTURE.md, action by action and persona by persona."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from core.errors import Forbidden, NotFound
from models_app.policy import (
    DOWNLOAD_GRANTS,
    TOKEN_ACTION_CATALOGUE,
    TOKEN_ACTIONS,
    Action,
    Actor,
    Subject,
    TokenAction,
    allowed,
    check,
    permissions_mine,
    visible_to,
)

pytestmark = pytest.mark.django_db

A = Action
EVERYONE = ["owner", "contributor", "consumer", "reviewer", "outsider", "site_admin"]
MATRIX: dict[Action, set[str]] = {
    A.MODEL_VIEW: {"owner", "contributor", "consumer", "reviewer", "site_admin"},
    A.MODEL_EDIT_CARD: {"owner", "contributor"},
    A.MODEL_EDIT_SETTINGS: {"owner", "site_admin"},
    A.MODEL_DELETE: {"owner"},
    A.RELEASE_CREATE: {"owner", "contributor"},
    A.RELEASE_EDIT: {"owner"},
    A.RELEASE_DELETE: {"owner"},
    A.FILE_UPLOAD: {"owner", "contributor"},
    A.FILE_DELETE: {"owner", "contributor"},
    A.FILE_DOWNLOAD: {"owner", "contributor"},
    A.IMAGE_PUSH: {"owner", "contributor"},
    A.IMAGE_PULL: {"owner", "contributor"},
    A.WEBHOOK_MANAGE: {"owner"},
    A.ACCESS_REQUEST_CREATE: {"owner", "contributor", "consumer", "reviewer", "site_admin"},
}


def actor(personas: dict[str, Any], name: str) -> Actor:
    user = personas[name]
    return Actor(user=user if user is not None else AnonymousUser())


@pytest.mark.parametrize("action", list(MATRIX))
def test_private_entry_follows_the_matrix(action: Action, personas: Any, entry: Any) -> None:
    for name in [*EVERYONE, "anonymous"]:
        expected = name in MATRIX[action]
        assert allowed(actor(personas, name), action, entry) is expected, (name, action)


@pytest.mark.parametrize("action", list(MATRIX))
def test_public_entry_lets_everyone_signed_in_view_and_ask(
    action: Action, personas: Any, public_entry: Any
) -> None:
    viewer_actions = {A.MODEL_VIEW, A.ACCESS_REQUEST_CREATE}
    for name in EVERYONE:
        expected = name in MATRIX[action] or action in viewer_actions
        assert allowed(actor(personas, name), action, public_entry) is expected, (name, action)
    assert not allowed(actor(personas, "anonymous"), action, public_entry)


def test_invisible_entries_are_not_found_and_visible_refusals_are_forbidden(
    personas: Any, entry: Any
) -> None:
    with pytest.raises(NotFound):
        check(actor(personas, "outsider"), A.MODEL_VIEW, entry)
    with pytest.raises(Forbidden, match="owner or contributor"):
        check(actor(personas, "consumer"), A.FILE_DOWNLOAD, entry)


def test_ungoverned_access_lets_any_viewer_download(personas: Any, make_entry: Any) -> None:
    open_entry = make_entry("Open", visibility="public", settings_={"ungovernedAccess": True})
    assert allowed(actor(personas, "outsider"), A.FILE_DOWNLOAD, open_entry)
    assert allowed(actor(personas, "consumer"), A.IMAGE_PULL, open_entry)
    assert not allowed(actor(personas, "outsider"), A.FILE_UPLOAD, open_entry)


def test_registered_download_grants_are_consulted(personas: Any, entry: Any) -> None:
    consumer = personas["consumer"]

    class ConsumerOnly:
        def allows(self, user: Any, model: Any) -> bool:
            return bool(user == consumer)

        def entry_ids(self, user: Any) -> list[str]:
            return [entry.pk] if user == consumer else []

    grant = ConsumerOnly()
    DOWNLOAD_GRANTS.register(grant)
    try:
        assert allowed(actor(personas, "consumer"), A.FILE_DOWNLOAD, entry)
        assert not allowed(actor(personas, "reviewer"), A.FILE_DOWNLOAD, entry)
        assert list(visible_to(actor(personas, "consumer"), A.FILE_DOWNLOAD)) == [entry]
        assert not visible_to(actor(personas, "reviewer"), A.FILE_DOWNLOAD).exists()
    finally:
        DOWNLOAD_GRANTS.unregister(grant)


def test_group_roles_count(make_user: Any, owner: Any, make_entry: Any) -> None:
    from django.contrib.auth.models import Group

    from models_app.services import model_update

    member = make_user("gina")
    member.groups.add(Group.objects.create(name="team"))
    model = make_entry("Grouped")
    collaborators = [
        {"entity": "user:owen", "roles": ["owner"]},
        {"entity": "group:team", "roles": ["contributor"]},
    ]
    model_update(actor=Actor(user=owner), model=model, changes={"collaborators": collaborators})
    assert allowed(Actor(user=member), A.MODEL_EDIT_CARD, model)
    assert not allowed(Actor(user=member), A.MODEL_EDIT_SETTINGS, model)


def test_a_token_never_exceeds_its_user(personas: Any, entry: Any, make_token: Any) -> None:
    token, _ = make_token(personas["consumer"], actions=["file:read", "model:write", "model:read"])
    consumer = Actor(user=personas["consumer"], token=token)
    assert allowed(consumer, A.MODEL_VIEW, entry)
    assert not allowed(consumer, A.MODEL_EDIT_CARD, entry)  # the user cannot, whatever the token
    assert not allowed(consumer, A.FILE_DOWNLOAD, entry)


def test_a_token_only_does_its_actions(personas: Any, entry: Any, make_token: Any) -> None:
    token, _ = make_token(personas["owner"], actions=["model:read"])
    owner = Actor(user=personas["owner"], token=token)
    assert allowed(owner, A.MODEL_VIEW, entry)
    assert not allowed(owner, A.MODEL_EDIT_CARD, entry)
    with pytest.raises(Forbidden, match="model:write"):
        check(owner, A.MODEL_EDIT_CARD, entry)


def test_a_token_for_chosen_models_cannot_see_others(
    personas: Any, entry: Any, make_entry: Any, make_token: Any
) -> None:
    other = make_entry("Other")
    token, _ = make_token(personas["owner"], actions=["model:read", "model:write"], scope="models")
    token.scoped_models.add(other)
    owner = Actor(user=personas["owner"], token=token)
    assert allowed(owner, A.MODEL_EDIT_CARD, other)
    with pytest.raises(NotFound):
        check(owner, A.MODEL_VIEW, entry)


def test_permissions_mine_reports_each_permission(personas: Any, entry: Any) -> None:
    mine = permissions_mine(actor(personas, "contributor"), entry)
    assert mine["editEntryCard"] == {"hasPermission": True}
    assert mine["editEntry"]["hasPermission"] is False
    assert "owner" in mine["editEntry"]["info"]


def test_mirrored_models_refuse_local_content(
    personas: Any, owner: Any, mirror_import: None
) -> None:
    from models_app.services import model_create

    mirrored = model_create(
        actor=Actor(user=owner),
        name="Mirror",
        description="from elsewhere",
        kind="mirrored-model",
        settings_={"mirror": {"sourceModelId": "abc-123456"}},
    )
    assert allowed(Actor(user=owner), A.MODEL_EDIT_CARD, mirrored)
    assert not allowed(Actor(user=owner), A.RELEASE_CREATE, mirrored)
    assert not allowed(Actor(user=owner), A.FILE_UPLOAD, mirrored)


def test_expiry_is_checked_by_the_token_itself(personas: Any, make_token: Any) -> None:
    token, _ = make_token(personas["owner"], expires_at=timezone.now())
    assert token.is_usable() is False


def test_a_token_for_chosen_models_cannot_create_entries(owner: Any, make_token: Any) -> None:
    from models_app.services import model_create

    token, _ = make_token(owner, actions=["model:read", "model:write"], scope="models")
    with pytest.raises(Forbidden, match="chosen models"):
        model_create(actor=Actor(user=owner, token=token), name="New", description="d")


# --- the one restriction agrees with the object checks ------------------------------------------

SUBJECT_ACTIONS = {A.REVIEW_RESPOND, A.ACCESS_REQUEST_CHANGE}


@pytest.fixture
def entries(make_entry: Any, mirror_import: None) -> list[Any]:
    """A private, a public, an ungoverned and a mirrored entry, all with the same personas."""
    return [
        make_entry("Private one"),
        make_entry("Public one", visibility="public"),
        make_entry("Open one", visibility="public", settings_={"ungovernedAccess": True}),
        make_entry(
            "Mirror one",
            visibility="public",
            kind="mirrored-model",
            settings_={"mirror": {"sourceModelId": "source-abcdef"}},
        ),
    ]


def _tokens(user: Any, entries: list[Any]) -> list[Any]:
    """No token, a token with every action, one limited to the first two entries, one that may
    only read entries. (Never used to sign in, so their secrets need no real hash.)"""
    from access.models import Token

    def token(key: str, actions: list[str], **fields: Any) -> Token:
        return Token.objects.create(
            user=user,
            access_key=f"BAC_{key}{user.pk:04d}",
            secret_hash="-",
            actions=actions,
            **fields,
        )

    every = token("ALL", list(TokenAction))
    scoped = token("SCO", list(TokenAction), scope="models")
    scoped.scoped_models.set(entries[:2])
    reader = token("RDR", [TokenAction.MODEL_READ])
    return [None, every, scoped, reader]


def test_visible_to_lets_through_exactly_the_entries_allowed_says_yes_to(
    personas: Any, entries: list[Any]
) -> None:
    """Every action but those that depend on their subject, every persona, with and without
    tokens of several kinds, over private, public, ungoverned and mirrored entries."""
    actors = [
        (name, Actor(user=user if user is not None else AnonymousUser(), token=token))
        for name, user in personas.items()
        for token in (_tokens(user, entries) if user is not None else [None])
    ]
    ours = {e.pk for e in entries}
    mismatches = []
    for action in (a for a in Action if a not in SUBJECT_ACTIONS):
        for name, who in actors:
            listed = set(visible_to(who, action).values_list("pk", flat=True)) & ours
            expected = {e.pk for e in entries if allowed(who, action, e)}
            if listed != expected:
                mismatches.append(f"{action} {name} {who.token}: {listed} != {expected}")
    assert not mismatches, "\n".join(mismatches)


def test_visible_to_restricts_rows_through_their_entry(personas: Any, entries: list[Any]) -> None:
    from models_app.models import Collaborator

    rows = Collaborator.objects.filter(model__in=entries)
    for name, user in personas.items():
        who = Actor(user=user if user is not None else AnonymousUser())
        kept = {c.model_id for c in visible_to(who, A.MODEL_VIEW, rows)}
        assert kept == {e.pk for e in entries if allowed(who, A.MODEL_VIEW, e)}, name


def test_visible_to_refuses_actions_that_depend_on_their_subject(personas: Any) -> None:
    for action in SUBJECT_ACTIONS:
        with pytest.raises(ValueError, match="subject"):
            visible_to(actor(personas, "owner"), action)


# --- review responses and access-request changes are policy actions ---------------------------


def test_only_holders_of_the_role_may_respond_to_its_review(personas: Any, entry: Any) -> None:
    msro = Subject(role="msro")
    assert allowed(actor(personas, "reviewer"), A.REVIEW_RESPOND, entry, msro)
    for name in ("owner", "contributor", "consumer", "site_admin"):
        assert not allowed(actor(personas, name), A.REVIEW_RESPOND, entry, msro), name
    assert not allowed(actor(personas, "reviewer"), A.REVIEW_RESPOND, entry, Subject(role="mtr"))
    assert not allowed(actor(personas, "reviewer"), A.REVIEW_RESPOND, entry)
    with pytest.raises(Forbidden, match="Only holders of the msro role"):
        check(actor(personas, "owner"), A.REVIEW_RESPOND, entry, msro)
    with pytest.raises(NotFound):
        check(actor(personas, "outsider"), A.REVIEW_RESPOND, entry, msro)


def test_a_reviewer_token_without_model_write_cannot_respond(
    personas: Any, entry: Any, make_token: Any
) -> None:
    token, _ = make_token(personas["reviewer"], actions=[TokenAction.MODEL_READ])
    who = Actor(user=personas["reviewer"], token=token)
    with pytest.raises(Forbidden, match="model:write"):
        check(who, A.REVIEW_RESPOND, entry, Subject(role="msro"))


def test_access_requests_are_changed_by_the_people_they_name_and_owners(
    personas: Any, public_entry: Any
) -> None:
    naming_outsider = Subject(named=frozenset({"user:olive"}))
    assert allowed(
        actor(personas, "outsider"), A.ACCESS_REQUEST_CHANGE, public_entry, naming_outsider
    )
    assert allowed(actor(personas, "owner"), A.ACCESS_REQUEST_CHANGE, public_entry, naming_outsider)
    for name in ("contributor", "consumer", "reviewer", "site_admin"):
        who = actor(personas, name)
        assert not allowed(who, A.ACCESS_REQUEST_CHANGE, public_entry, naming_outsider), name
    with pytest.raises(Forbidden, match="named in this access request"):
        check(actor(personas, "consumer"), A.ACCESS_REQUEST_CHANGE, public_entry, naming_outsider)


# --- the token vocabulary -----------------------------------------------------------------------


def test_every_action_needs_a_token_action_and_every_token_action_is_described() -> None:
    assert set(TOKEN_ACTIONS) == set(Action)
    assert [a["id"] for a in TOKEN_ACTION_CATALOGUE] == [a.value for a in TokenAction]
    assert all(a["description"] for a in TOKEN_ACTION_CATALOGUE)
