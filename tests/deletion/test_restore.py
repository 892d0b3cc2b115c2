"""Restore, as administrators do it: in the Django admin, with the Deletion list's action.

A restore brings back every row of the deletion and the token scopes it removed, so the entry
works again exactly as before: files download with the same bytes, images pull, reviews and
access requests are back. It is refused once the purge has started, when the name is taken, and
for anyone but an administrator; and the admin's read-only lists are where soft-deleted rows can
be seen.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from celery.exceptions import Retry
from django.test import Client

from access.models import Token
from core.audit import AuditAction
from core.models import AuditEvent
from core.ports.storage import blob_store
from deletion.beneath import hide_beneath
from deletion.models import Deletion
from deletion.services import model_delete
from deletion.tasks import purge_deletion
from models_app.models import Model
from models_app.policy import Actor
from releases.models import File, Release
from reviews.models import Review
from tests.conftest import PERSONAS, basic
from tests.deletion.model_helpers import FullModel, deletion_env, full, rows_of
from tests.deletion.purge_helpers import window_passed
from tests.releases.registry_helpers import build_oci_image
from tests.releases.test_registry_integration import (
    assert_refused,
    credentials,
    pull,
    push,
    stack_registry,
    token_server,
)

pytestmark = pytest.mark.django_db

__all__ = ["credentials", "deletion_env", "full", "stack_registry", "token_server"]

CHANGELIST = "/admin/deletion/deletion/"


@pytest.fixture(autouse=True)
def _env(deletion_env: None) -> None:
    """Eager tasks and a private blob directory for every test here."""


def delete(owner: Any, model: Model) -> Deletion:
    """The request, then the worker's bulk step (``deletion.beneath``): inside a test's
    transaction nothing commits, so nothing queues it."""
    deletion = model_delete(actor=Actor(user=owner), model_id=model.pk, confirm_name=model.name)
    settled = hide_beneath(deletion.pk)
    assert settled is not None
    return settled


def admin_action(client: Client, action: str, deletion: Deletion) -> Any:
    """Select one deletion in the admin list and run ``action`` on it, as the form does."""
    return client.post(
        CHANGELIST, {"action": action, "_selected_action": [str(deletion.pk)]}, follow=True
    )


def messages_of(page: Any) -> list[str]:
    return [str(m) for m in page.context["messages"]] if page.context else []


def download(client: Client, model_id: str, file_id: str) -> tuple[int, str]:
    answer: Any = client.get(f"/api/v2/model/{model_id}/file/{file_id}/download")
    if answer.status_code != 200:
        return answer.status_code, ""
    return 200, hashlib.sha256(b"".join(answer.streaming_content)).hexdigest()


def comparable(rows: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Rows as a restore must bring them back: token scope links are recreated (new ids), the
    Deletion record is new, a token's last use is not part of what is restored, and an inference
    service's deployment state says what the deploy service did meanwhile (it was removed after
    the deletion committed: tests/inference/test_inference_deletion.py)."""
    skipped = {"deletions", "tokenScopes", "tokens", "inferenceServices"}
    kept: dict[str, Any] = {k: v for k, v in rows.items() if k not in skipped}
    deployment = {"status", "removal_attempts", "removal_error", "removal_due_at", "updated_at"}
    kept["inferenceServices"] = [
        {k: v for k, v in r.items() if k not in deployment} for r in rows["inferenceServices"]
    ]
    kept["tokenScopes"] = sorted((r["token_id"], r["model_id"]) for r in rows["tokenScopes"])
    kept["tokens"] = [{k: v for k, v in r.items() if k != "last_used_at"} for r in rows["tokens"]]
    return kept


# --- the whole entry comes back -----------------------------------------------------------------


