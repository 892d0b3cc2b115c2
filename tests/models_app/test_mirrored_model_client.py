"""The official client's ``MirroredModel`` against a mirrored model with an imported card: it reads
the source's card from ``mirroredCard`` and saves additional information as the local card."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from bailo import Client, MirroredModel
from bailo.core.agent import Agent
from bailo.core.exceptions import BailoException

from models_app.models import Model, ModelCardRevision

pytestmark = pytest.mark.django_db(transaction=True)

SOURCE_CARD = {"overview": {"modelSummary": "Scores card payments for fraud."}}


@pytest.fixture
def client(live_server: Any, settings: Any) -> Iterator[Client]:
    settings.BAILO_AUTH_MODE = "dev"
    settings.MIRROR_IMPORT_ENABLED = True
    agent = Agent()
    yield Client(live_server.url, agent)
    agent.session.close()


def test_the_client_reads_the_imported_card_and_saves_additional_information(
    client: Client,
) -> None:
    mirror = MirroredModel.create(
        client, name="Client mirror", description="A copy.", sourceModelId="fraud-abc123"
    )
    ModelCardRevision.objects.create(
        model_id=mirror.model_id,
        schema_id="minimal-general-v10",
        version=3,
        metadata=SOURCE_CARD,
        mirrored=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no additional information yet: the client warns
        again = MirroredModel.from_id(client, mirror.model_id)
    assert again.model_card == {"card": SOURCE_CARD, "additional_information": None}
    assert again.model_card_version == {"card": 3, "additional_information": None}

    again.update_model_card({"overview": {"modelSummary": "Approved here."}})
    again.get_card_latest()
    assert again.model_card == {
        "card": SOURCE_CARD,
        "additional_information": {"overview": {"modelSummary": "Approved here."}},
    }
    assert again.model_card_version == {"card": 3, "additional_information": 1}
    model = Model.objects.get(pk=mirror.model_id)
    assert model.card is not None and model.card.mirrored is False

    # Changing the source after the import is refused, and nothing changes.
    again.sourceModelId = "somewhere-else1"
    with pytest.raises(BailoException, match="can no longer be changed"):
        again.update()
    assert Model.objects.get(pk=mirror.model_id).mirror_source_model_id == "fraud-abc123"
