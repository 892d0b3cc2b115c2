"""The frame every entry page shares: loading the entry through the policy, the tab bar, the
settings sections, and refusals rendered as pages.

Features above this layer add a tab with ``ENTRY_TABS.add`` and a settings section with
``SETTINGS_SECTIONS.add``, from their ``AppConfig.ready()``; their pages extend
``models_app/entry_base.html`` and take its context from ``entry_context``. Unknown and invisible
entries are 404; visible ones the user may not act on are 403.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from core.errors import BailoError, Forbidden, NotFound
from core.hooks import Hook, Slots
from core.people import directory
from models_app import selectors
from models_app.card_form import build_card_form, mirrored_card_view
from models_app.models import EntryKind, Model, ModelCardRevision
from models_app.policy import Action, Actor, allowed, check, require_admin
from models_app.roles import role_choices

ALL_KINDS = frozenset(EntryKind.values)
MODEL_KINDS = frozenset({EntryKind.MODEL.value, EntryKind.MIRRORED_MODEL.value})


@dataclass(frozen=True)
class EntryTab:
    """One tab of an entry page. ``url_name`` is reversed with ``model_id``; ``action`` (if set)
    hides the tab from people who may not do it.

    Orders, as Bailo lays them out: Overview 10, Releases 20, Access requests 30, Registry 40,
    Files 50, Inferencing 60, Settings 90 (Releases, Registry and Files use
    ``kinds=MODEL_KINDS``: data cards have only Overview and Settings).
    """

    key: str
    label: str
    url_name: str
    order: int
    kinds: frozenset[str] = ALL_KINDS
    action: Action | None = None
    # Shown only while this says yes (e.g. a feature a setting turns on), asked at each request.
    shown: Callable[[], bool] | None = None


ENTRY_TABS: Slots[EntryTab] = Slots("entry tabs")


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


SETTINGS_SECTIONS: Slots[SettingsSection] = Slots("entry settings sections")


@dataclass(frozen=True)
class Panel:
    """A block another feature adds to a page: its template, rendered with ``panel`` = ``value``
    (``{% include panel.template with panel=panel.value %}``)."""

    template: str
    value: Any


# Blocks other features add under the Details of an entry's Overview: each takes (request, entry)
# and returns a Panel, or None to add nothing (the reviews feature's "Model card review").
OVERVIEW_PANELS: Hook[Callable[[HttpRequest, Model], Panel | None]] = Hook("overview panels")


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
        if model.kind not in t.kinds or (t.shown is not None and not t.shown()):
            continue
        if t.action and not allowed(actor, t.action, model):
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
        "mirror": mirror_state(model, can_edit_settings=can["edit_settings"]),
    }


@dataclass(frozen=True)
class MirrorState:
    """What the banner of a mirrored entry says: its source, whether anything was imported yet
    and whether this person may still change the source (owners, until the first import)."""

    source_model_id: str
    imported: bool
    can_change_source: bool


def mirror_state(model: Model, *, can_edit_settings: bool) -> MirrorState | None:
    """None for entries that are not mirrored; one query for those that are."""
    if model.kind != EntryKind.MIRRORED_MODEL:
        return None
    imported = selectors.has_mirrored_revisions(model)
    return MirrorState(
        source_model_id=model.mirror_source_model_id,
        imported=imported,
        can_change_source=can_edit_settings and not imported,
    )


def mirror_headings() -> tuple[str, str]:
    """The configured headings over a mirrored card's answers: the source's, then the local."""
    return (settings.MIRROR_ORIGINAL_ANSWER_HEADING, settings.MIRROR_ADDITIONAL_INFO_HEADING)


def settings_sections_for(actor: Actor, model: Model) -> list[SettingsSection]:
    """The registered settings sections this actor sees on this entry's settings page."""
    return [
        s
        for s in SETTINGS_SECTIONS
        if model.kind in s.kinds and (s.action is None or allowed(actor, s.action, model))
    ]


# --- administration pages ----------------------------------------------------------------------


def admin_required(view: ViewFunc) -> ViewFunc:
    """Sign-in first (so anonymous visitors are sent to log in), then the administrator check."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            require_admin(Actor.from_request(request), what="manage schemas and review roles")
        except Forbidden as exc:
            raise PermissionDenied(exc.message) from exc
        return view(request, *args, **kwargs)

    return login_required(wrapper)


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
    mirrored_card = None
    if context["mirror"] is not None:
        # A mirrored entry shows the card imported from its source, each answer with the local
        # additional information to it.
        mirrored_card = selectors.latest_mirrored_revision(model)
        if mirrored_card is not None:
            card_form = mirrored_card_view(
                mirrored_card.schema.json_schema,
                mirrored_card.metadata,
                card.schema.json_schema if card is not None else None,
                card.metadata if card is not None else None,
                headings=mirror_headings(),
            )
    elif card is not None:
        card_form = build_card_form(card.schema.json_schema, card.metadata, state=model.state)
    migrations = (
        list(selectors.migrations_available(model)) if context["can"]["edit_settings"] else []
    )
    my_roles = sorted(r for r in actor.roles_on(model) if r)
    collaborators = selectors.collaborators_of(model)
    directory(request).preload(c["entity"] for c in collaborators)
    context.update(
        {
            "card_heading": "Data card" if model.kind == EntryKind.DATA_CARD else "Model card",
            "card": card,
            "card_form": card_form,
            "mirrored_card": mirrored_card,
            "migrations": migrations,
            "tags": selectors.tags_of(model),
            "collaborators": [
                {"entity": c["entity"], "roles": [names.get(r, r) for r in c["roles"]]}
                for c in collaborators
            ],
            "my_roles": [names.get(r, r) for r in my_roles],
            "error": error,
            "panels": [
                panel
                for add_panel in OVERVIEW_PANELS
                if (panel := add_panel(request, model)) is not None
            ],
        }
    )
    return render(request, "models_app/entry_overview.html", context, status=status)
