"""The Inferencing pages: the tab (shown only while inference is on), "Create service" with the
entry's registry images, a service's page with the deploy service's frame, its settings and its
removal; refusals as pages; the deploy service's failures shown on the form, with nothing saved."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from inference.models import InferenceService
from models_app.models import Model
from tests.inference.deploy_service import DeployService, closed_url

pytestmark = pytest.mark.django_db

FORM = {
    "description": "Try the digits model",
    "image": "app:v1",
    "port": "8080",
    "processor_type": "cpu",
    "memory": "2",
}


def add_service(model: Model, owner: Any) -> InferenceService:
    return InferenceService.objects.create(
        model=model,
        image="app",
        tag="v1",
        description="Already there",
        processor_type="cpu",
        memory=1,
        port=8080,
        created_by=owner,
    )


def html(client: Client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.content[:300]
    return response.content.decode()


def test_the_tab_appears_only_while_inference_is_on(
    entry: Model, owner: Any, client_for: Any, settings: Any
) -> None:
    client = client_for(owner)
    settings.INFERENCE_ENABLED = False
    overview = html(client, f"/model/{entry.pk}")
    assert "Inferencing" not in overview
    html(client, f"/model/{entry.pk}/inference", 404)
    settings.INFERENCE_ENABLED = True
    overview = html(client, f"/model/{entry.pk}")
    assert f'href="/model/{entry.pk}/inference"' in overview and ">Inferencing<" in overview


def test_data_cards_have_no_inferencing_tab(
    make_entry: Any, owner: Any, client_for: Any, inference_on: None
) -> None:
    card = make_entry("A data card", kind="data-card")
    assert "Inferencing" not in html(client_for(owner), f"/model/{card.pk}")
    html(client_for(owner), f"/model/{card.pk}/inference", 404)


def test_the_tab_lists_services_and_offers_create_to_owners_and_contributors(
    entry: Model, personas: dict[str, Any], client_for: Any, inference_on: None
) -> None:
    add_service(entry, personas["owner"])
    for persona, can_create in (("owner", True), ("contributor", True), ("consumer", False)):
        page = html(client_for(personas[persona]), f"/model/{entry.pk}/inference")
        assert "app:v1" in page and "Already there" in page and "Running" in page
        assert ("Create service" in page) is can_create, persona
    html(client_for(personas["outsider"]), f"/model/{entry.pk}/inference", 404)


def test_creating_a_service_from_the_form(
    entry: Model, owner: Any, client_for: Any, deploy_service: DeployService, image: Any
) -> None:
    client = client_for(owner)
    form = html(client, f"/model/{entry.pk}/inference/new")
    assert '<option value="app:v1">app:v1</option>' in form
    assert '<option value="nvidia-t4">nvidia-t4</option>' in form
    response = client.post(f"/model/{entry.pk}/inference/new", FORM)
    assert response.status_code == 302
    assert response["Location"] == f"/model/{entry.pk}/inference/app/v1"
    service = InferenceService.objects.get()
    assert (service.description, service.port, service.memory) == ("Try the digits model", 8080, 2)
    assert deploy_service.calls[0].path == "/api/deploy"

    page = html(client, response["Location"])
    frame = f'src="{deploy_service.url}/inference/{entry.pk}/app/v1"'
    assert "<iframe" in page and frame in page
    # Only this page may frame the deploy service, and only its origin.
    policy = client.get(response["Location"])["Content-Security-Policy"]
    assert policy.endswith(f"; frame-src {deploy_service.url}")
    assert "frame-src" not in client.get(f"/model/{entry.pk}/inference")["Content-Security-Policy"]


def test_a_cpu_service_without_memory_is_refused_beside_the_field_and_nothing_is_deployed(
    entry: Model, owner: Any, client_for: Any, deploy_service: DeployService, image: Any
) -> None:
    response = client_for(owner).post(f"/model/{entry.pk}/inference/new", {**FORM, "memory": ""})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_memory_error"' in page and "is required for a cpu service (GB)" in page
    assert deploy_service.calls == [] and not InferenceService.objects.exists()


def test_the_memory_field_is_ignored_for_a_gpu(
    entry: Model, owner: Any, client_for: Any, deploy_service: DeployService, image: Any
) -> None:
    # Bailo's form disables the memory slider for GPUs; without JavaScript the field stays on
    # the page, and what it holds is not sent.
    response = client_for(owner).post(
        f"/model/{entry.pk}/inference/new", {**FORM, "processor_type": "nvidia-t4"}
    )
    assert response.status_code == 302
    service = InferenceService.objects.get()
    assert (service.processor_type, service.memory) == ("nvidia-t4", None)


def test_a_deploy_service_that_is_down_is_explained_on_the_form(
    entry: Model, owner: Any, client_for: Any, inference_on: None, settings: Any, image: Any
) -> None:
    settings.INFERENCE_HOST = closed_url()
    response = client_for(owner).post(f"/model/{entry.pk}/inference/new", FORM)
    assert response.status_code == 503
    assert "could not be reached; nothing was changed" in response.content.decode()
    assert not InferenceService.objects.exists()


def test_consumers_cannot_reach_the_create_form(
    entry: Model, consumer: Any, client_for: Any, deploy_service: DeployService
) -> None:
    client = client_for(consumer)
    html(client, f"/model/{entry.pk}/inference/new", 403)
    assert client.post(f"/model/{entry.pk}/inference/new", FORM).status_code == 403
    assert deploy_service.calls == []


def test_owners_change_settings_and_contributors_only_read_them(
    entry: Model, owner: Any, contributor: Any, client_for: Any, deploy_service: DeployService
) -> None:
    add_service(entry, owner)
    url = f"/model/{entry.pk}/inference/app/v1/settings"
    read_only = html(client_for(contributor), url)
    assert "Only the model's owners can change" in read_only
    assert "Save settings" not in read_only and 'name="port"' not in read_only
    refused = client_for(contributor).post(url, {**FORM, "port": "9"})
    assert refused.status_code == 403
    assert InferenceService.objects.get().port == 8080

    owner_client = client_for(owner)
    assert "Save settings" in html(owner_client, url)
    saved = owner_client.post(
        url, {"description": "New words", "port": "9000", "processor_type": "cpu", "memory": "4"}
    )
    assert saved.status_code == 302
    service = InferenceService.objects.get()
    assert (service.description, service.port, service.memory) == ("New words", 9000, 4)
    assert deploy_service.calls[-1].method == "PATCH"


def test_owners_remove_a_service_and_others_cannot(
    entry: Model, owner: Any, contributor: Any, client_for: Any, deploy_service: DeployService
) -> None:
    add_service(entry, owner)
    url = f"/model/{entry.pk}/inference/app/v1/delete"
    html(client_for(contributor), url, 403)
    assert client_for(contributor).post(url).status_code == 403
    assert InferenceService.objects.exists()

    deploy_service.answer_with(500)
    failed = client_for(owner).post(url)
    assert failed.status_code == 502
    assert "answered 500" in failed.content.decode()
    assert InferenceService.objects.exists()

    deploy_service.answer_with(200)
    done = client_for(owner).post(url)
    assert done.status_code == 302 and done["Location"] == f"/model/{entry.pk}/inference"
    assert not InferenceService.objects.exists()


def test_the_pages_are_404_while_inference_is_off(
    entry: Model, owner: Any, client_for: Any, settings: Any
) -> None:
    add_service(entry, owner)
    settings.INFERENCE_ENABLED = False
    client = client_for(owner)
    for suffix in ("", "/new", "/app/v1", "/app/v1/settings", "/app/v1/delete"):
        html(client, f"/model/{entry.pk}/inference{suffix}", 404)


def test_the_inferencing_docs_page_is_in_the_sidebar_and_linked_from_the_tab(
    entry: Model, owner: Any, client_for: Any, inference_on: None
) -> None:
    client = client_for(owner)
    assert 'href="/docs/users/inferencing"' in html(client, f"/model/{entry.pk}/inference")
    page = html(client, "/docs/users/inferencing")
    assert "Where we differ from Bailo" in page
    assert 'href="/docs/users/inferencing"' in html(client, "/docs/getting-started")
