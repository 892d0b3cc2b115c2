"""Inference services: reading, creating, changing and removing them, and stopping their
deployments when their entry is deleted.

The record and the deploy service must not disagree. A create, change or removal asks the deploy
service first (``core.ports.inference``) and writes only once it has agreed; if it refuses or
cannot be reached, nothing is written and the user is told why (502 or 503, in Bailo's error
shape). The create holds a lock on the entry's row while it asks, so two requests for the same
image and tag cannot both deploy it.

An entry deletion cannot wait on the deploy service: ``removals_begin`` (called by the deletion,
declared in ``deletion/cascade.py``) marks the entry's services ``REMOVING`` and queues one removal
per service once the deletion commits; ``removal_attempt`` asks the service, and a failure is
retried with backoff (``inference.tasks``) until the service confirms. A restore before that
cancels the removals (``removals_cancel``); one after it brings the services back stopped, for an
owner to deploy again (``inference_redeploy``).

Permissions are Bailo's documented ones (``models_app.policy``): anyone who can see the entry
lists and reads its services; owners and contributors create them; owners change, redeploy and
remove them.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.audit import AuditAction, audit_record
from core.errors import BadGateway, Conflict, NotFound, ServiceUnavailable, invalid
from core.ports.inference import Deployment, DeployRefused, DeployUnavailable, deployer
from inference.models import CPU, DeploymentStatus, InferenceService
from models_app.models import EntryKind, Model
from models_app.policy import Action, Actor, get_model_for
from models_app.selectors import iso
from releases.images.services import tag_of

log = logging.getLogger(__name__)

INFERENCE_KINDS = frozenset({EntryKind.MODEL.value, EntryKind.MIRRORED_MODEL.value})
MAX_DESCRIPTION = 5000
# Bailo's form offers 1-8 GB for a CPU service.
MEMORY_RANGE = (1, 8)
MAX_SERVICES_PER_MODEL = 50
# A service's image is one path component (Bailo's route has one segment for it): an image
# named with a slash cannot be deployed.
_IMAGE = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
# Removal retries after a deletion: 1 min, 2, 4 ... at most an hour apart, with jitter.
RETRY_FIRST = timedelta(minutes=1)
RETRY_MAX = timedelta(hours=1)


def inference_enabled() -> bool:
    return bool(getattr(settings, "INFERENCE_ENABLED", False))


def require_enabled() -> None:
    """Bailo registers the inference routes only when ``ui.inference.enabled``; here they answer
    404 with a reason while the setting is off."""
    if not inference_enabled():
        raise NotFound("Inference services are not enabled on this instance")


# --- input ----------------------------------------------------------------------------------------


def processor_types() -> list[str]:
    """What ``settings.processorType`` may be: ``cpu``, then the configured GPU types."""
    return [CPU, *getattr(settings, "INFERENCE_GPUS", [])]


def _clean_image(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid("image", "is required: the name of one of the model's registry images")
    image = value.strip()
    if len(image) > 200 or not _IMAGE.fullmatch(image):
        raise invalid(
            "image", "must be an image name without '/' (lower-case letters, digits, . _ -)"
        )
    return image


def _clean_tag(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid("tag", "is required: the image's tag")
    tag = value.strip()
    if not _TAG.fullmatch(tag):
        raise invalid("tag", "is not a valid image tag")
    return tag


def _clean_description(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid("description", "must be text")
    if len(value) > MAX_DESCRIPTION:
        raise invalid("description", f"must be at most {MAX_DESCRIPTION} characters")
    if "\x00" in value:
        raise invalid("description", "must not contain NUL characters")
    return value.strip()


def _whole_number(value: Any, prop: str) -> int:
    # JSON numbers only (not strings, not booleans); 8.0 is 8, 8.5 is refused.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(prop, "must be a whole number")
    if isinstance(value, float) and not value.is_integer():
        raise invalid(prop, "must be a whole number")
    return int(value)


def clean_settings(value: Any) -> dict[str, Any]:
    """Bailo's ``settings``: ``processorType`` (``cpu`` or a configured GPU type), ``port``
    (1-65535) and ``memory`` in GB (1-8, required for ``cpu`` and refused otherwise)."""
    if not isinstance(value, dict):
        raise invalid("settings", "is required: {processorType, port, memory?}")
    processor = value.get("processorType")
    offered = processor_types()
    if not isinstance(processor, str) or processor not in offered:
        raise invalid("settings.processorType", f"must be one of: {', '.join(offered)}")
    if "port" not in value:
        raise invalid("settings.port", "is required")
    port = _whole_number(value["port"], "settings.port")
    if not 1 <= port <= 65535:
        raise invalid("settings.port", "must be between 1 and 65535")
    memory = value.get("memory")
    if processor == CPU:
        if memory is None:
            raise invalid("settings.memory", "is required for a cpu service (GB)")
        memory = _whole_number(memory, "settings.memory")
        low, high = MEMORY_RANGE
        if not low <= memory <= high:
            raise invalid("settings.memory", f"must be between {low} and {high} GB")
    elif memory is not None:
        raise invalid("settings.memory", "is set only for cpu services")
    return {"processor_type": processor, "port": port, "memory": memory}


# --- reads ----------------------------------------------------------------------------------------


def inference_json(service: InferenceService) -> dict[str, Any]:
    """Bailo's shape, plus ``status`` (running, removing, removed)."""
    body: dict[str, Any] = {
        "modelId": service.model_id,
        "image": service.image,
        "tag": service.tag,
        "description": service.description,
        "settings": {"processorType": service.processor_type, "port": service.port},
        "createdBy": service.created_by.get_username() if service.created_by else "",
        "status": service.status,
        "createdAt": iso(service.created_at),
        "updatedAt": iso(service.updated_at),
    }
    if service.memory is not None:
        body["settings"]["memory"] = service.memory
    return body


