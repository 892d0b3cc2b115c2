"""The Celery application. Queues: default, scans, purge, webhooks, mirroring. JSON only.

In the embedded default (no ``REDIS_URL``) tasks run eagerly in the calling process.

A web process only sends tasks. Its first send would otherwise set up the sending side (the
tasks' registry, the Redis transport, the producer pool, a connection, the queues' declarations:
50-300 ms, more on a busy machine) inside whichever request queues a task first, such as a model
deletion's commit. ``warm_broker_soon`` does that once a web worker has started (the gunicorn hook
in ``deploy/gunicorn.conf.py``), in the background, so a broker that is down delays nothing.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from celery import Celery
from kombu import Queue

from core.tasks import BEAT_SCHEDULE

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bailo_site.settings")

log = logging.getLogger(__name__)

app = Celery("bailo_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [
    Queue(name) for name in ("default", "scans", "purge", "webhooks", "mirroring")
]
app.conf.task_default_queue = "default"
# Nobody reads a task's return value (a task that is asked, like ``core.ping``, says so). With
# results kept, every send from a web process would also subscribe to the result's channel on a
# second Redis connection, and with Redis down that subscription retries for ~20 s before the send
# fails: a request that queues a task would hang that long, then fail.
app.conf.task_ignore_result = True
# Every send still builds an AsyncResult, and with it the result store's client, once per thread
# unless the client is shared: each of a gthread worker's threads would pay for it (an entry
# point scan and a Redis client, 20 ms and more) on its first send. The Redis client is
# thread-safe; its pub/sub consumer, which is not, serves only waits on a result, and no web
# process waits on one.
app.conf.result_backend_thread_safe = True
# The apps fill this mapping from their AppConfig.ready(); beat reads it when it starts.
app.conf.beat_schedule = BEAT_SCHEDULE
app.autodiscover_tasks()


def warm_broker() -> float | None:
    """Make this process ready to send tasks: finalise the app (bind every task), build the
    result store's client, the router and the message sender, connect a pooled producer to the
    broker and declare the queues on it, then hand it back to the pool, where the next send
    takes it. Returns the seconds it took, or None when tasks run eagerly (no broker) or the
    broker could not be reached: sends then connect, or fail, as they would have (within the
    publish retry policy), so warming never changes what a send does.

    The producer pool is per process: call this after the fork (a web worker's start), never in
    a process that forks afterwards, whose children would share its socket."""
    if app.conf.task_always_eager:
        return None
    started = time.monotonic()
    try:
        app.finalize(auto=True)
        # Every send returns an AsyncResult, which builds the result store's client on first
        # use, ignored results included (it connects only when asked for a result); shared by
        # the process's threads (``result_backend_thread_safe``).
        app.backend  # noqa: B018
        # And the sending side's own first-use setup: the task router and the message sender.
        app.amqp.router  # noqa: B018
        app.amqp.send_task_message  # noqa: B018
        with app.producer_or_acquire() as producer:
            # One attempt: a broker that is down is the sends' business, with their own retries.
            producer.connection.ensure_connection(max_retries=1)
            for queue in app.amqp.queues.values():
                producer.maybe_declare(queue)
    except Exception as exc:  # whatever the broker says: warming is optional
        log.warning(
            "Could not prepare the task broker connection (tasks will connect when sent): %s", exc
        )
        return None
    return time.monotonic() - started


def warm_broker_soon() -> threading.Thread:
    """``warm_broker`` in a daemon thread: a web worker starts serving at once, whatever the
    broker's state, and a request that sends a task meanwhile simply sets up its own part."""
    thread = threading.Thread(target=warm_broker, name="warm-broker", daemon=True)
    thread.start()
    return thread
