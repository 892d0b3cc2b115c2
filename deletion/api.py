"""The v2 API's deletions: an entry, a file, a release and an image tag, at Bailo's paths.

Those paths belong to routers of the features below (``DELETE /model/{id}`` sits beside
``GET /model/{id}``), and one path must be one route, so ``add_routes`` (called from
``DeletionConfig.ready()``) adds these operations to the routers that own the paths.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from ninja import Router

from core.api_helpers import documented
from core.errors import NotFound
from core.openapi import MESSAGE
from deletion.artefacts import file_delete, image_delete, release_delete
from deletion.services import model_delete
from models_app.policy import Action, Actor, get_model_for
from releases.files.selectors import file_get


def delete_model(request: HttpRequest, model_id: str) -> dict[str, Any]:
    """Delete an entry and everything under it (owners). The official client sends no name to
    confirm with: the explicit ``DELETE`` request is the confirmation."""
    model_delete(actor=Actor.from_request(request), model_id=model_id, confirm=False)
    return {"message": "Successfully removed model."}


def delete_file(request: HttpRequest, model_id: str, file_id: str) -> dict[str, Any]:
    """Soft-delete a file (owners and contributors). An unknown file is 404 for anyone who can
    see the entry, before their role is asked about."""
    actor = Actor.from_request(request)
    model = get_model_for(actor, model_id, Action.FILE_VIEW)
    if file_get(model, file_id) is None:
        raise NotFound(f"File {file_id} not found", {"fileId": file_id, "modelId": model.pk})
    file_delete(actor=actor, model_id=model.pk, file_id=file_id)
    return {"message": "Successfully removed file."}


def delete_release(request: HttpRequest, model_id: str, semver: str) -> dict[str, Any]:
    """Soft-delete a release (owners only); its semver stays taken until the purge."""
    release_delete(actor=Actor.from_request(request), model_id=model_id, semver=semver)
    return {"message": "Successfully removed release."}


def delete_image(request: HttpRequest, model_id: str, name: str, tag: str) -> dict[str, Any]:
    """Soft-delete one image tag (owners and contributors)."""
    image_delete(actor=Actor.from_request(request), model_id=model_id, name=name, tag=tag)
    return {"message": "Successfully removed image."}


# Deleting reaches the blob store or the registry (hiding what is stored there).
_STORAGE_OUTAGE = {503: "The blob store or the registry could not be reached"}


def add_routes() -> None:
    """Put each deletion beside the other operations on its path (idempotent)."""
    from models_app.api.entries import router as entries_router
    from releases.api import router as releases_router
    from releases.files.api import router as files_router
    from releases.images.api import router as images_router

    routes: list[tuple[Router, str, Callable[..., Any], str, str | None]] = [
        (entries_router, "/model/{model_id}", delete_model, "deleteModel", "Delete an entry"),
        (files_router, "/model/{model_id}/file/{file_id}", delete_file, "deleteFile", None),
        (
            releases_router,
            "/model/{model_id}/release/{semver}",
            delete_release,
            "deleteRelease",
            None,
        ),
        (
            images_router,
            "/model/{model_id}/image/{name}/{tag}",
            delete_image,
            "deleteImage",
            "Delete a tagged image",
        ),
    ]
    for router, path, view, operation_id, summary in routes:
        existing = router.path_operations.get(path)
        if existing and any(op.view_func is view for op in existing.operations):
            continue
        router.add_api_operation(
            path,
            ["DELETE"],
            view,
            operation_id=operation_id,
            summary=summary,
            openapi_extra=documented(MESSAGE, _STORAGE_OUTAGE),
        )
