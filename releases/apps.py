"""Releases and what they ship: files (``releases.files``), container images
(``releases.images``) and the scans of files (``releases.scanning``); the tables of all four are
in ``releases.models``.

The upload -> scan -> download flow crosses these packages through hooks, all registered in
``ReleasesConfig.ready()`` below, in every process (web, worker, beat):

1. An upload completes (``releases.files.services``: simple or multipart). After the commit,
   ``FILE_COMPLETED`` calls its listeners, in this order:
   - ``files.tasks.queue_sha256``: a multipart upload's sha256 is computed on the ``scans``
     queue (a simple upload hashes its bytes as they stream);
   - ``scanning.services.scan_on_completion``: each configured scanner's row turns
     ``inProgress`` at once, and ``SCAN_REQUESTED`` -> ``scanning.tasks.queue_scan`` puts
     ``scan_file`` on the ``scans`` queue.
2. ``scan_file`` runs each scanner (``core.ports.scanners``: ClamAV through clamd, ModelScan) on
   the stored bytes and records one result per tool. A scanner that is down records ``error``;
   ``retry_failed_scans`` (beat, every 5 minutes) asks again a few times, and picks up scans a
   dead worker left ``inProgress``. An owner may ask for a rescan (same path, from step 1's
   second listener onwards).
3. A download (``releases.files.downloads``) asks ``DOWNLOAD_BLOCKERS`` before any byte goes:
   ``scanning.services.download_blocker`` refuses a file with a virus, and one with ModelScan
   findings when ``MODELSCAN_BLOCKS_DOWNLOAD`` is on.
"""

from __future__ import annotations

from django.apps import AppConfig


class ReleasesConfig(AppConfig):
    name = "releases"

    def ready(self) -> None:
        from core.tasks import BEAT_SCHEDULE
        from models_app.frame import ENTRY_TABS, MODEL_KINDS, EntryTab
        from releases.files import tasks as file_tasks
        from releases.files.downloads import DOWNLOAD_BLOCKERS
        from releases.files.services import FILE_COMPLETED
        from releases.scanning import services as scan_services
        from releases.scanning import tasks as scan_tasks

        FILE_COMPLETED.register(file_tasks.queue_sha256)
        FILE_COMPLETED.register(scan_services.scan_on_completion)
        scan_services.SCAN_REQUESTED.register(scan_tasks.queue_scan)
        DOWNLOAD_BLOCKERS.register(scan_services.download_blocker)
        BEAT_SCHEDULE.update(file_tasks.PERIODIC)
        BEAT_SCHEDULE.update(scan_tasks.PERIODIC)

        ENTRY_TABS.add(EntryTab("releases", "Releases", "entry-releases", 20, kinds=MODEL_KINDS))
        ENTRY_TABS.add(EntryTab("registry", "Registry", "entry-registry", 40, kinds=MODEL_KINDS))
        ENTRY_TABS.add(EntryTab("files", "Files", "entry-files", 50, kinds=MODEL_KINDS))
