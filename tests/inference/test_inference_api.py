"""The inference API: Bailo's routes and shapes, the image check, validation, the record and the
deploy service agreeing (nothing recorded when it refuses or is down), the setting that turns it
on, and who may do what (Bailo's documented rules)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from core.audit import AuditAction
from core.models import AuditEvent
from inference.models import DeploymentStatus, InferenceService
from models_app.models import Model
from tests.conftest import basic
from tests.inference.conftest import AUTH_TOKEN, body
from tests.inference.deploy_service import DeployService, closed_url

pytestmark = pytest.mark.django_db


def api(client: Client, method: str, path: str, data: Any = None, **extra: Any) -> Any:
    kwargs: dict[str, Any] = {}
    if data is not None:
        kwargs = {"data": json.dumps(data), "content_type": "application/json"}
    return getattr(client, method)(f"/api/v2{path}", **kwargs, **extra)


def create(client: Client, model: Model, data: dict[str, Any] | None = None) -> Any:
    return api(client, "post", f"/model/{model.pk}/inference", data or body())


def test_create_deploys_then_records_and_answers_bailos_shape(
    entry: Model, owner: Any, client_for: Any, deploy_service: DeployService, image: Any
) -> None:
    response = create(client_for(owner), entry)
    assert response.status_code == 200, response.content
    inference = response.json()["inference"]
    assert {k: inference[k] for k in ("modelId", "image", "tag", "description", "createdBy")} == {
        "modelId": entry.pk,
        "image": "app",
        "tag": "v1",
        "description": "Try it",
        "createdBy": owner.username,
    }
    assert inference["settings"] == {"processorType": "cpu", "port": 8080, "memory": 2}
    assert inference["status"] == "running"
    [call] = deploy_service.calls
    assert (call.method, call.path) == ("POST", "/api/deploy")
    assert call.json() == {"modelId": entry.pk, "image": "app", "tag": "v1", "port": 8080}
    assert call.headers["Authorization"] == f"Basic {AUTH_TOKEN}"
    assert InferenceService.objects.get().status == DeploymentStatus.RUNNING
    assert AuditEvent.objects.filter(action=AuditAction.INFERENCE_CREATE, subject=entry.pk).exists()


def test_list_get_put_and_delete(
    entry: Model, owner: Any, client_for: Any, deploy_service: DeployService, image: Any
) -> None:
    client = client_for(owner)
    create(client, entry)
    listed = api(client, "get", f"/model/{entry.pk}/inferences").json()["inferences"]
    assert [(i["image"], i["tag"]) for i in listed] == [("app", "v1")]
    got = api(client, "get", f"/model/{entry.pk}/inference/app/v1").json()["inference"]
    assert got == listed[0]

    changed = api(
        client,
        "put",
        f"/model/{entry.pk}/inference/app/v1",
        {"description": "GPU now", "settings": {"processorType": "nvidia-t4", "port": 9000}},
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["inference"]["settings"] == {"processorType": "nvidia-t4", "port": 9000}
    assert deploy_service.calls[-1].method == "PATCH"
    assert deploy_service.calls[-1].json()["port"] == 9000
    assert InferenceService.objects.get().memory is None

    removed = api(client, "delete", f"/model/{entry.pk}/inference/app/v1")
    assert removed.status_code == 200
    assert removed.json()["inference"]["image"] == "app"
    assert (deploy_service.calls[-1].method, deploy_service.calls[-1].path) == (
        "DELETE",
        "/api/delete",
    )
    assert not InferenceService.all_objects.exists()
    missing = api(client, "get", f"/model/{entry.pk}/inference/app/v1")
    assert missing.status_code == 404
    assert "not found" in missing.json()["error"]["message"]


def test_an_image_not_in_the_registry_is_404_and_nothing_is_deployed(
    entry: Model, owner: Any, client_for: Any, deploy_service: DeployService, image: Any
) -> None:
    response = create(client_for(owner), entry, body(tag="v9"))
    assert response.status_code == 404
    assert "app:v9" in response.json()["error"]["message"]
    assert deploy_service.calls == []
    assert not InferenceService.objects.exists()


@pytest.mark.parametrize(
    ("data", "prop"),
    [
        ({**body(), "image": ""}, "image"),
        ({**body(), "image": "team/app"}, "image"),
        ({**body(), "tag": "bad tag"}, "tag"),
        ({**body(), "settings": None}, "settings"),
        (body(processorType="tpu"), "settings.processorType"),
        (body(port=0), "settings.port"),
        (body(port=70000), "settings.port"),
        (body(port="8080"), "settings.port"),
        (body(port=80.5), "settings.port"),
        (body(memory=None), "settings.memory"),
        (body(memory=9), "settings.memory"),
        (body(processorType="nvidia-t4", memory=2), "settings.memory"),
        ({**body(), "description": 5}, "description"),
        ({**body(), "description": "x" * 5001}, "description"),
    ],
)
def test_invalid_input_is_a_400_naming_the_field_and_nothing_is_deployed(
    entry: Model,
    owner: Any,
    client_for: Any,
    deploy_service: DeployService,
    data: dict[str, Any],
    prop: str,
) -> None:
    response = create(client_for(owner), entry, data)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["context"]["validationErrors"][0]["property"] == prop
    assert deploy_service.calls == []
    assert not InferenceService.objects.exists()


def test_a_body_that_is_not_json_is_a_400(
    entry: Model, owner: Any, client_for: Any, deploy_service: DeployService
) -> None:
    response = client_for(owner).post(
        f"/api/v2/model/{entry.pk}/inference", data="{", content_type="application/json"
    )
    assert response.status_code == 400
    assert deploy_service.calls == []


def test_a_second_service_for_the_same_image_is_409_without_asking_the_deploy_service(
    entry: Model, owner: Any, client_for: Any, deploy_service: DeployService, image: Any
) -> None:
    client = client_for(owner)
    assert create(client, entry).status_code == 200
    again = create(client, entry)
    assert again.status_code == 409
    assert "already exists" in again.json()["error"]["message"]
    assert len(deploy_service.calls) == 1  # Bailo called the deploy service first
    assert InferenceService.objects.count() == 1


def test_a_refusing_deploy_service_is_502_with_its_reason_and_nothing_is_recorded(
    entry: Model, owner: Any, client_for: Any, deploy_service: DeployService, image: Any
) -> None:
    deploy_service.answer_with(422)
    response = create(client_for(owner), entry)
    assert response.status_code == 502
    message = response.json()["error"]["message"]
    assert "answered 422: scripted failure 422" in message and "nothing was changed" in message
    assert not InferenceService.all_objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.INFERENCE_CREATE).exists()


def test_a_deploy_service_that_is_down_is_503_and_nothing_is_recorded(
    entry: Model, owner: Any, client_for: Any, inference_on: None, settings: Any, image: Any
) -> None:
    settings.INFERENCE_HOST = closed_url()
    response = create(client_for(owner), entry)
    assert response.status_code == 503
    assert "could not be reached" in response.json()["error"]["message"]
    assert not InferenceService.all_objects.exists()


def test_a_failed_update_or_removal_changes_nothing(
    entry: Model, owner: Any, client_for: Any, deploy_service: DeployService, image: Any
) -> None:
    client = client_for(owner)
    create(client, entry)
    before = InferenceService.objects.values().get()
    deploy_service.answer_with(500)
    changed = api(
        client,
        "put",
        f"/model/{entry.pk}/inference/app/v1",
        {"description": "new", "settings": {"processorType": "cpu", "port": 1, "memory": 1}},
    )
    assert changed.status_code == 502
    removed = api(client, "delete", f"/model/{entry.pk}/inference/app/v1")
    assert removed.status_code == 502
    assert InferenceService.objects.values().get() == before


def test_without_a_deploy_service_calls_are_recorded_only(
    entry: Model, owner: Any, client_for: Any, inference_on: None, image: Any
) -> None:
    from core.ports.inference import RECORDER

    before = len(RECORDER.calls)
    assert create(client_for(owner), entry).status_code == 200
    assert [call for call, _ in RECORDER.calls[before:]] == ["deploy"]


def test_every_route_is_404_while_inference_is_off(
    entry: Model, owner: Any, client_for: Any, settings: Any
) -> None:
    settings.INFERENCE_ENABLED = False
    client = client_for(owner)
    for method, path in [
        ("get", f"/model/{entry.pk}/inferences"),
        ("post", f"/model/{entry.pk}/inference"),
        ("get", f"/model/{entry.pk}/inference/app/v1"),
        ("put", f"/model/{entry.pk}/inference/app/v1"),
        ("delete", f"/model/{entry.pk}/inference/app/v1"),
    ]:
        response = api(client, method, path, body() if method in {"post", "put"} else None)
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["message"] == (
            "Inference services are not enabled on this instance"
        )


def test_data_cards_have_no_inference_services(
    make_entry: Any, owner: Any, client_for: Any, inference_on: None
) -> None:
    card = make_entry("A data card", kind="data-card")
    response = api(client_for(owner), "get", f"/model/{card.pk}/inferences")
    assert response.status_code == 404


# --- who may do what --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("owner", 200),
        ("contributor", 200),
        ("consumer", 403),
        ("reviewer", 403),
        ("site_admin", 403),
        ("outsider", 404),
        ("anonymous", 401),
    ],
)
def test_owners_and_contributors_create(
    entry: Model,
    personas: dict[str, Any],
    client_for: Any,
    deploy_service: DeployService,
    image: Any,
    persona: str,
    status: int,
) -> None:
    response = create(client_for(personas[persona]), entry)
    assert response.status_code == status, response.content
    assert InferenceService.objects.exists() == (status == 200)
    assert len(deploy_service.calls) == (1 if status == 200 else 0)


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("owner", 200),
        ("contributor", 403),
        ("consumer", 403),
        ("site_admin", 403),
        ("outsider", 404),
    ],
)
def test_only_owners_change_and_remove(
    entry: Model,
    owner: Any,
    personas: dict[str, Any],
    client_for: Any,
    deploy_service: DeployService,
    image: Any,
    persona: str,
    status: int,
) -> None:
    create(client_for(owner), entry)
    client = client_for(personas[persona])
    path = f"/model/{entry.pk}/inference/app/v1"
    changed = api(client, "put", path, {"settings": {"processorType": "nvidia-t4", "port": 1}})
    assert changed.status_code == status
    assert (InferenceService.objects.get().port == 1) == (status == 200)
    removed = api(client, "delete", path)
    assert removed.status_code == status
    assert InferenceService.objects.exists() == (status != 200)


@pytest.mark.parametrize(
    ("persona", "status"),
    [("consumer", 200), ("reviewer", 200), ("outsider", 404), ("anonymous", 401)],
)
def test_those_who_see_the_model_see_its_services(
    entry: Model,
    owner: Any,
    personas: dict[str, Any],
    client_for: Any,
    deploy_service: DeployService,
    image: Any,
    persona: str,
    status: int,
) -> None:
    create(client_for(owner), entry)
    client = client_for(personas[persona])
    assert api(client, "get", f"/model/{entry.pk}/inferences").status_code == status
    assert api(client, "get", f"/model/{entry.pk}/inference/app/v1").status_code == status


def test_tokens_need_model_write_to_create_and_model_read_to_list(
    entry: Model, owner: Any, make_token: Any, deploy_service: DeployService, image: Any
) -> None:
    reader, reader_secret = make_token(owner, actions=["model:read"])
    writer, writer_secret = make_token(owner, actions=["model:read", "model:write"])
    client = Client()
    refused = api(
        client,
        "post",
        f"/model/{entry.pk}/inference",
        body(),
        **basic(reader.access_key, reader_secret),
    )
    assert refused.status_code == 403
    assert deploy_service.calls == []
    made = api(
        client,
        "post",
        f"/model/{entry.pk}/inference",
        body(),
        **basic(writer.access_key, writer_secret),
    )
    assert made.status_code == 200
    listed = api(
        client, "get", f"/model/{entry.pk}/inferences", **basic(reader.access_key, reader_secret)
    )
    assert listed.status_code == 200 and len(listed.json()["inferences"]) == 1


def test_permissions_mine_names_the_inference_actions(
    entry: Model, contributor: Any, client_for: Any, inference_on: None
) -> None:
    response = client_for(contributor).get(f"/api/v2/model/{entry.pk}/permissions/mine")
    assert response.status_code == 200
    mine = response.json()
    flat = json.dumps(mine)
    assert "createInferenceService" in flat and "editInferenceService" in flat