# Transactional (the token realm is served from another thread), without serialized_rollback:
# restoring a serialized copy after a flush by another non-serialized transactional test fails on
# the recreated content types, and tests/conftest.py writes the seeds this test needs again.
@pytest.mark.stack
@pytest.mark.django_db(transaction=True)
def test_an_administrator_restores_a_deleted_model_in_the_admin_and_everything_is_back(
    token_server: str,
    stack_registry: str,
    full: FullModel,
    owner: Any,
    reviewer: Any,
    consumer: Any,
    site_admin: Any,
    make_token: Any,
    credentials: Any,
    client_for: Any,
    tmp_path: Path,
) -> None:
    model = full.model
    image = build_oci_image(tmp_path / "image", tag="v1", content=b"restore me")
    reference = f"{stack_registry}/{model.pk}/app:v1"
    image_keys = credentials(owner)
    assert push(image, reference, image_keys).returncode == 0
    scoped, scoped_secret = make_token(owner, scope="models", actions=["model:read", "file:read"])
    scoped.scoped_models.set([model])
    owner_client = client_for(owner)
    sums = {f.pk: download(owner_client, model.pk, f.pk)[1] for f in full.files}
    assert all(sums.values())
    reviews_seen = client_for(reviewer).get(f"/api/v2/reviews?modelId={model.pk}").json()
    before = comparable(rows_of(model.pk))

    deletion = delete(owner, model)

    assert download(owner_client, model.pk, full.files[0].pk)[0] == 404
    assert owner_client.get(f"/api/v2/model/{model.pk}").status_code == 404
    assert_refused(pull(reference, image_keys, tmp_path / "refused"))
    with_scoped = Client(
        HTTP_AUTHORIZATION=basic(scoped.access_key, scoped_secret)["HTTP_AUTHORIZATION"]
    )
    refused = with_scoped.get(f"/api/v2/model/{model.pk}")
    assert refused.status_code == 401
    assert Token.objects.get(pk=scoped.pk).revoked_at is not None

    page = admin_action(client_for(site_admin), "restore", deletion)

    assert page.status_code == 200
    assert messages_of(page) == [
        f"Restored Model {model.name} with its 1 release, 3 files, 1 image, 1 access request, "
        "3 reviews, 3 responses, 2 card revisions, 3 scans, 3 tokens, 1 webhook, "
        "1 inference service."
    ]
    deletion.refresh_from_db()
    assert deletion.state == Deletion.State.RESTORED
    assert deletion.restored_by == site_admin
    assert deletion.restored_at is not None
    assert comparable(rows_of(model.pk)) == before
    # Files download again, byte for byte.
    assert {f.pk: download(owner_client, model.pk, f.pk) for f in full.files} == {
        pk: (200, digest) for pk, digest in sums.items()
    }
    assert {f.sha256 for f in File.objects.filter(model=model)} == set(sums.values())
    # The image pulls again, the same manifest.
    result = pull(reference, image_keys, tmp_path / "pulled")
    assert result.returncode == 0, result.stderr
    index = json.loads((tmp_path / "pulled" / "index.json").read_text())
    assert index["manifests"][0]["digest"] == image.manifest_digest
    # Reviews, the release and the access request are reachable again.
    assert client_for(reviewer).get(f"/api/v2/reviews?modelId={model.pk}").json() == reviews_seen
    release = owner_client.get(f"/api/v2/model/{model.pk}/release/{full.release.semver}")
    assert release.status_code == 200
    ar_path = f"/api/v2/model/{model.pk}/access-request/{full.access_request.pk}"
    assert client_for(consumer).get(ar_path).status_code == 200
    # The token revoked because it named only this entry works again, scoped to it.
    again = with_scoped.get(f"/api/v2/model/{model.pk}")
    assert again.status_code == 200
    assert list(Token.objects.get(pk=scoped.pk).scoped_models.values_list("pk", flat=True)) == [
        model.pk
    ]
    event = AuditEvent.objects.get(action=AuditAction.DELETION_RESTORE, subject=model.pk)
    assert event.actor == f"user:{site_admin.username}"


# --- refusals -------------------------------------------------------------------------------------


