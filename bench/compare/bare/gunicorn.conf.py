"""The bare project's gunicorn hook: the collector setting the app's own config applies
(``deploy/gunicorn.conf.py``), so that both sides run under the same gunicorn settings. The bare
project sends no tasks, so nothing else."""

from __future__ import annotations

import gc
from typing import Any


def post_worker_init(worker: Any) -> None:
    gc.freeze()
