"""Entry pages: create an entry, its overview, its settings, and the tab bar they share.

Views stay thin: they load the entry through the policy (``check``), call one service and render.
Unknown and invisible entries are 404; visible ones the user may not act on are 403.

Later features add tabs with ``register_entry_tab`` and settings sections with
``register_settings_section``; pages of their own extend ``models_app/entry_base.html`` and take
their context from ``entry_context``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from core.errors import BailoError, Forbidden, NotFound
from models_app import selectors, services
from models_app.card_form import build_card_form
from models_app.forms import (
    CollaboratorAddForm,
    EntryCreateForm,
    EntryDetailsForm,
    EntrySettingsForm,
    collaborators_from_table,
    parse_collaborator_lines,
    role_choices,
)
from models_app.models import EntryKind, Model, ModelCardRevision
from models_app.policy import Action, Actor, allowed, check

ALL_KINDS = frozenset(EntryKind.values)
MODEL_KINDS = frozenset({EntryKind.MODEL.value, EntryKind.MIRRORED_MODEL.value})


# --- tabs and settings sections: one list each, extended by later features ---------------------


@dataclass(frozen=True)
class EntryTab:
    """One tab of an entry page. ``url_name`` is reversed with ``model_id``; ``action`` (if set)
    hides the tab from people who may not do it."""

    key: str
    label: str
    url_name: str
    order: int
    kinds: frozenset[str] = ALL_KINDS
    action: Action | None = None


ENTRY_TABS: list[EntryTab] = []


def register_entry_tab(tab: EntryTab) -> None:
    """Add (or replace, by key) a tab; tabs show in ``order``.

    Suggested orders, as Bailo lays them out: Overview 10, Releases 20, Access requests 30,
    Registry 40, Files 50, Inferencing 60, Settings 90 (Releases, Registry and Files use
    ``kinds=MODEL_KINDS``: data cards have only Overview and Settings).
    """
    ENTRY_TABS[:] = sorted(
        [t for t in ENTRY_TABS if t.key != tab.key] + [tab], key=lambda t: t.order
    )


register_entry_tab(EntryTab("overview", "Overview", "entry-overview", 10))
register_entry_tab(
    EntryTab("settings", "Settings", "entry-settings", 90, action=Action.MODEL_EDIT_SETTINGS)
)


@dataclass(frozen=True)
class SettingsSection:
    """A section appended to the settings page (after Details, Access and Settings).

    The template gets the settings page context (``model``, ``actor``, ``can``), and renders
    nothing when it has nothing to offer.
    """

    key: str
    title: str
    template: str
    order: int
    kinds: frozenset[str] = ALL_KINDS
    # Shown only to those allowed this action on the entry (None: everyone on the page).
    action: Action | None = None


SETTINGS_SECTIONS: list[SettingsSection] = []


def register_settings_section(section: SettingsSection) -> None:
    """Add (or replace, by key) a settings section. The deletion feature registers "Deletion"."""
    SETTINGS_SECTIONS[:] = sorted(
        [s for s in SETTINGS_SECTIONS if s.key != section.key] + [section], key=lambda s: s.order
    )


# --- shared helpers ---------------------------------------------------------------------------


def error_page(request: HttpRequest, exc: BailoError) -> HttpResponse:
    """A refused request as a page with the right status: 404, 403 or the error's own."""
    if isinstance(exc, NotFound):
        return render(request, "404.html", status=404)
    if isinstance(exc, Forbidden):
        return render(request, "403.html", {"message": exc.message}, status=403)
    return render(
        request, "models_app/entry_error.html", {"message": exc.message}, status=exc.status
    )


ViewFunc = Callable[..., HttpResponse]


