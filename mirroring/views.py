"""Mirroring pages: the "Mirrored models" settings section's two forms (destination model id;
export) and a mirrored model's Transfers page with Retry for failed artefacts.

Everything works without JavaScript: each action is a POST form that redirects back
(post/redirect/get) with a message saying what happened or what was wrong.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from core.errors import BadRequest, BailoError
from mirroring import exports, selectors, tasks
from models_app.frame import entry_context, entry_page, load_entry
from models_app.models import EntryKind
from models_app.policy import Action, Actor, allowed
from models_app.services import model_update


def _section_url(model_id: str) -> str:
    return reverse("entry-settings", kwargs={"model_id": model_id}) + "#mirrored-models"


@entry_page
@require_POST
def mirror_destination(request: HttpRequest, model_id: str) -> HttpResponse:
    model = load_entry(request, model_id, Action.MODEL_EDIT_SETTINGS)
    destination = request.POST.get("destinationModelId", "").strip()
    try:
        model_update(
            actor=Actor.from_request(request),
            model=model,
            changes={"settings": {"mirror": {"destinationModelId": destination}}},
        )
    except BailoError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The destination model id was saved.")
    return redirect(_section_url(model.pk))


@entry_page
@require_POST
def mirror_export(request: HttpRequest, model_id: str) -> HttpResponse:
    model = load_entry(request, model_id, Action.MODEL_EXPORT)
    try:
        export = exports.export_start(
            actor=Actor.from_request(request),
            model=model,
            disclaimer=request.POST.get("disclaimerAgreement") == "on",
            semvers=request.POST.getlist("semvers"),
        )
    except BailoError as exc:
        messages.error(request, exc.message)
    else:
        tasks.queue_export(export.pk)
        messages.success(request, f"Successfully started export upload ({export.pk}).")
    return redirect(_section_url(model.pk))


@entry_page
def entry_transfers(request: HttpRequest, model_id: str) -> HttpResponse:
    model = load_entry(request, model_id, Action.MODEL_VIEW)
    actor = Actor.from_request(request)
    context = entry_context(request, model, tab="settings")
    context.update(
        {
            "transfers": [selectors.transfer_json(t) for t in selectors.transfer_list(model=model)],
            "can_retry": model.kind == EntryKind.MIRRORED_MODEL
            and allowed(actor, Action.MODEL_IMPORT, model),
        }
    )
    return render(request, "mirroring/transfers.html", context)


@entry_page
@require_POST
def transfer_retry(request: HttpRequest, model_id: str, export_id: str) -> HttpResponse:
    model = load_entry(request, model_id, Action.MODEL_IMPORT)
    actor = Actor.from_request(request)
    key = request.POST.get("key") or None
    try:
        transfer = selectors.transfer_get(actor=actor, export_id=export_id)
        if transfer.model_id != model.pk:
            raise BadRequest("That transfer is not this model's")
        tasks.retry_failed(actor=actor, transfer=transfer, key=key)
    except BailoError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The failed artefacts were queued again.")
    return redirect(reverse("entry-transfers", kwargs={"model_id": model.pk}))


urlpatterns = [
    path(
        "model/<str:model_id>/settings/mirror/destination",
        mirror_destination,
        name="mirror-destination",
    ),
    path("model/<str:model_id>/settings/mirror/export", mirror_export, name="mirror-export"),
    path("model/<str:model_id>/transfers", entry_transfers, name="entry-transfers"),
    path(
        "model/<str:model_id>/transfers/<str:export_id>/retry",
        transfer_retry,
        name="transfer-retry",
    ),
]
