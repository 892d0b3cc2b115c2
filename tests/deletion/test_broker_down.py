"""A model deletion when the task broker (Redis) cannot be reached: the request, which has
committed the deletion before it queues the bulk step, answers 200 at once; the step stays
``queued`` and the purge sweep queues it again (``deletion.purge.beneath_overdue``).

The request used to wait ~20 s for the result store's subscription to give up, then answer 500:
Django could not name the failed ``functools.partial`` hook in its log.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from bailo_site.celery import app as celery_app
from deletion.beneath import is_queued
from deletion.models import Deletion
from deletion.purge import beneath_overdue
from models_app.models import Model
from tests.broker_helpers import down_broker_url, tasks_sent_to

# transaction=True: the step is queued on commit, inside the request, as in production.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker_down() -> Iterator[None]:
    with tasks_sent_to(down_broker_url()):
        yield


def test_an_entry_is_deleted_when_the_broker_is_down_and_the_sweep_queues_its_step(
    broker_down: None, entry: Model, owner: Any, caplog: Any
) -> None:
    client = Client()
    client.force_login(owner)

    answer = client.delete(f"/api/v2/model/{entry.pk}")

    assert answer.status_code == 200, answer.content
    assert answer.json() == {"message": "Successfully removed model."}
    assert client.get(f"/api/v2/model/{entry.pk}").status_code == 404
    deletion = Deletion.objects.get(subject=entry.pk, kind=Deletion.Kind.MODEL)
    assert is_queued(deletion)
    assert "model_delete" in caplog.text  # the failed send is logged
    later = timezone.now() + timedelta(hours=1)
    assert beneath_overdue(now=later) == [deletion.pk]


def test_no_task_keeps_a_result_but_the_ping_that_is_asked_for_one() -> None:
    """A kept result makes every send from a web process subscribe to it on the result store,
    which retries for ~20 s when Redis is down: nobody reads these results."""
    ours = {
        name: task
        for name, task in celery_app.tasks.items()
        if not name.startswith("celery.")  # Celery's own (chord_unlock, backend_cleanup, ...)
    }
    assert "deletion.hide_beneath" in ours
    keeping = sorted(name for name, task in ours.items() if not task.ignore_result)
    assert keeping == ["core.ping"]
