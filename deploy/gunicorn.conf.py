"""gunicorn settings shared by every way the web processes are started: the image's entrypoint
(``deploy/docker-entrypoint.sh``), ``make deploy-local`` and ``bench/compare``. Command-line
options given beside ``--config`` still apply (bind, workers, timeout).

Settings and hooks only; nothing here runs in the master beyond reading this file.
"""

from __future__ import annotations

import gc
from typing import Any


def post_worker_init(worker: Any) -> None:
    """Once a worker has loaded the application (after the fork: every worker has its own
    broker connections), prepare its task sending in the background, so that the first request
    to queue a task (a model deletion, on commit) does not pay for it."""
    from bailo_site.celery import warm_broker_soon

    warm_broker_soon()
    # What the worker holds once loaded (modules, settings, URL patterns, templates) lives as long
    # as the worker: kept out of the collector's full passes, which otherwise walk all of it and
    # pause a request now and then (the long tail of a busy page).
    gc.freeze()
