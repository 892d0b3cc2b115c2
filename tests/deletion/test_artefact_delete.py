"""Deleting one file, one release or one image tag: each writes its own Deletion record, hides
what goes with it, and can be restored by an administrator until it is purged.

Image tests use the real registry of the local stack (skipped without it, failed when the stack is
required); the pull test also serves the registry's token realm ($BAILO_PUBLIC_URL).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from core.audit import AuditAction
from core.models import AuditEvent
from core.ports import registry
from deletion.models import Deletion
from deletion.purge import deletion_purge
from deletion.services import deletion_restore
from models_app.models import Model
from models_app.policy import Actor
from releases.models import File, Release, ReleaseFile, ScanResult
from reviews.models import Response, Review
from reviews.services import comment_add, reviews_open_for_release
from tests.conftest import basic
from tests.deletion.model_helpers import deletion_env  # noqa: F401 - fixture
from tests.deletion.purge_helpers import require_registry, window_passed
from tests.releases.registry_helpers import build_oci_image
from tests.releases.release_helpers import make_file, make_release, push_tiny_image, with_card
from tests.releases.test_registry_integration import (  # noqa: F401 - fixtures
    assert_refused,
    pull,
    push,
    stack_registry,
    token_server,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _env(deletion_env: None) -> None:  # noqa: F811
    """Eager tasks and a private blob directory for every test here."""


@pytest.fixture
def shipped(entry: Model, owner: Any) -> tuple[Model, File, Release, Release]:
    """An entry with one stored file shipped by two releases."""
    model = with_card(entry, owner)
    file = make_file(model, "weights.bin", b"the weights", store=True)
    ScanResult.objects.create(file=file, tool_name="clamAV", state="complete")
    first = make_release(model, owner, "1.0.0", file_ids=[file.pk])
    second = make_release(model, owner, "1.1.0", file_ids=[file.pk])
    return model, file, first, second


def api(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def files_listed(client: Client, model_id: str) -> list[str]:
    body = client.get(f"/api/v2/model/{model_id}/files").json()
    return [f["id"] for f in body["files"]]


def release_file_ids(client: Client, model_id: str, semver: str) -> list[str]:
    body = client.get(f"/api/v2/model/{model_id}/release/{semver}").json()
    return list(body["release"]["fileIds"])


# --- files ----------------------------------------------------------------------------------------


def test_a_contributor_deletes_a_file_and_it_leaves_its_releases_the_list_and_downloads(
    shipped: tuple[Model, File, Release, Release], contributor: Any, owner: Any, settings: Any
) -> None:
    model, file, first, second = shipped
    client = api(contributor)
    before = timezone.now()

    answer = client.delete(f"/api/v2/model/{model.pk}/file/{file.pk}")

    assert answer.status_code == 200, answer.content
    assert answer.json() == {"message": "Successfully removed file."}
    assert file.pk not in files_listed(api(owner), model.pk)
    assert not ReleaseFile.objects.filter(file_id=file.pk).exists()
    for semver in ("1.0.0", "1.1.0"):
        assert file.pk not in release_file_ids(api(owner), model.pk, semver)
    download = api(owner).get(f"/api/v2/model/{model.pk}/file/{file.pk}/download")
    assert download.status_code == 404
    deletion = Deletion.objects.get(kind=Deletion.Kind.FILE, subject=file.pk)
    assert deletion.subject_name == "weights.bin"
    assert deletion.model_id == model.pk
    assert deletion.deleted_by == contributor
    assert deletion.total_bytes == file.size
    assert deletion.counts == {"scans": 1, "files": 1, "releases": 2}
    assert sorted(deletion.progress["releaseFiles"]) == sorted(
        [[first.pk, file.pk], [second.pk, file.pk]]
    )
    assert before + settings.DELETION_RETENTION <= deletion.purge_due
    hidden = File.all_objects.get(pk=file.pk)
    assert hidden.deletion == deletion and hidden.deleted_by == contributor
    assert ScanResult.all_objects.get(file_id=file.pk).deletion == deletion
    assert AuditEvent.objects.filter(action=AuditAction.FILE_DELETE, subject=model.pk).exists()


def test_a_consumer_is_refused_a_file_deletion_and_an_outsider_is_told_it_does_not_exist(
    shipped: tuple[Model, File, Release, Release], consumer: Any, outsider: Any
) -> None:
    model, file, _first, _second = shipped

    refused = api(consumer).delete(f"/api/v2/model/{model.pk}/file/{file.pk}")
    hidden = api(outsider).delete(f"/api/v2/model/{model.pk}/file/{file.pk}")

    assert refused.status_code == 403
    assert hidden.status_code == 404
    assert File.objects.filter(pk=file.pk).exists()
    assert ReleaseFile.objects.filter(file_id=file.pk).count() == 2
    assert not Deletion.objects.exists()


def test_deleting_an_unknown_or_already_deleted_file_is_404(
    shipped: tuple[Model, File, Release, Release], owner: Any
) -> None:
    model, file, _first, _second = shipped
    client = api(owner)
    assert client.delete(f"/api/v2/model/{model.pk}/file/{file.pk}").status_code == 200

    again = client.delete(f"/api/v2/model/{model.pk}/file/{file.pk}")
    unknown = client.delete(f"/api/v2/model/{model.pk}/file/no-such-file")

    assert again.status_code == 404
    assert set(again.json()) == {"error"}
    assert unknown.status_code == 404
    assert Deletion.objects.count() == 1


def test_restoring_a_deleted_file_puts_it_back_in_its_releases_with_the_same_bytes(
    shipped: tuple[Model, File, Release, Release], owner: Any, site_admin: Any
) -> None:
    model, file, _first, _second = shipped
    assert api(owner).delete(f"/api/v2/model/{model.pk}/file/{file.pk}").status_code == 200
    deletion = Deletion.objects.get(kind=Deletion.Kind.FILE)

    deletion_restore(actor=Actor(user=site_admin), deletion_id=deletion.pk)

    client = api(owner)
    assert file.pk in files_listed(client, model.pk)
    for semver in ("1.0.0", "1.1.0"):
        assert file.pk in release_file_ids(client, model.pk, semver)
    download = client.get(f"/api/v2/model/{model.pk}/file/{file.pk}/download")
    assert download.status_code == 200
    body = b"".join(download.streaming_content)  # type: ignore[attr-defined]
    assert hashlib.sha256(body).hexdigest() == file.sha256
    assert ScanResult.objects.filter(file_id=file.pk).exists()


def test_a_file_deletion_with_no_retention_is_purged_with_its_bytes_at_once(
    shipped: tuple[Model, File, Release, Release], owner: Any, settings: Any
) -> None:
    from core.ports.storage import blob_store

    settings.DELETION_RETENTION = timedelta(0)
    model, file, _first, _second = shipped
    assert api(owner).delete(f"/api/v2/model/{model.pk}/file/{file.pk}").status_code == 200

    deletion = Deletion.objects.get(kind=Deletion.Kind.FILE)
    if deletion.state != Deletion.State.PURGED:
        # Inside a test transaction on_commit callbacks do not fire: purge as the task would.
        deletion_purge(deletion_id=deletion.pk)
    assert not File.all_objects.filter(pk=file.pk).exists()
    assert not blob_store().exists(file.storage_key)


# --- releases -------------------------------------------------------------------------------------


@pytest.fixture
def reviewed(shipped: tuple[Model, File, Release, Release], owner: Any) -> Release:
    """Release 1.0.0 with its reviews open and a comment on it."""
    _model, _file, first, _second = shipped
    reviews_open_for_release(first)
    comment_add(actor=Actor(user=owner), text="Shipped.", release=first)
    return first


def test_an_owner_deletes_a_release_with_its_reviews_and_comments_and_its_semver_stays_taken(
    shipped: tuple[Model, File, Release, Release], reviewed: Release, owner: Any
) -> None:
    model, file, _first, _second = shipped
    reviews = Review.objects.filter(release=reviewed).count()
    assert reviews > 0

    answer = api(owner).delete(f"/api/v2/model/{model.pk}/release/1.0.0")

    assert answer.status_code == 200, answer.content
    assert answer.json() == {"message": "Successfully removed release."}
    listed = api(owner).get(f"/api/v2/model/{model.pk}/releases").json()["releases"]
    assert [r["semver"] for r in listed] == ["1.1.0"]
    assert api(owner).get(f"/api/v2/model/{model.pk}/release/1.0.0").status_code == 404
    deletion = Deletion.objects.get(kind=Deletion.Kind.RELEASE)
    assert deletion.subject_name == "1.0.0"
    assert deletion.counts == {"responses": 1, "reviews": reviews, "releases": 1}
    assert not Review.objects.filter(release=reviewed).exists()
    assert not Response.objects.filter(release=reviewed).exists()
    assert File.objects.filter(pk=file.pk).exists()
    again = api(owner).post(
        f"/api/v2/model/{model.pk}/releases",
        {"semver": "1.0.0", "notes": "Again", "fileIds": []},
        content_type="application/json",
    )
    assert again.status_code == 409, again.content
    assert AuditEvent.objects.filter(action=AuditAction.RELEASE_DELETE).exists()


def test_only_owners_may_delete_a_release(
    shipped: tuple[Model, File, Release, Release], contributor: Any, outsider: Any
) -> None:
    model, _file, _first, _second = shipped

    refused = api(contributor).delete(f"/api/v2/model/{model.pk}/release/1.0.0")
    hidden = api(outsider).delete(f"/api/v2/model/{model.pk}/release/1.0.0")

    assert refused.status_code == 403
    assert hidden.status_code == 404
    assert Release.objects.filter(model=model).count() == 2
    assert not Deletion.objects.exists()


def test_a_restored_release_comes_back_with_its_reviews(
    shipped: tuple[Model, File, Release, Release], reviewed: Release, owner: Any, site_admin: Any
) -> None:
    model, file, _first, _second = shipped
    assert api(owner).delete(f"/api/v2/model/{model.pk}/release/1.0.0").status_code == 200

    deletion_restore(
        actor=Actor(user=site_admin), deletion_id=Deletion.objects.get(kind="release").pk
    )

    assert api(owner).get(f"/api/v2/model/{model.pk}/release/1.0.0").status_code == 200
    assert file.pk in release_file_ids(api(owner), model.pk, "1.0.0")
    assert Review.objects.filter(release=reviewed).exists()


# --- pages ----------------------------------------------------------------------------------------


def test_the_files_tab_offers_delete_to_contributors_and_not_to_consumers(
    shipped: tuple[Model, File, Release, Release], contributor: Any, consumer: Any
) -> None:
    model, file, _first, _second = shipped
    link = f"/model/{model.pk}/file/{file.pk}/delete"

    assert link in api(contributor).get(f"/model/{model.pk}/files").content.decode()
    assert link not in api(consumer).get(f"/model/{model.pk}/files").content.decode()
    assert api(consumer).get(link).status_code == 403


def test_the_file_delete_page_lists_its_releases_and_deleting_goes_back_to_files(
    shipped: tuple[Model, File, Release, Release], owner: Any
) -> None:
    model, file, _first, _second = shipped
    client = api(owner)
    url = f"/model/{model.pk}/file/{file.pk}/delete"

    page = client.get(url).content.decode()
    assert "1.0.0" in page and "1.1.0" in page and "Delete file" in page

    done = client.post(url, follow=True)
    assert done.redirect_chain[-1][0] == f"/model/{model.pk}/files"
    html = done.content.decode()
    assert "File weights.bin has been deleted." in html
    assert f"/model/{model.pk}/file/{file.pk}/download" not in html
    assert client.get(url).status_code == 404


def test_the_release_page_offers_delete_to_owners_only_and_the_page_deletes_it(
    shipped: tuple[Model, File, Release, Release], owner: Any, contributor: Any
) -> None:
    model, _file, _first, _second = shipped
    link = f"/model/{model.pk}/release/1.0.0/delete"
    assert link in api(owner).get(f"/model/{model.pk}/release/1.0.0").content.decode()
    assert link not in api(contributor).get(f"/model/{model.pk}/release/1.0.0").content.decode()
    assert api(contributor).post(link).status_code == 403

    done = api(owner).post(link, follow=True)

    assert done.redirect_chain[-1][0] == f"/model/{model.pk}/releases"
    assert "Release 1.0.0 has been deleted." in done.content.decode()
    assert not Release.objects.filter(model=model, semver="1.0.0").exists()


# --- image tags -----------------------------------------------------------------------------------


def manifest_status(repository: str, reference: str) -> int:
    token = registry.admin_token(f"repository:{repository}:pull")
    answer = requests.head(
        f"{django_settings.REGISTRY_URL}/v2/{repository}/manifests/{reference}",
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": ", ".join(registry.MANIFEST_TYPES),
        },
        timeout=10,
    )
    return answer.status_code


def tags_listed(client: Client, model_id: str) -> list[tuple[str, str]]:
    body = client.get(f"/api/v2/model/{model_id}/images").json()
    return [(image["name"], tag) for image in body["images"] for tag in image["tags"]]


@pytest.fixture
def image_name(entry: Model) -> Iterator[str]:
    """A fresh image name; whatever the test left of it in the registry is removed after."""
    name = f"app-{uuid.uuid4().hex[:8]}"
    yield name
    if not registry.is_configured():
        return
    for repository in (f"{entry.pk}/{name}", f"soft_deleted/{entry.pk}/{name}"):
        try:
            for tag in registry.repository_tags(repository):
                digest = registry.manifest_digest(repository, tag)
                if digest:
                    registry.delete_manifest(repository, digest)
        except registry.RegistryUnavailable:
            pass


def test_deleting_an_image_tag_moves_it_to_soft_deleted_and_out_of_its_releases(
    entry: Model, owner: Any, contributor: Any, image_name: str, site_admin: Any
) -> None:
    require_registry()
    model = with_card(entry, owner)
    digest = push_tiny_image(model.pk, image_name, "v1")
    other = push_tiny_image(model.pk, image_name, "v2")
    ref = {"repository": model.pk, "name": image_name, "tag": "v1"}
    release = make_release(model, owner, "1.0.0", images=[ref])

    answer = api(contributor).delete(f"/api/v2/model/{model.pk}/image/{image_name}/v1")

    assert answer.status_code == 200, answer.content
    assert answer.json() == {"message": "Successfully removed image."}
    assert tags_listed(api(owner), model.pk) == [(image_name, "v2")]
    assert manifest_status(f"{model.pk}/{image_name}", "v1") == 404
    assert manifest_status(f"soft_deleted/{model.pk}/{image_name}", "v1") == 200
    assert manifest_status(f"{model.pk}/{image_name}", other) == 200
    release.refresh_from_db()
    assert release.images == []
    deletion = Deletion.objects.get(kind=Deletion.Kind.IMAGE)
    assert deletion.progress["image"] == {
        "repository": f"{model.pk}/{image_name}",
        "name": image_name,
        "tag": "v1",
        "digest": digest,
        "heldIn": f"soft_deleted/{model.pk}/{image_name}",
        "moved": True,
    }
    assert deletion.progress["releaseImages"] == [release.pk]
    page = api(owner).get(f"/model/{model.pk}/registry").content.decode()
    assert f"/model/{model.pk}/image/{image_name}/v2/delete" in page
    assert f"/model/{model.pk}/image/{image_name}/v1/delete" not in page

    deletion_restore(actor=Actor(user=site_admin), deletion_id=deletion.pk)

    assert sorted(tags_listed(api(owner), model.pk)) == [(image_name, "v1"), (image_name, "v2")]
    assert manifest_status(f"{model.pk}/{image_name}", digest) == 200
    assert manifest_status(f"soft_deleted/{model.pk}/{image_name}", "v1") == 404
    release.refresh_from_db()
    assert release.images == [ref]


def test_the_image_delete_page_deletes_the_tag_and_goes_back_to_the_registry_tab(
    entry: Model, owner: Any, consumer: Any, image_name: str
) -> None:
    require_registry()
    push_tiny_image(entry.pk, image_name, "v1")
    url = f"/model/{entry.pk}/image/{image_name}/v1/delete"
    assert api(consumer).post(url).status_code == 403
    assert f"{entry.pk}/{image_name}:v1" in api(owner).get(url).content.decode()

    done = api(owner).post(url, follow=True)

    assert done.redirect_chain[-1][0] == f"/model/{entry.pk}/registry"
    assert f"Image {image_name}:v1 has been deleted." in done.content.decode()
    assert registry.manifest_digest(f"{entry.pk}/{image_name}", "v1") is None


def test_deleting_one_of_two_tags_on_the_same_digest_keeps_the_other(
    entry: Model, owner: Any, image_name: str
) -> None:
    require_registry()
    digest = push_tiny_image(entry.pk, image_name, "v1")
    body, content_type, _ = registry.get_manifest_bytes(f"{entry.pk}/{image_name}", "v1")
    registry.put_manifest(f"{entry.pk}/{image_name}", "latest", body, content_type)

    answer = api(owner).delete(f"/api/v2/model/{entry.pk}/image/{image_name}/v1")

    assert answer.status_code == 200, answer.content
    assert registry.manifest_digest(f"{entry.pk}/{image_name}", "latest") == digest
    assert registry.manifest_digest(f"{entry.pk}/{image_name}", "v1") is None


def test_an_image_deletion_is_refused_to_consumers_and_unknown_tags_are_404(
    entry: Model, owner: Any, consumer: Any, image_name: str
) -> None:
    require_registry()
    push_tiny_image(entry.pk, image_name, "v1")

    refused = api(consumer).delete(f"/api/v2/model/{entry.pk}/image/{image_name}/v1")
    unknown = api(owner).delete(f"/api/v2/model/{entry.pk}/image/{image_name}/v9")

    assert refused.status_code == 403
    assert unknown.status_code == 404
    assert registry.manifest_digest(f"{entry.pk}/{image_name}", "v1") is not None
    assert not Deletion.objects.exists()


def test_a_failing_registry_answers_503_and_leaves_nothing_deleted(
    entry: Model, owner: Any, image_name: str, settings: Any
) -> None:
    require_registry()
    push_tiny_image(entry.pk, image_name, "v1")
    real_url = settings.REGISTRY_URL
    settings.REGISTRY_URL = "http://127.0.0.1:9"  # nothing listens there

    answer = api(owner).delete(f"/api/v2/model/{entry.pk}/image/{image_name}/v1")

    settings.REGISTRY_URL = real_url
    assert answer.status_code == 503, answer.content
    assert "nothing was deleted" in answer.json()["error"]["message"]
    assert not Deletion.objects.exists()
    assert registry.manifest_digest(f"{entry.pk}/{image_name}", "v1") is not None


def test_purging_an_image_deletion_removes_the_held_manifest(
    entry: Model, owner: Any, image_name: str
) -> None:
    require_registry()
    digest = push_tiny_image(entry.pk, image_name, "v1")
    assert api(owner).delete(f"/api/v2/model/{entry.pk}/image/{image_name}/v1").status_code == 200
    deletion = Deletion.objects.get(kind=Deletion.Kind.IMAGE)
    window_passed(deletion)

    purged = deletion_purge(deletion_id=deletion.pk)

    assert purged is not None and purged.state == Deletion.State.PURGED
    assert manifest_status(f"soft_deleted/{entry.pk}/{image_name}", digest) == 404


@pytest.mark.stack
@pytest.mark.django_db(transaction=True)
def test_a_deleted_tag_cannot_be_pulled_until_an_administrator_restores_it(
    token_server: str,  # noqa: F811
    stack_registry: str,  # noqa: F811
    entry: Model,
    owner: Any,
    site_admin: Any,
    make_token: Any,
    image_name: str,
    tmp_path: Path,
) -> None:
    token, secret = make_token(owner, actions=["model:read", "image:read", "image:write"])
    keys = (token.access_key, secret)
    image = build_oci_image(tmp_path / "image", tag="v1", content=image_name.encode())
    reference = f"{stack_registry}/{entry.pk}/{image_name}:v1"
    pushed = push(image, reference, keys)
    assert pushed.returncode == 0, pushed.stderr

    auth: dict[str, Any] = basic(*keys)
    answer = Client().delete(f"/api/v2/model/{entry.pk}/image/{image_name}/v1", **auth)

    assert answer.status_code == 200, answer.content
    assert tags_listed(api(owner), entry.pk) == []
    assert_refused_or_missing(pull(reference, keys, tmp_path / "pulled"))
    held = f"{stack_registry}/soft_deleted/{entry.pk}/{image_name}:v1"
    assert_refused(pull(held, keys, tmp_path / "held"))
    assert manifest_status(f"soft_deleted/{entry.pk}/{image_name}", image.manifest_digest) == 200

    deletion_restore(
        actor=Actor(user=site_admin), deletion_id=Deletion.objects.get(kind="image").pk
    )

    again = pull(reference, keys, tmp_path / "again")
    assert again.returncode == 0, again.stderr


def assert_refused_or_missing(result: Any) -> None:
    """skopeo could not pull: the tag does not exist (or the registry refused it)."""
    assert result.returncode != 0
    said = result.stderr.lower()
    assert "manifest unknown" in said or "not found" in said or "denied" in said, said
