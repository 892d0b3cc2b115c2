"""``manage.py registry_gc``: the Docker registry's garbage collection.

Purges delete image manifests through the registry's API; the layers they used stay in the
registry's storage until ``docker-registry garbage-collect`` sweeps every blob no manifest
references. This command runs it with the registry configuration named by the setting
``REGISTRY_CONFIG_FILE`` (or ``--config``), without ``AWS_CA_BUNDLE`` in the environment (the
registry's S3 driver panics when it is set).

``--delete-untagged`` is passed only on request. A manifest deleted by digest (what a purge does)
loses its layers without it, and registry 2.8 with it also deletes the per-platform manifests of
every multi-platform image, since no tag points at them directly (distribution issue #3178, seen
on this stack's registry): those images would no longer pull.

Run it while nothing is pushed: the registry's garbage collector does not lock, and a layer
uploaded but not yet referenced by a pushed manifest is swept. The Helm chart schedules it.

Exit codes: 0 done, 2 not configured (no config file, no registry binary), otherwise the
garbage collector's own exit code.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

NOT_CONFIGURED = 2
# What garbage-collect says about a registry nothing was ever pushed to.
EMPTY_REGISTRY = "Path not found: /docker/registry/v2/repositories"
BINARIES = ("docker-registry", "registry")


def registry_binary() -> str | None:
    configured = getattr(settings, "REGISTRY_BINARY", "")
    if configured:
        return str(configured) if shutil.which(str(configured)) else None
    for name in BINARIES:
        found = shutil.which(name)
        if found:
            return found
    return None


def gc_command(binary: str, config: str, *, dry_run: bool, delete_untagged: bool) -> list[str]:
    command = ["env", "-u", "AWS_CA_BUNDLE", binary, "garbage-collect", config]
    if delete_untagged:
        command.append("--delete-untagged")
    if dry_run:
        command.append("--dry-run")
    return command


class Command(BaseCommand):
    help = (
        "Run the Docker registry's garbage collection (docker-registry garbage-collect "
        "<REGISTRY_CONFIG_FILE>) to free the layers of deleted images."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--config", help="The registry's configuration file (default: REGISTRY_CONFIG_FILE)"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would be removed; remove nothing"
        )
        parser.add_argument(
            "--delete-untagged",
            action="store_true",
            help=(
                "Also delete manifests no tag points at. With registry 2.8 this breaks "
                "multi-platform images: use it only if none were pushed"
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        config = options["config"] or getattr(settings, "REGISTRY_CONFIG_FILE", "")
        if not config:
            raise CommandError(
                "No registry configuration: set REGISTRY_CONFIG_FILE to the registry's "
                "config.yml (or pass --config)",
                returncode=NOT_CONFIGURED,
            )
        if not Path(config).is_file():
            raise CommandError(
                f"The registry configuration {config} does not exist", returncode=NOT_CONFIGURED
            )
        binary = registry_binary()
        if binary is None:
            raise CommandError(
                "The registry binary was not found (install docker-registry, or set "
                "REGISTRY_BINARY to its path)",
                returncode=NOT_CONFIGURED,
            )
        command = gc_command(
            binary,
            str(config),
            dry_run=options["dry_run"],
            delete_untagged=options["delete_untagged"],
        )
        self.stdout.write("Running: " + " ".join(command))
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.stdout:
            self.stdout.write(result.stdout.rstrip())
        if result.returncode != 0 and EMPTY_REGISTRY in result.stderr:
            self.stdout.write("The registry holds no repositories yet: nothing to collect")
            return
        if result.returncode != 0:
            raise CommandError(
                f"Registry garbage collection failed (exit {result.returncode}): "
                f"{result.stderr.strip()[-2000:]}",
                returncode=result.returncode,
            )
        self.stdout.write(self.style.SUCCESS("Registry garbage collection finished"))
