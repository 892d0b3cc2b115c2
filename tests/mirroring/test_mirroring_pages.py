"""The "Mirrored models" settings section (export) and a mirrored model's Transfers page."""

from __future__ import annotations

from typing import Any

import pytest

from mirroring.models import Export, ModelTransfer
from models_app.models import Model
from tests.conftest import create_entry
from tests.mirroring.conftest import exportable

pytestmark = pytest.mark.django_db


def _settings(client: Any, model: Model) -> str:
    response = client.get(f"/model/{model.pk}/settings")
    assert response.status_code == 200
    return str(response.content.decode())


def test_owner_sees_the_export_section_with_disclaimer_and_releases(
    mirror_on: None, entry: Model, owner: Any, client_for: Any, settings: Any
) -> None:
    settings.MIRROR_EXPORT_DISCLAIMER = "**Only export what the destination may hold.**"
    model = exportable(entry, owner)
    page = _settings(client_for(owner), model)
    assert 'id="mirrored-models"' in page
    assert "Destination Model ID" in page and 'value="mirror-abc123"' in page
    assert "<strong>Only export what the destination may hold.</strong>" in page
    assert 'name="semvers" value="1.0.0"' in page


def test_the_export_section_is_absent_while_export_is_off(
    mirror_on: None, entry: Model, owner: Any, client_for: Any, settings: Any
) -> None:
    settings.MIRROR_EXPORT_ENABLED = False
    assert 'id="mirrored-models"' not in _settings(client_for(owner), entry)


def test_saving_the_destination_model_id(
    mirror_on: None, entry: Model, owner: Any, client_for: Any
) -> None:
    response = client_for(owner).post(
        f"/model/{entry.pk}/settings/mirror/destination", {"destinationModelId": "dest-000001"}
    )
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.mirror_destination_model_id == "dest-000001"


def test_only_owners_save_the_destination(
    mirror_on: None, entry: Model, contributor: Any, client_for: Any
) -> None:
    response = client_for(contributor).post(
        f"/model/{entry.pk}/settings/mirror/destination", {"destinationModelId": "dest-000001"}
    )
    assert response.status_code == 403
    entry.refresh_from_db()
    assert entry.mirror_destination_model_id == ""


def test_export_from_the_page_records_it_and_lists_its_outcome(
    mirror_on: None, entry: Model, owner: Any, client_for: Any, run_queued: Any
) -> None:
    model = exportable(entry, owner)
    client = client_for(owner)
    with run_queued():
        response = client.post(
            f"/model/{model.pk}/settings/mirror/export",
            {"disclaimerAgreement": "on", "semvers": ["1.0.0"]},
        )
    assert response.status_code == 302
    export = Export.objects.get()
    assert export.semvers == ["1.0.0"] and export.status == "completed"
    page = _settings(client, model)
    assert export.pk in page and "Completed" in page and "2 of 2 tarballs written" in page


def test_export_from_the_page_without_agreeing_says_why(
    mirror_on: None, entry: Model, owner: Any, client_for: Any
) -> None:
    model = exportable(entry, owner)
    response = client_for(owner).post(
        f"/model/{model.pk}/settings/mirror/export", {"semvers": ["1.0.0"]}, follow=True
    )
    assert "disclaimer" in response.content.decode()
    assert not Export.objects.exists()


def test_contributors_cannot_export_from_the_page(
    mirror_on: None, entry: Model, owner: Any, contributor: Any, client_for: Any
) -> None:
    model = exportable(entry, owner)
    response = client_for(contributor).post(
        f"/model/{model.pk}/settings/mirror/export", {"disclaimerAgreement": "on"}
    )
    assert response.status_code == 403
    assert not Export.objects.exists()


@pytest.fixture
def transfer(
    mirror_on: None, owner: Any, contributor: Any, consumer: Any, reviewer: Any
) -> ModelTransfer:
    mirrored = create_entry(
        owner,
        contributor,
        consumer,
        reviewer,
        "Mirror",
        kind="mirrored-model",
        settings_={"mirror": {"sourceModelId": "src-000001"}},
    )
    return ModelTransfer.objects.create(
        export_id="exp-page",
        model=mirrored,
        artefacts=[
            {"key": "src-000001", "name": "", "kind": "documents", "status": "completed"},
            {
                "key": "f1",
                "name": "weights.bin",
                "kind": "file",
                "status": "failed",
                "error": "The tarball is not signed: nothing was imported",
                "payloadUrl": "s3://exports/f1.tar.gz",
            },
        ],
    )


def test_transfers_page_lists_artefacts_with_retry_for_owners(
    transfer: ModelTransfer, owner: Any, consumer: Any, client_for: Any
) -> None:
    url = f"/model/{transfer.model_id}/transfers"
    page = client_for(owner).get(url).content.decode()
    assert "exp-page" in page and "weights.bin" in page and "not signed" in page
    assert "Retry" in page
    seen_by_consumer = client_for(consumer).get(url).content.decode()
    assert "weights.bin" in seen_by_consumer and "Retry" not in seen_by_consumer


def test_transfers_page_is_404_for_those_who_cannot_see_the_model(
    transfer: ModelTransfer, outsider: Any, client_for: Any
) -> None:
    assert client_for(outsider).get(f"/model/{transfer.model_id}/transfers").status_code == 404


def test_retry_from_the_page_requeues_the_failed_artefact(
    transfer: ModelTransfer, owner: Any, client_for: Any
) -> None:
    response = client_for(owner).post(
        f"/model/{transfer.model_id}/transfers/exp-page/retry", {"key": "f1"}
    )
    assert response.status_code == 302
    transfer.refresh_from_db()
    assert transfer.artefacts[1]["status"] == "in_progress"


def test_mirrored_model_settings_show_the_transfers_section(
    transfer: ModelTransfer, owner: Any, client_for: Any
) -> None:
    page = client_for(owner).get(f"/model/{transfer.model_id}/settings").content.decode()
    assert 'id="transfers"' in page and "exp-page" in page
    assert 'id="mirrored-models"' not in page
