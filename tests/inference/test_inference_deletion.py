"""Inference services in an entry's deletion: counted in the preview, hidden with the entry, their
deployments removed from the deploy service in the background (a deletion never fails or waits
because the service is down; the removal is retried and shown as pending), a restore before the
removal keeps them running, one after it brings them back stopped for an owner to deploy again."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from deletion.models import Deletion
from deletion.services import deletion_restore, model_delete, model_deletion_preview
from inference import tasks
from inference.models import DeploymentStatus, InferenceService
from inference.services import removal_attempt, retry_delay
from models_app.models import Model
from models_app.policy import Actor
from tests.inference.deploy_service import DeployService

pytestmark = pytest.mark.django_db


def add_service(model: Model, owner: Any, image: str = "app", tag: str = "v1") -> InferenceService:
    """A running service, written straight to the database (the API tests cover creating)."""
    return InferenceService.objects.create(
        model=model,
        image=image,
        tag=tag,
        processor_type="cpu",
        memory=1,
        port=8080,
        created_by=owner,
    )


def delete(owner: Any, model: Model, capture: Any) -> Deletion:
    """Delete ``model`` and run what its commit queues (the bulk step beneath the entry
    included); the deletion as it stands afterwards."""
    with capture(execute=True):
        deletion = model_delete(actor=Actor(user=owner), model_id=model.pk, confirm_name=model.name)
    deletion.refresh_from_db()
    return deletion


def state(service: InferenceService) -> InferenceService:
    return InferenceService.all_objects.get(pk=service.pk)


def test_the_preview_and_the_deletion_count_the_services(
    entry: Model,
    owner: Any,
    deploy_service: DeployService,
    eager_tasks: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    add_service(entry, owner)
    add_service(entry, owner, tag="v2")
    preview = model_deletion_preview(actor=Actor(user=owner), model=entry)
    assert preview.inference_services == 2
    deletion = delete(owner, entry, django_capture_on_commit_callbacks)
    assert deletion.counts["inferenceServices"] == 2


def test_the_dialog_says_the_services_are_stopped(
    entry: Model, owner: Any, client_for: Any, inference_on: None
) -> None:
    add_service(entry, owner)
    html = client_for(owner).get(f"/model/{entry.pk}/delete").content.decode()
    assert "1 inference service (stopped on the inference service in the background)" in html


def test_a_deletion_removes_the_deployments_after_it_commits(
    entry: Model,
    owner: Any,
    deploy_service: DeployService,
    eager_tasks: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    service = add_service(entry, owner)
    delete(owner, entry, django_capture_on_commit_callbacks)
    [call] = deploy_service.calls
    assert (call.method, call.path) == ("DELETE", "/api/delete")
    assert call.json() == {"modelId": entry.pk, "image": "app", "tag": "v1", "port": 8080}
    row = state(service)
    assert row.deleted_at is not None and row.status == DeploymentStatus.REMOVED
    assert not InferenceService.objects.exists()


def test_a_deletion_succeeds_at_once_when_the_deploy_service_is_down_and_retries_later(
    entry: Model,
    owner: Any,
    deploy_service: DeployService,
    eager_tasks: None,
    django_capture_on_commit_callbacks: Any,
    client_for: Any,
    site_admin: Any,
) -> None:
    service = add_service(entry, owner)
    deploy_service.answer_with(503)
    deletion = delete(owner, entry, django_capture_on_commit_callbacks)
    assert Deletion.objects.get(pk=deletion.pk).state == Deletion.State.PENDING
    assert not Model.objects.filter(pk=entry.pk).exists()
    # One attempt (no loop where tasks run eagerly), recorded, due again later.
    assert len(deploy_service.calls) == 1
    row = state(service)
    assert row.status == DeploymentStatus.REMOVING
    assert row.removal_attempts == 1
    assert "answered 503" in row.removal_error
    assert row.removal_due_at is not None and row.removal_due_at > timezone.now()

    # The administrator sees it pending on the deletion.
    admin = client_for(site_admin)
    page = admin.get(f"/admin/deletion/deletion/{deletion.pk}/change/").content.decode()
    assert "1 inference service awaiting removal from the inference service" in page
    assert "answered 503" in page

    # Not due yet: the sweep leaves it; once due, the sweep retries and it goes.
    assert tasks.retry_removals() == 0
    deploy_service.answer_with(200)
    InferenceService.all_objects.filter(pk=service.pk).update(removal_due_at=timezone.now())
    assert tasks.retry_removals() == 1
    assert state(service).status == DeploymentStatus.REMOVED
    assert len(deploy_service.calls) == 2
    page = admin.get(f"/admin/deletion/deletion/{deletion.pk}/change/").content.decode()
    assert "awaiting removal" not in page


def test_an_administrator_can_retry_a_removal_at_once(
    entry: Model,
    owner: Any,
    deploy_service: DeployService,
    eager_tasks: None,
    django_capture_on_commit_callbacks: Any,
    client_for: Any,
    site_admin: Any,
) -> None:
    service = add_service(entry, owner)
    deploy_service.answer_with(500)
    delete(owner, entry, django_capture_on_commit_callbacks)
    deploy_service.answer_with(200)
    response = client_for(site_admin).post(
        "/admin/inference/inferenceservice/",
        {"action": "retry_removal", "_selected_action": [service.pk]},
        follow=True,
    )
    assert "Asked the inference service again to remove 1 service." in response.content.decode()
    assert state(service).status == DeploymentStatus.REMOVED


def test_only_administrators_reach_the_services_admin(
    entry: Model, owner: Any, client_for: Any
) -> None:
    add_service(entry, owner)
    response = client_for(owner).get("/admin/inference/inferenceservice/")
    assert response.status_code in (302, 403)
    assert b"app" not in response.content or response.status_code == 302


def test_a_service_the_deploy_service_no_longer_knows_counts_as_removed(
    entry: Model,
    owner: Any,
    deploy_service: DeployService,
    eager_tasks: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    service = add_service(entry, owner)
    deploy_service.answer_with(404)
    delete(owner, entry, django_capture_on_commit_callbacks)
    assert state(service).status == DeploymentStatus.REMOVED


def test_a_restore_before_the_removal_keeps_the_service_running(
    entry: Model,
    owner: Any,
    site_admin: Any,
    deploy_service: DeployService,
    eager_tasks: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    service = add_service(entry, owner)
    deploy_service.answer_with(503)
    deletion = delete(owner, entry, django_capture_on_commit_callbacks)
    deletion_restore(actor=Actor(user=site_admin), deletion_id=deletion.pk)
    row = InferenceService.objects.get(pk=service.pk)
    assert row.status == DeploymentStatus.RUNNING and row.removal_due_at is None
    # A removal task that still runs finds nothing to do.
    deploy_service.answer_with(200)
    assert removal_attempt(service.pk) is None
    assert tasks.retry_removals() == 0
    assert len(deploy_service.calls) == 1


def test_a_restore_after_the_removal_brings_the_service_back_stopped_for_a_redeploy(
    entry: Model,
    owner: Any,
    contributor: Any,
    site_admin: Any,
    client_for: Any,
    deploy_service: DeployService,
    eager_tasks: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    service = add_service(entry, owner)
    deletion = delete(owner, entry, django_capture_on_commit_callbacks)
    deletion_restore(actor=Actor(user=site_admin), deletion_id=deletion.pk)
    assert InferenceService.objects.get(pk=service.pk).status == DeploymentStatus.REMOVED
    api = client_for(owner).get(f"/api/v2/model/{entry.pk}/inference/app/v1")
    assert api.json()["inference"]["status"] == "removed"

    url = f"/model/{entry.pk}/inference/app/v1"
    page = client_for(owner).get(url).content.decode()
    assert "stopped when the model was deleted" in page and "Deploy again" in page
    assert "<iframe" not in page
    # Contributors may not redeploy (owners change services).
    refused = client_for(contributor).post(f"{url}/redeploy")
    assert refused.status_code == 403
    assert len(deploy_service.calls) == 1

    done = client_for(owner).post(f"{url}/redeploy")
    assert done.status_code == 302
    assert deploy_service.calls[-1].method == "POST"
    assert InferenceService.objects.get(pk=service.pk).status == DeploymentStatus.RUNNING


def test_the_retry_delay_grows_to_an_hour_with_jitter() -> None:
    delays = [retry_delay(n) for n in (1, 2, 3, 10)]
    assert timedelta(seconds=47) < delays[0] < timedelta(seconds=73)
    assert timedelta(seconds=95) < delays[1] < timedelta(seconds=145)
    assert delays[2] > delays[1]
    assert timedelta(minutes=47) < delays[3] <= timedelta(minutes=72)


def test_the_sweep_is_on_beats_schedule() -> None:
    from core.tasks import BEAT_SCHEDULE

    entry = BEAT_SCHEDULE["inference-retry-removals"]
    assert entry["task"] == "inference.retry_removals"
    assert entry["schedule"] == 300


def test_an_unsigned_in_visitor_gets_no_admin(client: Client) -> None:
    response = client.get("/admin/inference/inferenceservice/")
    assert response.status_code == 302
    assert re.search(r"login", response["Location"])


def test_a_removal_still_pending_at_the_purge_is_given_up_and_logged(
    entry: Model,
    owner: Any,
    deploy_service: DeployService,
    eager_tasks: None,
    django_capture_on_commit_callbacks: Any,
    caplog: Any,
) -> None:
    from deletion.purge import deletion_purge
    from tests.deletion.purge_helpers import window_passed

    service = add_service(entry, owner)
    deploy_service.answer_with(503)
    deletion = delete(owner, entry, django_capture_on_commit_callbacks)
    window_passed(deletion)
    with caplog.at_level("ERROR", logger="inference.services"):
        deletion_purge(deletion_id=deletion.pk)
    assert Deletion.objects.get(pk=deletion.pk).state == Deletion.State.PURGED
    assert not InferenceService.all_objects.filter(pk=service.pk).exists()
    [record] = [
        r for r in caplog.records if r.name == "inference.services" and r.levelname == "ERROR"
    ]
    assert f"Purging {entry.pk}/app:v1 while its removal" in record.getMessage()
    assert "answered 503" in record.getMessage()
