"""Confirmation pages for deleting one file, one release or one image tag.

Each page says what goes, and holds one form whose button posts back to it; no JavaScript is
needed. The services check the permission again, so a forged post gets what a shown one would.
After the deletion the user lands on the tab the thing was listed in, with a message.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods

from core.errors import BailoError, NotFound
from core.ports import registry
from deletion import artefacts
from models_app.frame import entry_context, entry_page, load_entry
from models_app.policy import Action, Actor
from releases.files.selectors import file_get
from releases.selectors import release_get_visible


@entry_page
@require_http_methods(["GET", "HEAD", "POST"])
def file_delete_page(request: HttpRequest, model_id: str, file_id: str) -> HttpResponse:
    """GET: the releases that ship the file, and the button. POST: delete, back to Files."""
    model = load_entry(request, model_id, Action.FILE_DELETE)
    file = file_get(model, file_id)
    if file is None:
        raise NotFound(f"File {file_id} not found", {"fileId": file_id, "modelId": model.pk})
    actor = Actor.from_request(request)
    error, status = "", 200
    if request.method == "POST":
        try:
            artefacts.file_delete(actor=actor, model_id=model.pk, file_id=file.pk)
        except BailoError as exc:
            error, status = exc.message, exc.status
        else:
            messages.success(request, f"File {file.name} has been deleted.")
            return redirect("entry-files", model_id=model.pk)
    context = entry_context(request, model, tab="files")
    context.update(
        {
            "file": file,
            "releases": artefacts.file_deletion_preview(actor=actor, model=model, file=file),
            "error": error,
        }
    )
    return render(request, "deletion/file_delete.html", context, status=status)


@entry_page
@require_http_methods(["GET", "HEAD", "POST"])
def release_delete_page(request: HttpRequest, model_id: str, semver: str) -> HttpResponse:
    """GET: what goes with the release, and the button. POST: delete, back to Releases."""
    model = load_entry(request, model_id, Action.RELEASE_DELETE)
    actor = Actor.from_request(request)
    release = release_get_visible(actor=actor, model=model, semver=semver)
    error, status = "", 200
    if request.method == "POST":
        try:
            artefacts.release_delete(actor=actor, model_id=model.pk, semver=release.semver)
        except BailoError as exc:
            error, status = exc.message, exc.status
        else:
            messages.success(request, f"Release {release.semver} has been deleted.")
            return redirect("entry-releases", model_id=model.pk)
    context = entry_context(request, model, tab="releases")
    context.update({"release": release, "error": error})
    return render(request, "deletion/release_delete.html", context, status=status)


@entry_page
@require_http_methods(["GET", "HEAD", "POST"])
def image_delete_page(request: HttpRequest, model_id: str, name: str, tag: str) -> HttpResponse:
    """GET: the tag, the releases naming it, and the button. POST: delete, back to Registry."""
    model = load_entry(request, model_id, Action.IMAGE_DELETE)
    actor = Actor.from_request(request)
    error, status = "", 200
    if request.method == "POST":
        try:
            artefacts.image_delete(actor=actor, model_id=model.pk, name=name, tag=tag)
        except BailoError as exc:
            error, status = exc.message, exc.status
        else:
            messages.success(request, f"Image {name}:{tag} has been deleted.")
            return redirect("entry-registry", model_id=model.pk)
    releases = [
        release
        for release in model.releases.filter(deleted_at__isnull=True)
        if {"repository": model.pk, "name": name, "tag": tag} in release.images
    ]
    context = entry_context(request, model, tab="registry")
    context.update(
        {
            "name": name,
            "tag": tag,
            "reference": registry.repository_name(model.pk, name) + f":{tag}",
            "releases": releases,
            "error": error,
        }
    )
    return render(request, "deletion/image_delete.html", context, status=status)


urlpatterns = [
    path(
        "model/<str:model_id>/file/<str:file_id>/delete",
        file_delete_page,
        name="file-delete",
    ),
    path(
        "model/<str:model_id>/release/<str:semver>/delete",
        release_delete_page,
        name="release-delete",
    ),
    path(
        "model/<str:model_id>/image/<path:name>/<str:tag>/delete",
        image_delete_page,
        name="image-delete",
    ),
]
