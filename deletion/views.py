"""Deletion pages: the confirmation page for deleting an entry, and the preview the dialog loads.

The entry's settings page shows a "Deletion" section (registered in ``apps.py``) whose
"Delete Model" button opens a dialog; without JavaScript the same button is a link to
``/model/<id>/delete``, which holds the same form. Both post here; the service checks the
permission and the typed name again, so a forged request gets exactly what a shown one would.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods

from core.errors import BadRequest
from deletion import services
from models_app.frame import entry_context, entry_page, load_entry
from models_app.models import EntryKind, Model
from models_app.policy import Action, Actor


def deleted_message(model: Model) -> str:
    """The message shown on the home page once the entry is gone."""
    noun = "Data card" if model.kind == EntryKind.DATA_CARD else "Model"
    return f"{noun} {model.name} has been deleted."


def _preview_context(request: HttpRequest, model: Model) -> dict[str, Any]:
    preview = services.model_deletion_preview(actor=Actor.from_request(request), model=model)
    return {"preview": preview}


@entry_page
@require_http_methods(["GET", "HEAD", "POST"])
def model_delete_page(request: HttpRequest, model_id: str) -> HttpResponse:
    """GET: what will go and the confirmation form. POST: delete, then go home with a message."""
    model = load_entry(request, model_id, Action.MODEL_DELETE)
    status = 200
    error = ""
    typed = ""
    if request.method == "POST":
        typed = request.POST.get("confirm_name", "")
        try:
            services.model_delete(
                actor=Actor.from_request(request),
                model_id=model.pk,
                confirm_name=request.POST.get("confirm_name"),
            )
        except BadRequest as exc:
            # A wrong name: the page again with the error; refusals (403/404) leave through
            # ``entry_page`` as their error pages.
            error, status = exc.message, exc.status
        else:
            messages.success(request, deleted_message(model))
            return redirect("home")
    context = entry_context(request, model, tab="settings")
    context.update(_preview_context(request, model))
    context.update({"error": error, "typed": typed})
    return render(request, "deletion/model_delete.html", context, status=status)


@entry_page
@require_http_methods(["GET", "HEAD"])
def model_delete_preview(request: HttpRequest, model_id: str) -> HttpResponse:
    """The "what will be deleted" list alone, loaded into the dialog when it opens (so the
    settings page itself never waits on the registry)."""
    model = load_entry(request, model_id, Action.MODEL_DELETE)
    context = {"model": model, **_preview_context(request, model)}
    return render(request, "deletion/_preview.html", context)


urlpatterns = [
    path("model/<str:model_id>/delete", model_delete_page, name="model-delete"),
    path(
        "model/<str:model_id>/delete/preview",
        model_delete_preview,
        name="model-delete-preview",
    ),
]