def require_inference_kind(model: Model) -> None:
    if model.kind not in INFERENCE_KINDS:
        raise NotFound(f"Data cards have no inference services: {model.pk}", {"modelId": model.pk})


def _entry(actor: Actor, model_id: str, action: Action) -> Model:
    require_enabled()
    model = get_model_for(actor, model_id, action)
    require_inference_kind(model)
    return model


def services_of(model: Model) -> QuerySet[InferenceService]:
    return InferenceService.objects.filter(model=model).select_related("created_by")


def inference_list(*, actor: Actor, model_id: str) -> list[InferenceService]:
    model = _entry(actor, model_id, Action.INFERENCE_VIEW)
    return list(services_of(model))


def service_of(model: Model, image: str, tag: str) -> InferenceService:
    """One live service of ``model``; 404 when it has none for ``image:tag``."""
    service = services_of(model).filter(image=image, tag=tag).first()
    if service is None:
        raise NotFound(
            f"The inference service {image}:{tag} was not found",
            {"modelId": model.pk, "image": image, "tag": tag},
        )
    service.model = model
    return service


def inference_get(*, actor: Actor, model_id: str, image: str, tag: str) -> InferenceService:
    return service_of(_entry(actor, model_id, Action.INFERENCE_VIEW), image, tag)


# --- the deploy service ---------------------------------------------------------------------------


def _deployment(model_id: str, image: str, tag: str, port: int) -> Deployment:
    return Deployment(model_id=model_id, image=image, tag=tag, port=port)


def _ask(call: Callable[[Deployment], None], deployment: Deployment) -> None:
    """Run one call to the deploy service; its failure as the error users see."""
    try:
        call(deployment)
    except DeployUnavailable as exc:
        raise ServiceUnavailable(f"{exc}; nothing was changed, try again later") from exc
    except DeployRefused as exc:
        raise BadGateway(f"{exc}; nothing was changed", {"serviceStatus": exc.status}) from exc


# --- writes ---------------------------------------------------------------------------------------


def _check_image(model: Model, image: str, tag: str) -> None:
    """404 unless ``image:tag`` is in the entry's registry repository; 503 when the registry
    cannot be asked. (Asked for the entry, not the caller: deploying needs no image token.)"""
    if tag_of(model, image, tag) is None:
        raise NotFound(
            f"Image {model.pk}/{image}:{tag} not found",
            {"modelId": model.pk, "image": image, "tag": tag},
        )


