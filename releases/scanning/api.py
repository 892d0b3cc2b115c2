"""The v2 API for file scanning: Bailo's paths and JSON shapes."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from core.api_helpers import documented
from core.openapi import answer, listing, string
from models_app.policy import Actor
from releases.scanning.services import file_rescan, filescanning_info, image_rescan

router = Router(tags=["filescanning"])


_STARTED = answer("status", string())


@router.get(
    "/filescanning/info",
    summary="The file scanners this instance runs",
    openapi_extra=documented(listing("scanners")),
)
def get_filescanning_info(request: HttpRequest) -> dict[str, Any]:
    return filescanning_info()


@router.put(
    "/filescanning/model/{model_id}/file/{file_id}/scan",
    summary="Scan a file again",
    openapi_extra=documented(_STARTED),
)
def put_file_scan(request: HttpRequest, model_id: str, file_id: str) -> dict[str, Any]:
    file_rescan(actor=Actor.from_request(request), model_id=model_id, file_id=file_id)
    return {"status": "Scan started"}


@router.put(
    "/filescanning/model/{model_id}/image/{name}/{tag}/scan",
    summary="Scan an image again",
    openapi_extra=documented(_STARTED, {501: "Images are not scanned by this instance"}),
)
def put_image_scan(request: HttpRequest, model_id: str, name: str, tag: str) -> dict[str, Any]:
    image_rescan(actor=Actor.from_request(request), model_id=model_id, name=name, tag=tag)
    return {"status": "Scan started"}  # pragma: no cover - 501 until image scanning exists