def test_restoring_a_purged_deletion_is_refused_with_a_message(
    full: FullModel, owner: Any, site_admin: Any, client_for: Any
) -> None:
    deletion = delete(owner, full.model)
    window_passed(deletion)
    purge_deletion.delay(deletion.pk)

    page = admin_action(client_for(site_admin), "restore", deletion)

    [message] = messages_of(page)
    assert message.startswith(f"Model {full.model.name} was not restored: ")
    assert "purged" in message
    deletion.refresh_from_db()
    assert deletion.state == Deletion.State.PURGED
    assert not Model.all_objects.filter(pk=full.model.pk).exists()


def test_restoring_is_refused_once_the_purge_has_started(
    full: FullModel, owner: Any, site_admin: Any, client_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    deletion = delete(owner, full.model)
    window_passed(deletion)
    store = blob_store()

    def storage_down(keys: list[str]) -> None:
        raise ConnectionError("S3 is down")

    monkeypatch.setattr(store, "delete_many", storage_down)
    with pytest.raises(Retry):
        purge_deletion.delay(deletion.pk)
    monkeypatch.undo()

    page = admin_action(client_for(site_admin), "restore", deletion)

    [message] = messages_of(page)
    assert message.startswith(f"Model {full.model.name} was not restored: ")
    assert "purging" in message
    assert Deletion.objects.get(pk=deletion.pk).state == Deletion.State.PURGING
    assert not Model.objects.filter(pk=full.model.pk).exists()


def test_restoring_is_refused_when_another_entry_now_has_the_name(
    entry: Model, owner: Any, site_admin: Any, client_for: Any, make_entry: Any
) -> None:
    deletion = delete(owner, entry)
    newcomer = make_entry(entry.name)

    page = admin_action(client_for(site_admin), "restore", deletion)

    [message] = messages_of(page)
    assert message.startswith(f"Model {entry.name} was not restored: ")
    assert f"Another entry is now called '{entry.name}' ({newcomer.pk})" in message
    assert Deletion.objects.get(pk=deletion.pk).state == Deletion.State.PENDING
    assert not Model.objects.filter(pk=entry.pk).exists()


def test_a_restored_deletion_cannot_be_restored_or_purged_again(
    entry: Model, owner: Any, site_admin: Any, client_for: Any
) -> None:
    deletion = delete(owner, entry)
    client = client_for(site_admin)
    admin_action(client, "restore", deletion)

    again = admin_action(client, "restore", deletion)
    purge = admin_action(client, "purge_now", deletion)

    [message] = messages_of(again)
    assert message.startswith(f"Model {entry.name} was not restored: ")
    assert "restored" in message.partition(": ")[2]
    assert messages_of(purge) == [
        f"Model {entry.name} was not purged: This deletion was already restored; there is "
        "nothing left to purge"
    ]
    assert Model.objects.filter(pk=entry.pk).exists()


@pytest.mark.parametrize("persona", PERSONAS)
def test_only_administrators_can_reach_the_restore_and_purge_actions(
    persona: str, personas: dict[str, Any], entry: Model, owner: Any, client_for: Any
) -> None:
    deletion = delete(owner, entry)
    client = client_for(personas[persona])

    for action in ("restore", "purge_now"):
        answer = client.post(CHANGELIST, {"action": action, "_selected_action": [str(deletion.pk)]})
        if persona == "site_admin":
            assert answer.status_code == 302
            assert answer["Location"] == CHANGELIST
        else:
            assert answer.status_code == 302
            assert answer["Location"].startswith("/admin/login/")
    if persona == "site_admin":
        # Restored first, so the purge was refused.
        assert Deletion.objects.get(pk=deletion.pk).state == Deletion.State.RESTORED
    else:
        assert Deletion.objects.get(pk=deletion.pk).state == Deletion.State.PENDING
        assert not Model.objects.filter(pk=entry.pk).exists()


# --- what administrators see ----------------------------------------------------------------------


def test_the_deletion_list_shows_what_who_when_state_counts_and_bytes(
    full: FullModel, owner: Any, site_admin: Any, client_for: Any
) -> None:
    deletion = delete(owner, full.model)
    client = client_for(site_admin)

    page = client.get(CHANGELIST).content.decode()

    assert f"Model {full.model.name}" in page
    assert owner.username in page
    assert "Pending purge" in page
    assert "1 release, 3 files" in page
    assert f"{deletion.total_bytes:,} bytes" in page
    assert f"Model {full.model.name}" in client.get(f"{CHANGELIST}?state=pending").content.decode()
    assert (
        f"Model {full.model.name}" not in client.get(f"{CHANGELIST}?state=purged").content.decode()
    )
    assert f"Model {full.model.name}" in client.get(f"{CHANGELIST}?kind=model").content.decode()
    assert (
        f"Model {full.model.name}" in client.get(f"{CHANGELIST}?q={full.model.pk}").content.decode()
    )
    assert f"Model {full.model.name}" not in client.get(f"{CHANGELIST}?q=nothing").content.decode()

    detail = client.get(f"{CHANGELIST}{deletion.pk}/change/")
    assert detail.status_code == 200
    html = detail.content.decode()
    assert 'name="_save"' not in html  # read-only
    assert f"/admin/releases/file/?deletion={deletion.pk}" in html


def test_soft_deleted_rows_are_listed_in_the_admin_with_a_deleted_filter(
    full: FullModel, owner: Any, public_entry: Model, site_admin: Any, client_for: Any
) -> None:
    deletion = delete(owner, full.model)
    client = client_for(site_admin)
    lists = {
        "/admin/models_app/model/": (full.model.pk, public_entry.pk),
        "/admin/releases/release/": (full.release.semver, None),
        "/admin/releases/file/": (full.files[0].name, None),
        "/admin/access/accessrequest/": (full.access_request.pk, None),
        "/admin/reviews/review/": (full.model.name, None),
    }
    for url, (deleted_text, live_text) in lists.items():
        every = client.get(url)
        assert every.status_code == 200, url
        assert deleted_text in every.content.decode(), url
        assert deleted_text in client.get(f"{url}?deleted=deleted").content.decode(), url
        assert deleted_text not in client.get(f"{url}?deleted=live").content.decode(), url
        mine = client.get(f"{url}?deletion={deletion.pk}")
        assert deleted_text in mine.content.decode(), url
        if live_text:
            assert live_text in client.get(f"{url}?deleted=live").content.decode(), url
    file_page = client.get(f"/admin/releases/file/{full.files[0].pk}/change/")
    assert file_page.status_code == 200
    assert 'name="_save"' not in file_page.content.decode()
    release = Release.all_objects.get(pk=full.release.pk)
    assert client.get(f"/admin/releases/release/{release.pk}/change/").status_code == 200
    review = Review.all_objects.filter(model_id=full.model.pk).first()
    assert review is not None
    assert client.get(f"/admin/reviews/review/{review.pk}/change/").status_code == 200


@pytest.mark.parametrize("persona", [p for p in PERSONAS if p != "site_admin"])
def test_nobody_else_sees_soft_deleted_rows_in_the_admin(
    persona: str, personas: dict[str, Any], entry: Model, owner: Any, client_for: Any
) -> None:
    delete(owner, entry)
    client = client_for(personas[persona])

    for url in (CHANGELIST, "/admin/models_app/model/", "/admin/releases/file/"):
        answer = client.get(url)
        assert answer.status_code == 302, url
        assert answer["Location"].startswith("/admin/login/"), url


def test_the_admin_add_change_and_delete_pages_are_closed(
    entry: Model, owner: Any, site_admin: Any, client_for: Any
) -> None:
    deletion = delete(owner, entry)
    client = client_for(site_admin)

    assert client.get(f"{CHANGELIST}add/").status_code == 403
    assert client.post(f"{CHANGELIST}{deletion.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(f"{CHANGELIST}{deletion.pk}/change/", {"state": "purged"}).status_code == 403
    assert client.get("/admin/models_app/model/add/").status_code == 403
    assert Deletion.objects.get(pk=deletion.pk).state == Deletion.State.PENDING
