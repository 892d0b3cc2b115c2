"""Creating and updating releases through the services: who may, what is checked, what is kept."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from core.audit import AuditAction
from core.errors import BadRequest, Conflict, Forbidden, NotFound
from core.models import AuditEvent
from core.ports import registry
from models_app.policy import Actor
from models_app.services import model_create
from releases.models import Release, ReleaseFile
from releases.selectors import release_files, release_get_visible, release_list_visible
from releases.services import RELEASE_PUBLISHED, release_create, release_update
from tests.conftest import stack_required
from tests.releases.release_helpers import make_file, make_release, push_tiny_image, with_card

pytestmark = pytest.mark.django_db


@pytest.fixture
def carded(entry: Any, owner: Any) -> Any:
    """The private entry of the shared fixtures, with a card (two versions)."""
    return with_card(entry, owner, versions=2)


@pytest.fixture
def published() -> Any:
    """Records every release the published hooks are called with."""
    seen: list[Release] = []
    RELEASE_PUBLISHED.register(seen.append)
    yield seen
    RELEASE_PUBLISHED.unregister(seen.append)


def nothing_stored() -> bool:
    return not Release.all_objects.exists() and not ReleaseFile.objects.exists()


# --- create -----------------------------------------------------------------------------------


def test_an_owner_creates_a_release_with_files_in_the_order_listed(carded: Any, owner: Any) -> None:
    b = make_file(carded, "b.bin")
    a = make_file(carded, "a.bin")
    release = make_release(carded, owner, "v1.2.3-rc.1+build.7", file_ids=[b.pk, a.pk])
    stored = Release.objects.get(pk=release.pk)
    assert stored.semver == "1.2.3-rc.1+build.7"
    assert (stored.major, stored.minor_version, stored.patch, stored.prerelease) == (
        1,
        2,
        3,
        "rc.1",
    )
    assert stored.model_card_version == 2  # the current card
    assert stored.created_by == owner
    assert [f.name for f in release_files(stored)] == ["b.bin", "a.bin"]
    event = AuditEvent.objects.get(action=AuditAction.RELEASE_CREATE)
    assert event.subject == f"{carded.pk}/1.2.3-rc.1+build.7"
    assert event.actor == "user:owen"


def test_a_contributor_creates_a_release_for_an_older_card_version(
    carded: Any, contributor: Any
) -> None:
    release = make_release(carded, contributor, "0.1.0", model_card_version=1)
    assert release.model_card_version == 1


@pytest.mark.parametrize("persona", ["consumer", "reviewer", "site_admin"])
def test_people_without_a_creating_role_cannot_create_releases(
    carded: Any, personas: dict[str, Any], persona: str
) -> None:
    with pytest.raises(Forbidden):
        make_release(carded, personas[persona])
    assert nothing_stored()


def test_an_outsider_does_not_learn_that_a_private_entry_exists(carded: Any, outsider: Any) -> None:
    with pytest.raises(NotFound):
        make_release(carded, outsider)
    assert nothing_stored()


def test_a_token_without_release_write_cannot_create_releases(
    carded: Any, owner: Any, make_token: Any
) -> None:
    token, _ = make_token(owner, actions=["model:read", "release:read"])
    with pytest.raises(Forbidden) as refused:
        release_create(
            actor=Actor(user=owner, token=token), model=carded, semver="1.0.0", notes="n"
        )
    assert "release:write" in refused.value.message
    assert nothing_stored()


def test_a_release_needs_the_entry_to_have_a_card(entry: Any, owner: Any) -> None:
    with pytest.raises(BadRequest) as refused:
        make_release(entry, owner)
    assert "no model card" in refused.value.message
    assert nothing_stored()


def test_a_card_version_that_does_not_exist_is_refused(carded: Any, owner: Any) -> None:
    for version in (3, 0, "two", True):
        with pytest.raises(BadRequest):
            make_release(carded, owner, model_card_version=version)
    assert nothing_stored()


def test_data_cards_have_no_releases(owner: Any) -> None:
    card = model_create(actor=Actor(user=owner), name="Digits", description="d", kind="data-card")
    with pytest.raises(BadRequest) as refused:
        make_release(card, owner)
    assert "Data cards" in refused.value.message


@pytest.mark.parametrize("semver", ["1.2", "01.0.0", "1.0.0-", "latest", "", None, 3])
def test_an_invalid_semver_is_refused(carded: Any, owner: Any, semver: Any) -> None:
    with pytest.raises(BadRequest):
        make_release(carded, owner, semver)
    assert nothing_stored()


def test_a_taken_semver_is_a_conflict_even_with_other_build_metadata(
    carded: Any, owner: Any
) -> None:
    make_release(carded, owner, "1.0.0+first")
    for semver in ("1.0.0+first", "v1.0.0", "1.0.0+second"):
        with pytest.raises(Conflict) as refused:
            make_release(carded, owner, semver)
        assert "already has a release 1.0.0+first" in refused.value.message
    assert Release.objects.count() == 1


def test_the_semver_of_a_deleted_release_is_never_reused(carded: Any, owner: Any) -> None:
    old = make_release(carded, owner, "2.0.0")
    Release.objects.filter(pk=old.pk).update(deleted_at=timezone.now())
    with pytest.raises(Conflict) as refused:
        make_release(carded, owner, "2.0.0")
    assert "deleted" in refused.value.message
    assert Release.all_objects.count() == 1


def test_the_same_semver_on_another_entry_is_fine(carded: Any, owner: Any, make_entry: Any) -> None:
    other = with_card(make_entry("Other"), owner)
    make_release(carded, owner, "1.0.0")
    make_release(other, owner, "1.0.0")
    assert Release.objects.count() == 2


def test_a_file_of_another_entry_is_refused_by_id(carded: Any, owner: Any, make_entry: Any) -> None:
    foreign = make_file(make_entry("Other"), "foreign.bin")
    mine = make_file(carded, "mine.bin")
    with pytest.raises(BadRequest) as refused:
        make_release(carded, owner, file_ids=[mine.pk, foreign.pk])
    assert foreign.pk in refused.value.message
    assert refused.value.context["fileId"] == foreign.pk
    assert nothing_stored()


def test_an_unknown_file_id_is_refused(carded: Any, owner: Any) -> None:
    with pytest.raises(BadRequest) as refused:
        make_release(carded, owner, file_ids=["no-such-file"])
    assert "no-such-file" in refused.value.message
    assert nothing_stored()


def test_a_file_still_uploading_is_refused(carded: Any, owner: Any) -> None:
    partial = make_file(carded, "partial.bin", complete=False)
    with pytest.raises(BadRequest) as refused:
        make_release(carded, owner, file_ids=[partial.pk])
    assert "has not finished uploading" in refused.value.message
    assert nothing_stored()


def test_two_files_with_the_same_name_are_refused(carded: Any, owner: Any) -> None:
    first, second = make_file(carded, "model.pt"), make_file(carded, "model.pt", b"other")
    with pytest.raises(BadRequest) as refused:
        make_release(carded, owner, file_ids=[first.pk, second.pk])
    assert "same name" in refused.value.message
    assert "model.pt" in refused.value.message
    assert nothing_stored()


def test_the_same_file_listed_twice_is_refused(carded: Any, owner: Any) -> None:
    file = make_file(carded)
    with pytest.raises(BadRequest):
        make_release(carded, owner, file_ids=[file.pk, file.pk])
    assert nothing_stored()


@pytest.mark.parametrize(
    ("images", "message"),
    [
        ("app:1", "must be a list"),
        (["app:1"], "{repository, name, tag}"),
        ([{"repository": "someone-else", "name": "app", "tag": "1"}], "this model's repository"),
        ([{"repository": "SELF", "name": "App", "tag": "1"}], "not a valid image name"),
        ([{"repository": "SELF", "name": "app", "tag": "-bad"}], "not a valid image tag"),
    ],
)
def test_malformed_image_references_are_refused(
    carded: Any, owner: Any, images: Any, message: str
) -> None:
    if isinstance(images, list) and isinstance(images[0], dict):
        images = [
            {**i, "repository": carded.pk if i["repository"] == "SELF" else i["repository"]}
            for i in images
        ]
    with pytest.raises(BadRequest) as refused:
        make_release(carded, owner, images=images)
    assert message in refused.value.message
    assert nothing_stored()


def test_an_image_the_registry_does_not_hold_is_refused(carded: Any, owner: Any) -> None:
    image = {"repository": carded.pk, "name": "never-pushed", "tag": "v1"}
    with pytest.raises(BadRequest) as refused:
        make_release(carded, owner, images=[image])
    if registry.is_configured():
        assert "do not exist in the registry: never-pushed:v1" in refused.value.message
    else:
        assert "no Docker registry" in refused.value.message
    assert nothing_stored()


@pytest.mark.parametrize(
    "fields",
    [{"notes": None}, {"notes": 3}, {"minor": "yes"}, {"draft": 1}],
)
def test_missing_notes_and_non_boolean_flags_are_refused(
    carded: Any, owner: Any, fields: dict[str, Any]
) -> None:
    with pytest.raises(BadRequest):
        make_release(carded, owner, **fields)
    assert nothing_stored()


@pytest.mark.parametrize("notes", ["", " ", "   "])
def test_blank_notes_are_accepted_as_bailo_accepts_them(
    carded: Any, owner: Any, notes: str
) -> None:
    assert make_release(carded, owner, notes=notes).notes == notes


# --- the published hook -------------------------------------------------------------------------


def test_a_published_release_calls_the_hooks_after_commit(
    carded: Any, owner: Any, published: list[Release], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        release = make_release(carded, owner, "1.0.0")
    assert [r.pk for r in published] == [release.pk]


def test_minor_and_draft_releases_do_not_call_the_hooks(
    carded: Any, owner: Any, published: list[Release], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        make_release(carded, owner, "1.0.0", minor=True)
        make_release(carded, owner, "1.1.0", draft=True)
        make_release(carded, owner, "1.2.0", minor=True, draft=True)
    assert published == []


def test_publishing_a_draft_calls_the_hooks(
    carded: Any, owner: Any, published: list[Release], django_capture_on_commit_callbacks: Any
) -> None:
    draft = make_release(carded, owner, "1.0.0", draft=True)
    with django_capture_on_commit_callbacks(execute=True):
        release_update(actor=Actor(user=owner), release=draft, changes={"notes": "still drafting"})
    assert published == []
    with django_capture_on_commit_callbacks(execute=True):
        release_update(actor=Actor(user=owner), release=draft, changes={"draft": False})
    assert [r.pk for r in published] == [draft.pk]


def test_a_failing_hook_does_not_undo_the_release(
    carded: Any, owner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    def broken(release: Release) -> None:
        raise RuntimeError("reviews are down")

    RELEASE_PUBLISHED.register(broken)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            make_release(carded, owner, "1.0.0")
    finally:
        RELEASE_PUBLISHED.unregister(broken)
    assert Release.objects.filter(semver="1.0.0").exists()


# --- update -------------------------------------------------------------------------------------


def test_an_owner_changes_notes_files_and_card_version(carded: Any, owner: Any) -> None:
    first, second = make_file(carded, "first.bin"), make_file(carded, "second.bin")
    release = make_release(carded, owner, "1.0.0", file_ids=[first.pk])
    updated = release_update(
        actor=Actor(user=owner),
        release=release,
        changes={
            "notes": "Better notes",
            "fileIds": [second.pk, first.pk],
            "modelCardVersion": 1,
            "images": [],
            "semver": "v1.0.0",
            "minor": False,
        },
    )
    assert updated.notes == "Better notes"
    assert updated.model_card_version == 1
    assert [f.name for f in release_files(updated)] == ["second.bin", "first.bin"]
    event = AuditEvent.objects.get(action=AuditAction.RELEASE_UPDATE)
    assert event.detail["notes"] == "Better notes"


@pytest.mark.parametrize("persona", ["contributor", "consumer"])
def test_only_owners_edit_releases(carded: Any, owner: Any, personas: Any, persona: str) -> None:
    release = make_release(carded, owner)
    with pytest.raises(Forbidden):
        release_update(
            actor=Actor(user=personas[persona]), release=release, changes={"notes": "mine now"}
        )
    assert Release.objects.get(pk=release.pk).notes == "Release 1.0.0"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"semver": "2.0.0"}, "version of a release cannot change"),
        ({"semver": "nonsense"}, "version of a release cannot change"),
        ({"minor": True}, "minor is fixed"),
        ({"createdBy": "someone"}, "Unknown field"),
        ({"notes": None}, "notes are required"),
        ({"notes": ["a list"]}, "notes are required"),
        ({"fileIds": ["missing"]}, "not a file of this model"),
        ({"modelCardVersion": 9}, "no version 9"),
    ],
)
def test_refused_changes_leave_the_release_as_it_was(
    carded: Any, owner: Any, changes: dict[str, Any], message: str
) -> None:
    file = make_file(carded)
    release = make_release(carded, owner, "1.0.0", file_ids=[file.pk])
    with pytest.raises(BadRequest) as refused:
        release_update(
            actor=Actor(user=owner), release=release, changes={"notes": "changed", **changes}
        )
    assert message in refused.value.message
    stored = Release.objects.get(pk=release.pk)
    assert (stored.semver, stored.is_minor, stored.notes) == ("1.0.0", False, "Release 1.0.0")
    assert [f.pk for f in release_files(stored)] == [file.pk]
    assert not AuditEvent.objects.filter(action=AuditAction.RELEASE_UPDATE).exists()


def test_a_draft_can_be_published_but_never_go_back_to_draft(carded: Any, owner: Any) -> None:
    release = make_release(carded, owner, "1.0.0", draft=True)
    release = release_update(actor=Actor(user=owner), release=release, changes={"draft": False})
    assert not release.draft
    with pytest.raises(BadRequest) as refused:
        release_update(actor=Actor(user=owner), release=release, changes={"draft": True})
    assert "cannot go back to draft" in refused.value.message
    assert Release.objects.get(pk=release.pk).draft is False


# --- reading ------------------------------------------------------------------------------------


def test_releases_are_listed_newest_version_first_numerically(carded: Any, owner: Any) -> None:
    for semver in ("1.9.0", "1.10.0", "1.10.0-rc.2", "0.2.0", "10.0.0", "1.10.0-rc.10"):
        make_release(carded, owner, semver)
    listed = release_list_visible(actor=Actor(user=owner), model=carded)
    assert [r.semver for r in listed] == [
        "10.0.0",
        "1.10.0",
        "1.10.0-rc.10",
        "1.10.0-rc.2",
        "1.9.0",
        "0.2.0",
    ]


def test_drafts_are_seen_only_by_owners_and_contributors(
    carded: Any, owner: Any, personas: dict[str, Any]
) -> None:
    make_release(carded, owner, "1.0.0")
    make_release(carded, owner, "2.0.0", draft=True)
    for persona, expected in [
        ("owner", ["2.0.0", "1.0.0"]),
        ("contributor", ["2.0.0", "1.0.0"]),
        ("consumer", ["1.0.0"]),
        ("reviewer", ["1.0.0"]),
    ]:
        actor = Actor(user=personas[persona])
        assert [r.semver for r in release_list_visible(actor=actor, model=carded)] == expected
    with pytest.raises(NotFound):
        release_get_visible(actor=Actor(user=personas["consumer"]), model=carded, semver="2.0.0")
    with pytest.raises(NotFound):
        release_list_visible(actor=Actor(user=personas["outsider"]), model=carded)


def test_a_release_is_found_with_or_without_the_leading_v(carded: Any, owner: Any) -> None:
    make_release(carded, owner, "1.0.0+abc")
    actor = Actor(user=owner)
    for asked in ("1.0.0", "v1.0.0", "1.0.0+abc", "1.0.0+other"):
        assert release_get_visible(actor=actor, model=carded, semver=asked).semver == "1.0.0+abc"
    with pytest.raises(NotFound):
        release_get_visible(actor=actor, model=carded, semver="1.0.1")
    with pytest.raises(BadRequest):
        release_get_visible(actor=actor, model=carded, semver="one")


# --- images in the real registry ------------------------------------------------------------------


@pytest.fixture
def pushed(carded: Any) -> Any:
    """``server:v1`` pushed to the entry's repository in the real registry."""
    if not registry.is_configured():
        if stack_required():
            pytest.fail("the registry is not configured but the stack is required")
        pytest.skip("no registry configured (scripts/test.sh uses the running stack)")
    digest = push_tiny_image(carded.pk, "server", "v1")
    yield {"repository": carded.pk, "name": "server", "tag": "v1"}
    registry.delete_manifest(f"{carded.pk}/server", digest)


def test_a_release_names_an_image_the_registry_holds(
    carded: Any, owner: Any, pushed: dict[str, str]
) -> None:
    release = make_release(carded, owner, "1.0.0", images=[pushed])
    assert Release.objects.get(pk=release.pk).images == [pushed]
    missing = {**pushed, "tag": "v2"}
    with pytest.raises(BadRequest) as refused:
        release_update(
            actor=Actor(user=owner), release=release, changes={"images": [pushed, missing]}
        )
    assert "server:v2" in refused.value.message
    assert Release.objects.get(pk=release.pk).images == [pushed]