def entry_page(view: ViewFunc) -> ViewFunc:
    """Sign-in required; a ``BailoError`` that escapes the view becomes its error page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except BailoError as exc:
            return error_page(request, exc)

    return login_required(wrapper)


def load_entry(request: HttpRequest, model_id: str, action: Action = Action.MODEL_VIEW) -> Model:
    """The entry with collaborators and tags prefetched, if the caller may do ``action``."""
    model = selectors.model_get_detailed(model_id)
    if model is None:
        raise NotFound(f"Model {model_id} not found", {"modelId": model_id})
    check(Actor.from_request(request), action, model)
    return model


def current_card(model: Model) -> ModelCardRevision | None:
    """The entry's current card revision with its schema and author (one query), if any."""
    if not model.card_id:
        return None
    return selectors.card_revisions(model).filter(pk=model.card_id).first()


def role_names() -> dict[str, str]:
    """Role id to the name shown on pages: system roles, then review roles."""
    return dict(role_choices())


def entry_context(request: HttpRequest, model: Model, *, tab: str) -> dict[str, Any]:
    """What ``entry_base.html`` needs: the entry, the tabs this user sees, and what they may do."""
    actor = Actor.from_request(request)
    can = {
        "edit_card": allowed(actor, Action.MODEL_EDIT_CARD, model),
        "edit_settings": allowed(actor, Action.MODEL_EDIT_SETTINGS, model),
        "delete": allowed(actor, Action.MODEL_DELETE, model),
    }
    tabs = []
    for t in ENTRY_TABS:
        if model.kind not in t.kinds or (t.action and not allowed(actor, t.action, model)):
            continue
        url = reverse(t.url_name, kwargs={"model_id": model.pk})
        # aria-current: "page" on the tab's own page, "true" on pages under it (e.g. card edit).
        current = ("page" if request.path == url else "true") if t.key == tab else ""
        tabs.append({"key": t.key, "label": t.label, "url": url, "current": current})
    return {
        "model": model,
        "actor": actor,
        "can": can,
        "entry_tabs": tabs,
        "entry_tab": tab,
        "kind_label": EntryKind(model.kind).label,
    }


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


def render_overview(
    request: HttpRequest, model: Model, *, status: int = 200, error: str = ""
) -> HttpResponse:
    """The Overview tab. Its query count does not depend on the number of collaborators or tags
    (both are prefetched by ``load_entry``)."""
    context = entry_context(request, model, tab="overview")
    actor: Actor = context["actor"]
    names = role_names()
    card = current_card(model)
    card_form = None
    if card is not None:
        card_form = build_card_form(card.schema.json_schema, card.metadata, state=model.state)
    migrations = (
        list(selectors.migrations_available(model)) if context["can"]["edit_settings"] else []
    )
    my_roles = sorted(r for r in actor.roles_on(model) if r)
    context.update(
        {
            "card_heading": "Data card" if model.kind == EntryKind.DATA_CARD else "Model card",
            "card": card,
            "card_form": card_form,
            "migrations": migrations,
            "tags": selectors.tags_of(model),
            "collaborators": [
                {"entity": c["entity"], "roles": [names.get(r, r) for r in c["roles"]]}
                for c in selectors.collaborators_of(model)
            ],
            "my_roles": [names.get(r, r) for r in my_roles],
            "error": error,
        }
    )
    return render(request, "models_app/entry_overview.html", context, status=status)


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
                    errors[which.replace("-", "_")] = exc.message
                    status = exc.status
                else:
                    messages.success(request, "Your changes were saved.")
                    return redirect(reverse("entry-settings", kwargs={"model_id": model.pk}))
    context = entry_context(request, model, tab="settings")
    names = role_names()
    context.update(forms)
    context.update(
        {
            "errors": errors,
            "role_options": list(names.items()),
            "collaborators": selectors.collaborators_of(model),
            "extra_sections": [
                s
                for s in SETTINGS_SECTIONS
                if model.kind in s.kinds
                and (s.action is None or allowed(Actor.from_request(request), s.action, model))
            ],
        }
    )
    return render(request, "models_app/entry_settings.html", context, status=status)


urlpatterns = [
    path("entry/new", entry_new, name="entry-new"),
    path("model/<str:model_id>", entry_overview, name="entry-overview"),
    path("model/<str:model_id>/settings", entry_settings, name="entry-settings"),
    path("data-card/<str:model_id>", data_card_redirect, name="data-card"),
]
