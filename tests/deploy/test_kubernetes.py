"""deploy/kubernetes, rendered by ``kubectl kustomize`` and checked offline: every object against
the Kubernetes schemas (``kubernetes-validate``), then what schemas cannot see: the settings
start in production mode from what the manifests provide, every Celery queue has a worker, ports,
probes and the registry's token realm agree with the app, pods run as non-root with read-only
root filesystems, and the isolated overlay pulls nothing from outside."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.conftest import stack_required

ROOT = Path(__file__).resolve().parents[2]
KUSTOMIZE = ROOT / "deploy" / "kubernetes"
OVERLAYS = ["base", "overlays/production", "overlays/isolated"]
KUBERNETES_VERSION = "1.30.0"
# What the operator puts in the Secret "bailo-secrets" (docs/administration/kubernetes.md).
SECRET_KEYS = {
    "SECRET_KEY": "k8s-test-secret-key-that-is-long-enough-for-django-checks-0123456789",
    "DATABASE_URL": "postgres://bailo:pw@postgres.example.com:5432/bailo",
    "REDIS_URL": "redis://redis.example.com:6379/0",
    "S3_ACCESS_KEY": "access",
    "S3_SECRET_KEY": "secret",
    "REGISTRY_HTTP_SECRET": "shared",
}


@cache
def render(overlay: str) -> tuple[dict[str, Any], ...]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        if stack_required():
            pytest.fail("kubectl is needed to render deploy/kubernetes (kubectl kustomize)")
        pytest.skip("kubectl is not installed")
    result = subprocess.run(
        [kubectl, "kustomize", str(KUSTOMIZE / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def of_kind(docs: tuple[dict[str, Any], ...], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def pod_specs(docs: tuple[dict[str, Any], ...]) -> dict[str, dict[str, Any]]:
    specs = {}
    for doc in docs:
        if doc["kind"] in {"Deployment", "Job"}:
            specs[doc["metadata"]["name"]] = doc["spec"]["template"]["spec"]
    return specs


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_is_valid_against_the_kubernetes_schemas(overlay: str) -> None:
    docs = render(overlay)
    assert len(docs) > 20
    problems = []
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{doc['kind']}/{doc['metadata']['name']}: {exc.message}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_topology_is_complete(overlay: str) -> None:
    docs = render(overlay)
    deployments = of_kind(docs, "Deployment")
    assert set(deployments) == {
        "bailo-web",
        "bailo-worker-default",
        "bailo-worker-scans",
        "bailo-worker-purge",
        "bailo-worker-webhooks",
        "bailo-worker-mirroring",
        "bailo-beat",
        "bailo-registry",
    }
    assert set(of_kind(docs, "Job")) == {"bailo-migrate"}
    assert deployments["bailo-beat"]["spec"]["replicas"] == 1
    assert deployments["bailo-beat"]["spec"]["strategy"]["type"] == "Recreate"
    assert "bailo-beat" not in {
        h["spec"]["scaleTargetRef"]["name"]
        for h in of_kind(docs, "HorizontalPodAutoscaler").values()
    }
    # Web pods wait for the migration Job and do not migrate themselves.
    web = deployments["bailo-web"]["spec"]["template"]["spec"]
    assert "migrate --check" in " ".join(web["initContainers"][0]["args"])
    config = of_kind(docs, "ConfigMap")["bailo-config"]["data"]
    assert config["BAILO_MIGRATE_ON_START"] == "0"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_web_and_workers_have_autoscalers_disruption_budgets_and_cpu_requests(
    overlay: str,
) -> None:
    docs = render(overlay)
    deployments = of_kind(docs, "Deployment")
    scaled = {
        h["spec"]["scaleTargetRef"]["name"]
        for h in of_kind(docs, "HorizontalPodAutoscaler").values()
    }
    budgets = {
        p["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"]
        for p in of_kind(docs, "PodDisruptionBudget").values()
    }
    for name, deployment in deployments.items():
        if name == "bailo-beat":
            continue
        assert name in scaled, name
        component = deployment["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"]
        assert component in budgets, name
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            assert container["resources"]["requests"]["cpu"], (name, container["name"])
            assert container["resources"]["limits"]["memory"], (name, container["name"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_run_as_non_root_with_read_only_root_filesystems(overlay: str) -> None:
    for name, spec in pod_specs(render(overlay)).items():
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert spec.get("automountServiceAccountToken", False) is False or name
        for container in containers(spec):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, (name, container["name"])
            assert context["capabilities"]["drop"] == ["ALL"], (name, container["name"])
            if container["image"].startswith(("bailo-py", "ghcr.io/example/bailo-py")) or (
                "bailo/bailo-py" in container["image"]
            ):
                assert context["readOnlyRootFilesystem"] is True, (name, container["name"])
                assert "runAsUser" not in context, (name, container["name"])
            elif context.get("runAsUser") == 0:
                # clamd's image starts as root to prepare its directory, then drops privileges.
                assert "clamav" in container["image"], (name, container["name"])
                assert set(context["capabilities"]["add"]) <= {
                    "CHOWN",
                    "SETGID",
                    "SETUID",
                    "DAC_OVERRIDE",
                }
    service_account = of_kind(render(overlay), "ServiceAccount")["bailo"]
    assert service_account["automountServiceAccountToken"] is False


def production_env(docs: tuple[dict[str, Any], ...], container: dict[str, Any]) -> dict[str, str]:
    """The environment ``container`` gets: its ConfigMaps and Secrets (the Secret's keys from
    ``SECRET_KEYS``, which must cover every key referenced) and its own ``env``."""
    config_maps = of_kind(docs, "ConfigMap")
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(config_maps[source["configMapRef"]["name"]]["data"])
        if "secretRef" in source:
            assert source["secretRef"]["name"] == "bailo-secrets"
            env.update(SECRET_KEYS)
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            assert ref["name"] == "bailo-secrets" and ref["key"] in SECRET_KEYS, item
            env[item["name"]] = SECRET_KEYS[ref["key"]]
    return env


PROBE = """
import json, django
django.setup()
from django.conf import settings
from core.ports import registry
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "redis": bool(settings.REDIS_URL),
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "blobs": settings.BLOB_STORAGE,
    "registry": registry.is_configured(),
    "debug": settings.DEBUG,
    "clamd": settings.CLAMD_HOST,
    "cache": settings.CACHES["default"]["BACKEND"],
}))
"""


@pytest.mark.parametrize("overlay", ["overlays/production", "overlays/isolated"])
def test_every_app_container_starts_in_production_mode_from_what_the_manifests_give_it(
    overlay: str,
) -> None:
    docs = render(overlay)
    checked = 0
    started: set[tuple[tuple[str, str], ...]] = set()
    for name, spec in pod_specs(docs).items():
        for container in containers(spec):
            if "bailo-py" not in container["image"]:
                continue
            env = production_env(docs, container)
            checked += 1
            # Containers given the same settings (workers differ only in their queue) start alike:
            # each distinct environment is started once.
            key = tuple(sorted((k, v) for k, v in env.items() if k != "CELERY_QUEUES"))
            if key in started:
                continue
            started.add(key)
            clean = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
            result = subprocess.run(
                [sys.executable, "-c", PROBE],
                env={
                    **clean,
                    **env,
                    "BAILO_ENV_FILE": "none",
                    "DJANGO_SETTINGS_MODULE": "bailo_site.settings",
                },
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert result.returncode == 0, f"{name}/{container['name']}: {result.stderr[-2000:]}"
            seen = json.loads(result.stdout.strip().splitlines()[-1])
            assert seen == {
                "engine": "core.postgresql",
                "redis": True,
                "eager": False,
                "blobs": "s3",
                "registry": True,
                "debug": False,
                "clamd": "127.0.0.1",
                # Shared by every process: token checks, throttles, registry answers.
                "cache": "core.cache.RedisCache",
            }, f"{name}/{container['name']}"
    assert checked >= 8 and started


def test_every_celery_queue_has_a_worker_and_every_worker_a_queue() -> None:
    from bailo_site.celery import app

    queues = {queue.name for queue in app.conf.task_queues}
    for overlay in OVERLAYS:
        served: set[str] = set()
        for name, deployment in of_kind(render(overlay), "Deployment").items():
            if not name.startswith("bailo-worker-"):
                continue
            [worker] = [
                c
                for c in deployment["spec"]["template"]["spec"]["containers"]
                if c["name"] == "worker"
            ]
            assert worker["args"][0] == "worker"
            [value] = [e["value"] for e in worker["env"] if e["name"] == "CELERY_QUEUES"]
            assert value.split(",") == [name.removeprefix("bailo-worker-")]
            served |= set(value.split(","))
        assert served == queues, overlay
    # The entrypoint passes CELERY_QUEUES to the worker.
    entrypoint = (ROOT / "deploy" / "docker-entrypoint.sh").read_text()
    assert '-Q "${CELERY_QUEUES:-default,scans,purge,webhooks,mirroring}"' in entrypoint
    assert ",".join(sorted(queues)) == ",".join(
        sorted(["default", "scans", "purge", "webhooks", "mirroring"])
    )


def test_ports_probes_services_and_the_ingress_agree_with_the_app() -> None:
    from django.urls import resolve

    from core.views import not_found

    entrypoint = (ROOT / "deploy" / "docker-entrypoint.sh").read_text()
    [bind_port] = re.findall(r"--bind 0\.0\.0\.0:(\d+)", entrypoint)
    for overlay in OVERLAYS:
        docs = render(overlay)
        deployments = of_kind(docs, "Deployment")
        services = of_kind(docs, "Service")
        web = deployments["bailo-web"]["spec"]["template"]["spec"]["containers"][0]
        ports = {p["name"]: p["containerPort"] for p in web["ports"]}
        assert ports == {"http": int(bind_port)}
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            path = web[probe]["httpGet"]["path"]
            assert web[probe]["httpGet"]["port"] == "http"
            # An unknown path under /api/ reaches the JSON catch-all: that is not serving it.
            assert resolve(path).func is not not_found, path
        # Each Service selects a Deployment whose pods name the target port.
        for name, service in services.items():
            selector = service["spec"]["selector"]
            [target] = [
                d
                for d in deployments.values()
                if d["spec"]["template"]["metadata"]["labels"].items() >= selector.items()
            ]
            named = {
                p["name"]
                for c in target["spec"]["template"]["spec"]["containers"]
                for p in c.get("ports", [])
            }
            for port in service["spec"]["ports"]:
                assert port["targetPort"] in named, (name, port)
        # The ingress sends /v2/ to the registry and the rest to the web pods.
        [ingress] = of_kind(docs, "Ingress").values()
        paths = {
            p["path"]: (p["backend"]["service"]["name"], p["backend"]["service"]["port"]["name"])
            for rule in ingress["spec"]["rules"]
            for p in rule["http"]["paths"]
        }
        assert paths == {"/v2/": ("bailo-registry", "registry"), "/": ("bailo-web", "http")}
        for service_name, port_name in paths.values():
            assert port_name in {p["name"] for p in services[service_name]["spec"]["ports"]}


def test_the_registry_trusts_the_tokens_the_app_signs() -> None:
    from django.urls import reverse

    for overlay in OVERLAYS:
        docs = render(overlay)
        config = of_kind(docs, "ConfigMap")
        app = config["bailo-config"]["data"]
        registry = yaml.safe_load(config["bailo-registry-config"]["data"]["config.yml"])
        token = registry["auth"]["token"]
        assert token["realm"] == app["BAILO_PUBLIC_URL"] + reverse("registry-auth")
        assert token["service"] == app["REGISTRY_SERVICE"]
        assert token["issuer"] == app["REGISTRY_ISSUER"]
        assert token["rootcertbundle"] == app["REGISTRY_TOKEN_CERT_FILE"]
        assert registry["storage"]["s3"]["bucket"] == app["S3_BUCKET_REGISTRY"]
        assert registry["storage"]["s3"]["regionendpoint"] == app["S3_ENDPOINT"]
        assert app["REGISTRY_URL"] == "http://bailo-registry:5000"


def test_the_isolated_overlay_pulls_every_image_from_the_internal_registry() -> None:
    docs = render("overlays/isolated")
    images = {
        container["image"] for spec in pod_specs(docs).values() for container in containers(spec)
    }
    assert len(images) == 3
    assert all(image.startswith("registry.internal.example/") for image in images), images
    scans = of_kind(docs, "Deployment")["bailo-worker-scans"]["spec"]["template"]["spec"]
    [clamd] = [c for c in scans["containers"] if c["name"] == "clamd"]
    assert {"name": "CLAMAV_NO_FRESHCLAMD", "value": "true"} in clamd["env"]
    [init] = scans["initContainers"]
    assert init["command"][0] == "freshclam"
    conf = next(
        iter(
            of_kind(docs, "ConfigMap")[n]
            for n in of_kind(docs, "ConfigMap")
            if n.startswith("bailo-clamav-mirror")
        )
    )
    assert "PrivateMirror http://clamav-mirror.internal.example" in conf["data"]["freshclam.conf"]