def inference_create(*, actor: Actor, model_id: str, fields: dict[str, Any]) -> InferenceService:
    """Deploy ``image:tag`` of the entry and record it: ``{image, tag, description,
    settings{processorType, port, memory?}}``. The image must exist in the entry's registry
    repository."""
    model = _entry(actor, model_id, Action.INFERENCE_CREATE)
    image = _clean_image(fields.get("image"))
    tag = _clean_tag(fields.get("tag"))
    description = _clean_description(fields.get("description"))
    chosen = clean_settings(fields.get("settings"))
    _check_image(model, image, tag)
    with transaction.atomic():
        # Serialises creates on the entry: the duplicate check and the deploy call see each other.
        Model.objects.select_for_update().filter(pk=model.pk).first()
        live = InferenceService.objects.filter(model=model)
        if live.filter(image=image, tag=tag).exists():
            raise Conflict(
                f"A service for {image}:{tag} already exists on this model",
                {"modelId": model.pk, "image": image, "tag": tag},
            )
        if live.count() >= MAX_SERVICES_PER_MODEL:
            raise Conflict(f"A model may have at most {MAX_SERVICES_PER_MODEL} inference services")
        deployment = _deployment(model.pk, image, tag, chosen["port"])
        port = deployer()
        _ask(port.deploy, deployment)
        try:
            with transaction.atomic():
                service = InferenceService.objects.create(
                    model=model,
                    image=image,
                    tag=tag,
                    description=description,
                    created_by=actor.user if actor.user.is_authenticated else None,
                    **chosen,
                )
        except IntegrityError as exc:
            _undo_deploy(port.remove, deployment)
            raise Conflict(f"A service for {image}:{tag} already exists on this model") from exc
        except BaseException:
            _undo_deploy(port.remove, deployment)
            raise
        audit_record(
            action=AuditAction.INFERENCE_CREATE,
            actor=actor.user,
            subject=model.pk,
            detail={"image": image, "tag": tag},
        )
    service.model = model
    return service


def _undo_deploy(remove: Callable[[Deployment], None], deployment: Deployment) -> None:
    """The record could not be written after the deploy service deployed: take it back."""
    try:
        remove(deployment)
    except Exception:  # logged: the original failure is the one to report
        log.exception("Could not remove %s after its record failed to save", deployment)


def inference_update(
    *, actor: Actor, model_id: str, image: str, tag: str, fields: dict[str, Any]
) -> InferenceService:
    """Change a service's ``description`` and ``settings`` (its image and tag are its identity).
    A running service is updated on the deploy service first; a stopped one (restored after a
    deletion) is only re-recorded, for its next deploy."""
    model = _entry(actor, model_id, Action.INFERENCE_EDIT)
    service = service_of(model, image, tag)
    description = _clean_description(fields.get("description", service.description))
    chosen = clean_settings(fields.get("settings"))
    with transaction.atomic():
        locked = InferenceService.objects.select_for_update().get(pk=service.pk)
        if locked.status == DeploymentStatus.RUNNING:
            _ask(deployer().update, _deployment(model.pk, image, tag, chosen["port"]))
        locked.description = description
        for name, value in chosen.items():
            setattr(locked, name, value)
        locked.save()
        audit_record(
            action=AuditAction.INFERENCE_UPDATE,
            actor=actor.user,
            subject=model.pk,
            detail={"image": image, "tag": tag},
        )
    locked.model = model
    locked.created_by = service.created_by
    return locked


def inference_redeploy(*, actor: Actor, model_id: str, image: str, tag: str) -> InferenceService:
    """Deploy again a service that a deletion stopped (its entry was restored since)."""
    model = _entry(actor, model_id, Action.INFERENCE_EDIT)
    service = service_of(model, image, tag)
    with transaction.atomic():
        locked = InferenceService.objects.select_for_update().get(pk=service.pk)
        if locked.status != DeploymentStatus.REMOVED:
            raise Conflict(f"The service {image}:{tag} is already running")
        _ask(deployer().deploy, _deployment(model.pk, image, tag, locked.port))
        locked.status = DeploymentStatus.RUNNING
        locked.removal_attempts = 0
        locked.removal_error = ""
        locked.save(update_fields=["status", "removal_attempts", "removal_error", "updated_at"])
        audit_record(
            action=AuditAction.INFERENCE_CREATE,
            actor=actor.user,
            subject=model.pk,
            detail={"image": image, "tag": tag, "redeploy": True},
        )
    locked.model = model
    locked.created_by = service.created_by
    return locked


def inference_delete(*, actor: Actor, model_id: str, image: str, tag: str) -> InferenceService:
    """Stop the service on the deploy service, then remove its record (a stopped one only
    loses its record)."""
    model = _entry(actor, model_id, Action.INFERENCE_DELETE)
    service = service_of(model, image, tag)
    with transaction.atomic():
        locked = InferenceService.objects.select_for_update().get(pk=service.pk)
        if locked.status == DeploymentStatus.RUNNING:
            _ask(deployer().remove, _deployment(model.pk, image, tag, locked.port))
        locked.delete()
        audit_record(
            action=AuditAction.INFERENCE_DELETE,
            actor=actor.user,
            subject=model.pk,
            detail={"image": image, "tag": tag},
        )
    service.model = model
    return service


