"""Entry pages: create an entry, its overview and its settings.

Views stay thin: they load the entry through the frame (``models_app.frame``, which asks the
policy), call one service and render.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from core.errors import BailoError, NotFound
from core.people import directory
from models_app import selectors, services
from models_app.forms import (
    CollaboratorAddForm,
    EntryCreateForm,
    EntryDetailsForm,
    EntrySettingsForm,
    collaborators_from_table,
    parse_collaborator_lines,
)
from models_app.frame import (
    MODEL_KINDS,
    entry_context,
    entry_page,
    load_entry,
    render_overview,
    role_names,
    settings_sections_for,
)
from models_app.models import EntryKind, Model
from models_app.policy import Action, Actor

# --- create -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def entry_new(request: HttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    form = EntryCreateForm(data, initial={"kind": request.GET.get("kind") or EntryKind.MODEL.value})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                model = services.model_create(
                    actor=Actor.from_request(request),
                    kind=form.cleaned_data["kind"],
                    collaborators=parse_collaborator_lines(form.cleaned_data["collaborators"]),
                    settings_=form.entry_settings(),
                    **form.details(),
                )
            except BailoError as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                messages.success(request, f"{model.name} was created.")
                return redirect("entry-overview", model_id=model.pk)
    return render(request, "models_app/entry_new.html", {"form": form}, status=status)


# --- overview ---------------------------------------------------------------------------------


@entry_page
@require_http_methods(["GET", "HEAD"])
def entry_overview(request: HttpRequest, model_id: str) -> HttpResponse:
    return render_overview(request, load_entry(request, model_id))


@login_required
def data_card_redirect(request: HttpRequest, model_id: str) -> HttpResponse:
    """Data cards are served from ``/model/<id>`` like every entry; Bailo's address still works."""
    return redirect("entry-overview", model_id=model_id)


# --- settings ---------------------------------------------------------------------------------

SETTINGS_FORMS = {"details", "access", "add-collaborator", "settings"}


def _settings_forms(model: Model, data: Any = None, which: str = "") -> dict[str, Any]:
    """The page's forms; the one named ``which`` is bound to ``data``."""

    def bound(name: str) -> Any:
        return data if which == name else None

    details = EntryDetailsForm(
        bound("details"),
        prefix="details",
        current={"organisation": model.organisation, "state": model.state},
        state_gaps=selectors.card_state_gaps(model, settings.BAILO_UI["modelDetails"]["states"]),
        initial={
            "name": model.name,
            "description": model.description,
            "organisation": model.organisation,
            "state": model.state,
            "tags": ", ".join(selectors.tags_of(model)),
            "visibility": model.visibility,
        },
    )
    add = CollaboratorAddForm(bound("add-collaborator"), prefix="add")
    entry_settings = EntrySettingsForm(
        bound("settings"),
        prefix="settings",
        show_ungoverned=model.kind in MODEL_KINDS,
        initial={
            "ungoverned_access": model.ungoverned_access,
            "allow_templating": model.allow_templating,
        },
    )
    return {"details_form": details, "add_form": add, "settings_form": entry_settings}


def _changes_from(which: str, forms: dict[str, Any], model: Model, data: Any) -> dict[str, Any]:
    """The ``model_update`` changes a valid form asks for (empty if the form is invalid)."""
    current = selectors.collaborators_of(model)
    if which == "details" and forms["details_form"].is_valid():
        return dict(forms["details_form"].details())
    if which == "settings" and forms["settings_form"].is_valid():
        return {"settings": forms["settings_form"].settings()}
    if which == "add-collaborator" and forms["add_form"].is_valid():
        return {"collaborators": [*current, forms["add_form"].collaborator()]}
    if which == "access":
        allowed_roles = set(role_names())
        return {"collaborators": collaborators_from_table(data, current, allowed_roles)}
    return {}


@entry_page
@require_http_methods(["GET", "POST"])
def entry_settings(request: HttpRequest, model_id: str) -> HttpResponse:
    model = load_entry(request, model_id, Action.MODEL_EDIT_SETTINGS)
    which = request.POST.get("form", "") if request.method == "POST" else ""
    forms = _settings_forms(model, request.POST, which)
    status = 200
    errors: dict[str, str] = {}
    if request.method == "POST":
        status = 400
        if which not in SETTINGS_FORMS:
            errors["page"] = "Unknown settings form; reload the page and try again."
        else:
            changes = _changes_from(which, forms, model, request.POST)
            if changes:
                try:
                    services.model_update(
                        actor=Actor.from_request(request), model=model, changes=changes
                    )
                except BailoError as exc:
                    if which == "details" and "state" in exc.context:
                        # Said beside the state field, where the choice was made.
                        forms["details_form"].add_error("state", exc.message)
                    else:
                        errors[which.replace("-", "_")] = exc.message
                    status = exc.status
                else:
                    messages.success(request, "Your changes were saved.")
                    return redirect(reverse("entry-settings", kwargs={"model_id": model.pk}))
    context = entry_context(request, model, tab="settings")
    names = role_names()
    collaborators = selectors.collaborators_of(model)
    directory(request).preload(c["entity"] for c in collaborators)
    context.update(forms)
    context.update(
        {
            "errors": errors,
            "role_options": list(names.items()),
            "collaborators": collaborators,
            "extra_sections": settings_sections_for(Actor.from_request(request), model),
        }
    )
    return render(request, "models_app/entry_settings.html", context, status=status)


# --- a mirrored model's source -----------------------------------------------------------------


@entry_page
@require_http_methods(["GET", "POST"])
def mirror_source(request: HttpRequest, model_id: str) -> HttpResponse:
    """Change a mirrored model's Source Model ID (owners), which the service allows only until
    the first import; afterwards the page says so and a save is refused (400)."""
    model = load_entry(request, model_id, Action.MODEL_EDIT_SETTINGS)
    if model.kind != EntryKind.MIRRORED_MODEL:
        raise NotFound(f"Model {model_id} is not a mirrored model", {"modelId": model_id})
    value = model.mirror_source_model_id
    status, error = 200, ""
    if request.method == "POST":
        value = request.POST.get("sourceModelId", "").strip()
        try:
            services.model_update(
                actor=Actor.from_request(request),
                model=model,
                changes={"settings": {"mirror": {"sourceModelId": value}}},
            )
        except BailoError as exc:
            status, error = exc.status, exc.message
        else:
            messages.success(request, "The source model ID was saved.")
            return redirect("entry-overview", model_id=model.pk)
    context = entry_context(request, model, tab="settings")
    context.update({"value": value, "error": error})
    return render(request, "models_app/mirror_source.html", context, status=status)


urlpatterns = [
    path("entry/new", entry_new, name="entry-new"),
    path("model/<str:model_id>", entry_overview, name="entry-overview"),
    path("model/<str:model_id>/settings", entry_settings, name="entry-settings"),
    path("model/<str:model_id>/mirror/source", mirror_source, name="mirror-source"),
    path("data-card/<str:model_id>", data_card_redirect, name="data-card"),
]
