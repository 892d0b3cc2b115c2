"""gunicorn settings shared by every way the web processes are started: the image's entrypoint
(``deploy/docker-entrypoint.sh``), ``make deploy-local`` and ``bench/compare``. Command-line
options given beside ``--config`` still apply (bind, workers, timeout).

Settings and hooks only; nothing here runs in the master beyond reading this file.
"""

from __future__ import annotations

from typing import Any


def post_worker_init(worker: Any) -> None:
    """Once a worker has loaded the application (after the fork: every worker has its own
    broker connections), prepare its task sending in the background, so that the first request
    to queue a task (a model deletion, on commit) does not pay for it."""
    from bailo_site.celery import warm_broker_soon

    warm_broker_soon()