# --- an entry's deletion and restore --------------------------------------------------------------


def removals_begin(deletion: Any, *, queue: Callable[[list[int]], None]) -> int:
    """Within an entry deletion's transaction, after its rows were hidden: mark the services the
    deletion hid ``REMOVING`` (the running ones) and have ``queue`` called with their ids once the
    deletion commits. Returns how many."""
    rows = InferenceService.all_objects.filter(deletion=deletion, status=DeploymentStatus.RUNNING)
    ids = list(rows.values_list("pk", flat=True))
    if ids:
        InferenceService.all_objects.filter(pk__in=ids).update(
            status=DeploymentStatus.REMOVING,
            removal_attempts=0,
            removal_error="",
            removal_due_at=timezone.now(),
        )
        transaction.on_commit(lambda: queue(ids), robust=True)
    return len(ids)


def removals_cancel(deletion: Any) -> int:
    """Within a restore's transaction, before its rows come back: a service whose removal has not
    happened yet is still running, so it stays running. (A removal in progress holds the row's
    lock; this waits for it and then sees its outcome.) Returns how many."""
    rows = InferenceService.all_objects.select_for_update().filter(
        deletion=deletion, status=DeploymentStatus.REMOVING
    )
    ids = list(rows.values_list("pk", flat=True))
    InferenceService.all_objects.filter(pk__in=ids).update(
        status=DeploymentStatus.RUNNING, removal_due_at=None, removal_error=""
    )
    return len(ids)


def retry_delay(attempts: int) -> timedelta:
    """How long after its ``attempts``-th failure a removal is tried again (jittered)."""
    base = min(RETRY_FIRST * (2 ** max(attempts - 1, 0)), RETRY_MAX)
    return base * random.uniform(0.8, 1.2)


def removal_attempt(service_id: int) -> datetime | None:
    """Ask the deploy service to remove one hidden service's deployment. Returns when to try
    again (None: done, or nothing to do)."""
    with transaction.atomic():
        service = (
            InferenceService.all_objects.select_for_update()
            .filter(pk=service_id, status=DeploymentStatus.REMOVING, deleted_at__isnull=False)
            .first()
        )
        if service is None:
            return None
        deployment = _deployment(service.model_id, service.image, service.tag, service.port)
        try:
            deployer().remove(deployment)
        except DeployRefused as exc:
            if exc.status != 404:  # 404: the service no longer knows it, which is the goal
                return _removal_failed(service, str(exc))
        except DeployUnavailable as exc:
            return _removal_failed(service, str(exc))
        service.status = DeploymentStatus.REMOVED
        service.removal_due_at = None
        service.removal_error = ""
        service.removal_attempts += 1
        service.save(
            update_fields=["status", "removal_due_at", "removal_error", "removal_attempts"]
        )
        log.info("Removed inference service %s after its model was deleted", service)
        return None


def _removal_failed(service: InferenceService, error: str) -> datetime:
    service.removal_attempts += 1
    service.removal_error = error[:500]
    service.removal_due_at = timezone.now() + retry_delay(service.removal_attempts)
    service.save(update_fields=["removal_attempts", "removal_error", "removal_due_at"])
    log.warning(
        "Removing inference service %s failed (attempt %d): %s",
        service,
        service.removal_attempts,
        error,
    )
    return service.removal_due_at


def removals_due(now: datetime | None = None) -> list[int]:
    """The pending removals whose next attempt is due (or whose task was lost)."""
    return list(
        InferenceService.all_objects.filter(
            status=DeploymentStatus.REMOVING, removal_due_at__lte=now or timezone.now()
        ).values_list("pk", flat=True)
    )


def removals_abandon(deletion: Any) -> int:
    """In the purge of an entry deletion, before the rows go: a removal still pending after the
    whole retention is given up, and each is logged as an error for administrators to stop by
    hand. Returns how many."""
    pending = list(removals_pending(deletion))
    for service in pending:
        log.error(
            "Purging %s while its removal from the inference service is still pending after %d "
            "attempts (last error: %s); stop it on the inference service by hand",
            service,
            service.removal_attempts,
            service.removal_error or "none",
        )
    return len(pending)


def removals_pending(deletion: Any) -> QuerySet[InferenceService]:
    """A deletion's services whose removal the deploy service has not confirmed yet."""
    return InferenceService.all_objects.filter(deletion=deletion, status=DeploymentStatus.REMOVING)
