"""The v2 API for releases: Bailo's paths and JSON shapes.

Handlers parse the request, call one service or selector and serialise the answer. The entry
loads through ``get_model_for``, so an unknown entry and one the caller may not see answer 404.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from core.api_helpers import documented
from core.openapi import TIMESTAMP, answer, array, component, listing, obj, string
from models_app.api.entries import read_json
from models_app.policy import Action, Actor, get_model_for
from releases.selectors import (
    parse_semver_query,
    release_get_visible,
    release_json,
    release_list_visible,
)
from releases.services import release_create, release_update

router = Router(tags=["release"])

_IMAGES = array(
    obj(
        {"repository": string(), "name": string(minLength=1), "tag": string(minLength=1)},
        required=["name", "tag"],
    )
)
_RELEASE_FIELDS: dict[str, Any] = {
    "notes": string(),
    "modelCardVersion": {"type": "integer", "minimum": 1},
    "draft": {"type": "boolean"},
    "fileIds": array(string()),
    "images": _IMAGES,
}
RELEASE = component(
    "Release",
    obj(
        {
            **_RELEASE_FIELDS,
            "modelId": string(),
            "semver": string(),
            "minor": {"type": "boolean"},
            "createdBy": string(),
            "createdAt": TIMESTAMP,
            "updatedAt": TIMESTAMP,
            "files": array(description="The release's files (one release, not the list)"),
        },
        required=["modelId", "semver", "notes", "draft", "fileIds", "images"],
    ),
)
_RELEASE = answer("release", RELEASE)
_REGISTRY_OUTAGE = {503: "The registry could not be reached to check the images"}


@router.post(
    "/model/{model_id}/releases",
    operation_id="postRelease",
    openapi_extra=documented(
        _RELEASE,
        {
            **_REGISTRY_OUTAGE,
            400: "Not a semantic version, an unknown file or image, or card version",
            409: "The entry already has (or had) a release of that version",
        },
        body=obj(
            {"semver": string(minLength=1), "minor": {"type": "boolean"}, **_RELEASE_FIELDS},
            required=["semver", "notes"],
        ),
    ),
)
def create_release(request: HttpRequest, model_id: str) -> dict[str, Any]:
    """Create a release: ``semver``, ``notes``, ``modelCardVersion`` (default: the current card),
    ``minor``, ``draft``, ``fileIds`` and ``images`` (``{repository, name, tag}``)."""
    actor = Actor.from_request(request)
    model = get_model_for(actor, model_id, Action.RELEASE_CREATE)
    body = read_json(request)
    release = release_create(
        actor=actor,
        model=model,
        semver=body.get("semver"),
        notes=body.get("notes"),
        minor=body.get("minor", False),
        draft=body.get("draft", False),
        model_card_version=body.get("modelCardVersion"),
        file_ids=body.get("fileIds", []),
        images=body.get("images", []),
    )
    fresh = release_get_visible(actor=actor, model=model, semver=release.semver)
    return {"release": release_json(fresh)}


@router.get(
    "/model/{model_id}/releases",
    operation_id="getReleases",
    openapi_extra=documented(
        listing("releases", RELEASE),
        {400: "querySemver is not a version range"},
        query={"querySemver": string(description="An npm-style range such as ^1.2")},
    ),
)
def get_releases(request: HttpRequest, model_id: str) -> dict[str, Any]:
    """The entry's releases, newest version first; ``querySemver`` takes an npm-style range
    such as ``^1.2``, ``~1.2.3``, ``>=2 <3``, ``1.x`` or ``1.0.0 - 2.0.0``."""
    actor = Actor.from_request(request)
    model = get_model_for(actor, model_id, Action.RELEASE_VIEW)
    query = parse_semver_query(request.GET.get("querySemver"))
    releases = release_list_visible(actor=actor, model=model, query=query)
    return {"releases": [release_json(r) for r in releases]}


@router.get(
    "/model/{model_id}/release/{semver}",
    operation_id="getRelease",
    openapi_extra=documented(_RELEASE),
)
def get_release(request: HttpRequest, model_id: str, semver: str) -> dict[str, Any]:
    actor = Actor.from_request(request)
    model = get_model_for(actor, model_id, Action.RELEASE_VIEW)
    release = release_get_visible(actor=actor, model=model, semver=semver)
    return {"release": release_json(release, with_files=True)}


@router.put(
    "/model/{model_id}/release/{semver}",
    operation_id="putRelease",
    openapi_extra=documented(
        _RELEASE,
        {**_REGISTRY_OUTAGE, 400: "An unknown or invalid field, or a draft asked of a release"},
        body=obj(_RELEASE_FIELDS),
    ),
)
def put_release(request: HttpRequest, model_id: str, semver: str) -> dict[str, Any]:
    """Change ``notes``, ``draft`` (publish only), ``modelCardVersion``, ``fileIds`` or
    ``images``; the version and the minor flag never change."""
    actor = Actor.from_request(request)
    model = get_model_for(actor, model_id, Action.RELEASE_EDIT)
    release = release_get_visible(actor=actor, model=model, semver=semver)
    release_update(actor=actor, release=release, changes=read_json(request))
    fresh = release_get_visible(actor=actor, model=model, semver=release.semver)
    return {"release": release_json(fresh)}
