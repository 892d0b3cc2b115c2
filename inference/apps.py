"""Inference services: an entry's registry images run by an external deploy service.

Everything inference plugs into lower layers is registered here, in every process: the
Inferencing tab (shown while ``INFERENCE_ENABLED`` is on) and the periodic sweep that retries
removals after an entry deletion (``inference.tasks.PERIODIC``). What a deletion does with
services is declared in ``deletion/cascade.py``.
"""

from __future__ import annotations

from django.apps import AppConfig


class InferenceConfig(AppConfig):
    name = "inference"

    def ready(self) -> None:
        from core.tasks import BEAT_SCHEDULE
        from inference import tasks
        from inference.services import inference_enabled
        from models_app.frame import ENTRY_TABS, MODEL_KINDS, EntryTab
        from models_app.policy import Action

        BEAT_SCHEDULE.update(tasks.PERIODIC)
        ENTRY_TABS.add(
            EntryTab(
                "inference",
                "Inferencing",
                "entry-inference",
                60,
                kinds=MODEL_KINDS,
                action=Action.INFERENCE_VIEW,
                shown=inference_enabled,
            )
        )
