"""``manage.py registry_gc``: refuses clearly when not configured, and really frees the layers
of a manifest a purge deleted.

The sweep runs against a registry of its own (filesystem storage in a temporary directory, on a
free port, no authentication), never the stack's: garbage collection while others push could
remove their half-uploaded layers. Against the stack's configuration only a dry run is made.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command

from tests.conftest import stack_required


def registry_gc(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("registry_gc", *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    return 0, out.getvalue()


def test_without_a_configuration_it_says_what_to_set_and_exits_two(settings: Any) -> None:
    settings.REGISTRY_CONFIG_FILE = ""

    code, said = registry_gc()

    assert code == 2
    assert "set REGISTRY_CONFIG_FILE" in said


def test_a_configuration_file_that_does_not_exist_exits_two(settings: Any, tmp_path: Path) -> None:
    settings.REGISTRY_CONFIG_FILE = str(tmp_path / "missing.yml")

    code, said = registry_gc()

    assert code == 2
    assert "missing.yml does not exist" in said


def test_a_registry_binary_that_is_not_installed_exits_two(settings: Any, tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text("version: 0.1\n")
    settings.REGISTRY_BINARY = str(tmp_path / "no-such-registry")

    code, said = registry_gc("--config", str(config))

    assert code == 2
    assert "registry binary was not found" in said


# --- a real sweep ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _binary() -> str:
    found = shutil.which("docker-registry")
    if found is None:
        if stack_required():
            pytest.fail("docker-registry is not installed")
        pytest.skip("docker-registry is not installed")
    return found


@pytest.fixture
def own_registry(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """A registry of this test's own: (url, its config file, its storage root)."""
    binary = _binary()
    root = tmp_path / "storage"
    port = _free_port()
    config = tmp_path / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: error}\n"
        f"storage: {{filesystem: {{rootdirectory: {root}}}, delete: {{enabled: true}}}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    server = subprocess.Popen(
        [binary, "serve", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if requests.get(f"{url}/v2/", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.1)
        else:
            pytest.fail("the test's own registry did not start")
        yield url, config, root
    finally:
        server.terminate()
        server.wait(timeout=10)


def _push(url: str, repository: str) -> tuple[str, list[str]]:
    """A one-layer image as ``<repository>:v1``: (manifest digest, every blob digest)."""

    def blob(data: bytes) -> dict[str, Any]:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        started = requests.post(f"{url}/v2/{repository}/blobs/uploads/", timeout=10)
        started.raise_for_status()
        location = started.headers["Location"]
        location = location if location.startswith("http") else url + location
        joiner = "&" if "?" in location else "?"
        requests.put(
            f"{location}{joiner}digest={digest}",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
            timeout=10,
        ).raise_for_status()
        return {"digest": digest, "size": len(data)}

    layer = blob(f"the only layer of {repository}".encode())
    config = blob(json.dumps({"architecture": "amd64", "os": "linux", "for": repository}).encode())
    media_type = "application/vnd.oci.image.manifest.v1+json"
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}],
        }
    ).encode()
    requests.put(
        f"{url}/v2/{repository}/manifests/v1",
        data=manifest,
        headers={"Content-Type": media_type},
        timeout=10,
    ).raise_for_status()
    digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    return digest, [layer["digest"], config["digest"], digest]


def _blob_stored(root: Path, digest: str) -> bool:
    hexa = digest.split(":", 1)[1]
    return (root / "docker/registry/v2/blobs/sha256" / hexa[:2] / hexa / "data").is_file()


def test_the_layers_of_a_deleted_manifest_are_removed_and_a_dry_run_removes_nothing(
    own_registry: tuple[str, Path, Path], settings: Any
) -> None:
    url, config, root = own_registry
    settings.REGISTRY_CONFIG_FILE = str(config)
    kept, kept_blobs = _push(url, "live-model/app")
    deleted, deleted_blobs = _push(url, "deleted-model/app")
    # What a purge does: delete the manifest by digest through the registry's API.
    assert requests.delete(f"{url}/v2/deleted-model/app/manifests/{deleted}").status_code == 202

    code, said = registry_gc("--dry-run")
    assert code == 0, said
    assert "--dry-run" in said
    assert all(_blob_stored(root, d) for d in deleted_blobs)

    code, said = registry_gc()
    assert code == 0, said
    assert said.startswith("Running: env -u AWS_CA_BUNDLE ")
    assert "--delete-untagged" not in said
    assert "Registry garbage collection finished" in said
    assert not any(_blob_stored(root, d) for d in deleted_blobs)
    assert all(_blob_stored(root, d) for d in kept_blobs)
    answer = requests.get(
        f"{url}/v2/live-model/app/manifests/v1",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        timeout=10,
    )
    assert answer.status_code == 200
    assert answer.headers["Docker-Content-Digest"] == kept


def test_delete_untagged_is_passed_only_when_asked(
    own_registry: tuple[str, Path, Path], settings: Any
) -> None:
    url, config, _root = own_registry
    settings.REGISTRY_CONFIG_FILE = str(config)
    _push(url, "some-model/app")

    code, said = registry_gc("--delete-untagged", "--dry-run")

    assert code == 0, said
    assert "garbage-collect " + str(config) + " --delete-untagged --dry-run" in said


def test_a_dry_run_against_the_stacks_registry_configuration_succeeds(settings: Any) -> None:
    key_file = django_settings.REGISTRY_TOKEN_KEY_FILE
    config = Path(key_file).parent / "config.yml" if key_file else None
    if config is None or not config.is_file():
        if stack_required():
            pytest.fail("the stack's registry configuration was not found beside its token key")
        pytest.skip("no stack registry configuration")
    _binary()
    settings.REGISTRY_CONFIG_FILE = str(config)

    code, said = registry_gc("--dry-run")

    assert code == 0, said


def test_an_empty_registry_has_nothing_to_collect(
    own_registry: tuple[str, Path, Path], settings: Any
) -> None:
    _url, config, _root = own_registry
    settings.REGISTRY_CONFIG_FILE = str(config)

    code, said = registry_gc()

    assert code == 0, said
    assert "The registry holds no repositories yet: nothing to collect" in said
