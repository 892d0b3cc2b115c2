"""Reading an entry's container images, with the permission policy in front of the registry port.

Images are not rows: they live in the registry as ``<modelId>/<name>:<tag>``. Every function here
checks the actor first, then asks ``core.ports.registry``; a registry that is down is a 503 with the
reason, never a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from core.errors import BailoError, NotFound
from core.ports import registry
from models_app.models import EntryKind, Model
from models_app.policy import Action, Actor, check, get_model_for

log = logging.getLogger(__name__)

REGISTRY_KINDS = frozenset({EntryKind.MODEL.value, EntryKind.MIRRORED_MODEL.value})


class RegistryDown(BailoError):
    status = 503


def _read(model: Model, reader: Any, *args: Any) -> Any:
    try:
        return reader(model.pk, *args)
    except registry.RegistryUnavailable as exc:
        # The details (internal addresses) go to the log; users get the gist.
        log.warning("Registry read for %s failed: %s", model.pk, exc)
        raise RegistryDown(
            "The image registry could not be read; try again later", {"modelId": model.pk}
        ) from exc


def image_json(model: Model, image: dict[str, Any]) -> dict[str, Any]:
    """Bailo's image shape (``repository``, ``name``, ``tags`` as strings) plus each tag's
    digest, size and build time under ``tagDetails``."""
    return {
        "repository": model.pk,
        "name": image["name"],
        "tags": [t["tag"] for t in image["tags"]],
        "tagDetails": image["tags"],
    }


def image_list(*, actor: Actor, model: Model) -> list[dict[str, Any]]:
    """The entry's images (empty without a registry, or for entries that hold none)."""
    check(actor, Action.IMAGE_VIEW, model)
    if model.kind not in REGISTRY_KINDS or not registry.is_configured():
        return []
    return [image_json(model, image) for image in _read(model, registry.list_images)]


def image_list_for(*, actor: Actor, model_id: str) -> list[dict[str, Any]]:
    return image_list(actor=actor, model=get_model_for(actor, model_id, Action.IMAGE_VIEW))


def tag_of(model: Model, name: str, tag: str) -> dict[str, Any] | None:
    """One tag of the entry's image, or None; no permission check (callers make their own).
    503 when the registry cannot be read."""
    if model.kind not in REGISTRY_KINDS or not registry.is_configured():
        return None
    found: dict[str, Any] | None = _read(model, registry.get_tag, name, tag)
    return found


def image_get(*, actor: Actor, model_id: str, name: str, tag: str) -> dict[str, Any]:
    model = get_model_for(actor, model_id, Action.IMAGE_VIEW)
    found = tag_of(model, name, tag)
    if found is None:
        raise NotFound(
            f"Image {model_id}/{name}:{tag} not found",
            {"modelId": model_id, "name": name, "tag": tag},
        )
    return {"repository": model.pk, "name": name, **found}
