"""The Files tab of an entry: list, download, upload (resumable with JavaScript), rename, retag.

With JavaScript, ``static/js/uploader.js`` sends each file in parts through the multipart API,
with a progress bar per file, retries and resume. Without it, the form posts to ``files_upload``:
Django's multipart parser spools each file above ``FILE_UPLOAD_MAX_MEMORY_SIZE`` to a temporary
file before the view runs, which is accepted for this fallback only; the bytes then stream from
there into storage like any simple upload.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_POST

from core.errors import BadRequest, BailoError, NotFound
from models_app.frame import (
    MODEL_KINDS,
    entry_context,
    entry_page,
    error_page,
    load_entry,
)
from models_app.models import Model
from models_app.policy import Action, Actor, allowed
from releases.files import services as file_services
from releases.files.downloads import download_response
from releases.files.selectors import file_get, files_of, finding_count, worst_scan_state


def render_files(
    request: HttpRequest,
    model: Model,
    *,
    status: int = 200,
    upload_error: str = "",
    edit_errors: dict[str, str] | None = None,
) -> HttpResponse:
    actor = Actor.from_request(request)
    edit_errors = edit_errors or {}
    rows = [
        {
            "file": f,
            "scan_state": worst_scan_state(f),
            "findings": finding_count(f),
            "edit_error": edit_errors.get(f.pk, ""),
        }
        for f in files_of(actor, model)
    ]
    context: dict[str, Any] = {
        **entry_context(request, model, tab="files"),
        "rows": rows,
        "can_upload": allowed(actor, Action.FILE_UPLOAD, model),
        "can_download": allowed(actor, Action.FILE_DOWNLOAD, model),
        "can_delete_file": allowed(actor, Action.FILE_DELETE, model),
        "upload_error": upload_error,
        "tags_value": request.POST.get("tags", "") if request.method == "POST" else "",
    }
    return render(request, "releases/files.html", context, status=status)


@require_GET
@entry_page
def files_page(request: HttpRequest, model_id: str) -> HttpResponse:
    model = load_entry(request, model_id, Action.FILE_VIEW)
    if model.kind not in MODEL_KINDS:
        raise NotFound("Data cards have no files")
    return render_files(request, model)


@require_POST
@entry_page
def files_upload(request: HttpRequest, model_id: str) -> HttpResponse:
    """The upload form without JavaScript: each chosen file as a simple upload."""
    model = load_entry(request, model_id, Action.FILE_UPLOAD)
    uploaded = request.FILES.getlist("files")
    try:
        if not uploaded:
            raise BadRequest("Choose at least one file to upload")
        names = []
        for item in uploaded:
            file = file_services.file_upload_simple(
                actor=Actor.from_request(request),
                model=model,
                name=item.name,
                mime=item.content_type,
                tags=request.POST.get("tags", ""),
                stream=item.chunks(),
                length=item.size,
            )
            names.append(file.name)
    except BailoError as exc:
        return render_files(request, model, status=exc.status, upload_error=exc.message)
    messages.success(request, f"Uploaded {', '.join(names)}.")
    return redirect("entry-files", model_id=model.pk)


@require_POST
@entry_page
def file_edit(request: HttpRequest, model_id: str, file_id: str) -> HttpResponse:
    model = load_entry(request, model_id, Action.FILE_VIEW)
    file = file_get(model, file_id)
    if file is None:
        raise NotFound(f"File {file_id} not found")
    try:
        file_services.file_update(
            actor=Actor.from_request(request),
            file=file,
            changes={"name": request.POST.get("name"), "tags": request.POST.get("tags", "")},
        )
    except BailoError as exc:
        if exc.status in {403, 404}:
            raise
        return render_files(request, model, status=exc.status, edit_errors={file.pk: exc.message})
    messages.success(request, f"Saved the changes to {file.name}.")
    return redirect("entry-files", model_id=model.pk)


@require_GET
@login_required
def file_download(request: HttpRequest, model_id: str, file_id: str) -> HttpResponseBase:
    """The same streamed download as the API, with refusals shown as pages."""
    try:
        model = load_entry(request, model_id, Action.FILE_VIEW)
        file = file_get(model, file_id)
        if file is None:
            raise NotFound(f"File {file_id} not found")
        return download_response(request=request, actor=Actor.from_request(request), file=file)
    except BailoError as exc:
        return error_page(request, exc)


urlpatterns = [
    path("model/<str:model_id>/files", files_page, name="entry-files"),
    path("model/<str:model_id>/files/upload", files_upload, name="files-upload"),
    path("model/<str:model_id>/file/<str:file_id>/edit", file_edit, name="file-edit"),
    path("model/<str:model_id>/file/<str:file_id>/download", file_download, name="file-download"),
]
