"""Model-card pages: choose a schema or template, edit, history, compare and migrate.

The card form is rendered on the server from the schema (``models_app.card_form``) and every save
goes through ``services.card_update``, which validates against the schema: the page shows the
service's ``validationErrors`` beside the questions and nothing is written.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import BadRequest, BailoError, NotFound
from models_app import selectors, services
from models_app.card_form import (
    add_original_answers,
    build_card_form,
    compare_cards,
    parse_card_post,
)
from models_app.card_import import card_import_text, merge_answers
from models_app.frame import (
    current_card,
    entry_context,
    entry_page,
    load_entry,
    mirror_headings,
)
from models_app.models import EntryKind, Model
from models_app.policy import Action, Actor
from models_app.views.entry import render_overview

# --- starting a card --------------------------------------------------------------------------


@entry_page
@require_http_methods(["GET", "POST"])
def card_schema(request: HttpRequest, model_id: str) -> HttpResponse:
    model = load_entry(request, model_id, Action.MODEL_EDIT_CARD)
    if model.card_id or model.kind == EntryKind.MIRRORED_MODEL:
        # A mirrored model's local card takes the imported card's schema, in its own form.
        messages.info(request, "This entry already has a card.")
        return redirect("card-edit", model_id=model.pk)
    status, error = 200, ""
    if request.method == "POST":
        try:
            services.card_from_schema(
                actor=Actor.from_request(request),
                model=model,
                schema_id=request.POST.get("schemaId", ""),
            )
        except BailoError as exc:
            status, error = exc.status, exc.message
        else:
            messages.success(request, "Schema chosen. Fill in the card and save it.")
            return redirect("card-edit", model_id=model.pk)
    kind = services.CARD_SCHEMA_KIND[EntryKind(model.kind)]
    context = entry_context(request, model, tab="overview")
    context.update(
        {
            "schemas": selectors.schema_list(kind=kind),
            "has_templates": selectors.template_candidates(
                actor=Actor.from_request(request), model=model
            ).exists(),
            "error": error,
        }
    )
    return render(request, "models_app/card_schema.html", context, status=status)


@entry_page
@require_http_methods(["GET", "POST"])
def card_template(request: HttpRequest, model_id: str) -> HttpResponse:
    model = load_entry(request, model_id, Action.MODEL_EDIT_CARD)
    if model.card_id or model.kind == EntryKind.MIRRORED_MODEL:
        # A mirrored model's local card takes the imported card's schema, in its own form.
        messages.info(request, "This entry already has a card.")
        return redirect("card-edit", model_id=model.pk)
    status, error = 200, ""
    if request.method == "POST":
        try:
            services.card_from_template(
                actor=Actor.from_request(request),
                model=model,
                template_id=request.POST.get("templateId", ""),
            )
        except BailoError as exc:
            status, error = exc.status, exc.message
        else:
            messages.success(request, "Card copied from the template. Review it and save it.")
            return redirect("card-edit", model_id=model.pk)
    context = entry_context(request, model, tab="overview")
    context.update(
        {
            "templates": selectors.template_candidates(
                actor=Actor.from_request(request), model=model
            ),
            "error": error,
        }
    )
    return render(request, "models_app/card_template.html", context, status=status)


# --- editing ----------------------------------------------------------------------------------


@entry_page
@require_http_methods(["GET", "POST"])
def card_edit(request: HttpRequest, model_id: str) -> HttpResponse:
    model = load_entry(request, model_id, Action.MODEL_EDIT_CARD)
    if model.kind == EntryKind.MIRRORED_MODEL:
        return _mirror_information_edit(request, model)
    card = current_card(model)
    if card is None:
        messages.info(request, "Choose a schema for the card first.")
        return redirect("card-schema", model_id=model.pk)
    json_schema = card.schema.json_schema
    metadata: Any = card.metadata
    errors: list[dict[str, Any]] = []
    status = 200
    if request.method == "POST":
        metadata = parse_card_post(json_schema, request.POST, previous=card.metadata)
        saved, status, errors = _save_card(request, model, metadata, "Card saved")
        if saved is not None:
            return saved
    form = build_card_form(json_schema, metadata, state=model.state, errors=errors)
    context = entry_context(request, model, tab="overview")
    context.update({"card": card, "form": form, "import_llm": bool(settings.CARD_IMPORT_LLM_URL)})
    return render(request, "models_app/card_edit.html", context, status=status)


def _save_card(
    request: HttpRequest, model: Model, metadata: Any, saved_as: str
) -> tuple[HttpResponse | None, int, list[dict[str, Any]]]:
    """Save a card form's answers as a new revision: a redirect to the Overview when saved,
    else the status and the errors to show beside the form again."""
    try:
        revision = services.card_update(
            actor=Actor.from_request(request), model=model, metadata=metadata
        )
    except BailoError as exc:
        errors = list(exc.context.get("validationErrors") or [])
        return None, exc.status, errors or [{"property": "", "message": exc.message}]
    messages.success(request, f"{saved_as} as version {revision.version}.")
    return redirect("entry-overview", model_id=model.pk), 200, []


def _mirror_information_edit(request: HttpRequest, model: Model) -> HttpResponse:
    """A mirrored entry's "Add additional information": the form of its local card (the schema
    of the imported card, the same inputs and checks as any card), each question with the
    source's answer beside it. Saving never touches the imported revisions."""
    source = selectors.latest_mirrored_revision(model)
    card = current_card(model)
    if card is None and source is None:
        messages.info(
            request, "This mirrored model has no model card yet: it arrives with the first import."
        )
        return redirect("entry-overview", model_id=model.pk)
    schema = card.schema if card is not None else source.schema  # type: ignore[union-attr]
    previous = card.metadata if card is not None else {}
    metadata: Any = previous
    errors: list[dict[str, Any]] = []
    status = 200
    if request.method == "POST":
        metadata = parse_card_post(schema.json_schema, request.POST, previous=previous)
        saved, status, errors = _save_card(request, model, metadata, "Additional information saved")
        if saved is not None:
            return saved
    form = build_card_form(schema.json_schema, metadata, errors=errors)
    if source is not None:
        add_original_answers(
            form, source.schema.json_schema, source.metadata, headings=mirror_headings()
        )
    context = entry_context(request, model, tab="overview")
    context.update(
        {
            "card": card,
            "schema": schema,
            "form": form,
            "mirrored_card": source,
            "additional_heading": mirror_headings()[1],
        }
    )
    return render(request, "models_app/card_edit.html", context, status=status)


@entry_page
@require_POST
def card_import(request: HttpRequest, model_id: str) -> HttpResponse:
    """Suggested answers from pasted text, laid over the current answers in the edit form. The
    page is the edit form: nothing is saved until the person reviews the answers and saves."""
    model = load_entry(request, model_id, Action.MODEL_EDIT_CARD)
    if model.kind == EntryKind.MIRRORED_MODEL:
        # Its answers come from the source; the additional-information form offers no import.
        return redirect("card-edit", model_id=model.pk)
    card = current_card(model)
    if card is None:
        messages.info(request, "Choose a schema for the card first.")
        return redirect("card-schema", model_id=model.pk)
    text = request.POST.get("text", "")
    metadata: Any = card.metadata
    status, error, imported = 200, "", None
    try:
        result = card_import_text(actor=Actor.from_request(request), model=model, text=text)
    except BailoError as exc:
        status, error = exc.status, exc.message
    else:
        metadata = merge_answers(card.metadata, result.metadata)
    form = build_card_form(card.schema.json_schema, metadata, state=model.state)
    if not error:
        fields = {f.path: f for f in form.fields()}
        imported = {
            "answered": [fields[p] for p in result.answered if p in fields],
            "warnings": result.warnings,
        }
    context = entry_context(request, model, tab="overview")
    context.update(
        {
            "card": card,
            "form": form,
            "imported": imported,
            "import_error": error,
            "import_text": text if error else "",
            "import_llm": bool(settings.CARD_IMPORT_LLM_URL),
        }
    )
    return render(request, "models_app/card_edit.html", context, status=status)


# --- history and comparison -------------------------------------------------------------------


@entry_page
@require_http_methods(["GET", "HEAD"])
def card_history(request: HttpRequest, model_id: str) -> HttpResponse:
    model = load_entry(request, model_id)
    mirrored = model.kind == EntryKind.MIRRORED_MODEL
    revisions = list(selectors.card_revisions(model, mirrored=mirrored))
    context = entry_context(request, model, tab="overview")
    context.update(
        {
            "revisions": revisions,
            # A mirrored entry's history is its source's card, as imported; the newest is current.
            "mirrored": mirrored,
            "current_pk": revisions[0].pk if mirrored and revisions else model.card_id,
            "default_a": revisions[1].version if len(revisions) > 1 else None,
            "default_b": revisions[0].version if revisions else None,
        }
    )
    return render(request, "models_app/card_history.html", context)


def _version(raw: str | None, label: str) -> int:
    try:
        version = int(raw or "")
    except ValueError:
        raise BadRequest(f"Choose a version to compare as {label}") from None
    if version < 1:
        raise BadRequest(f"Version {label} must be 1 or more")
    return version


@entry_page
@require_http_methods(["GET", "HEAD"])
def card_compare(request: HttpRequest, model_id: str) -> HttpResponse:
    model = load_entry(request, model_id)
    # A mirrored entry compares the revisions of its source's card.
    mirrored = model.kind == EntryKind.MIRRORED_MODEL
    revisions = list(selectors.card_revisions(model, mirrored=mirrored))
    context = entry_context(request, model, tab="overview")
    context["revisions"] = revisions
    try:
        a = _version(request.GET.get("a"), "a")
        b = _version(request.GET.get("b"), "b")
    except BadRequest as exc:
        context.update({"error": exc.message, "a": request.GET.get("a"), "b": None})
        return render(request, "models_app/card_compare.html", context, status=400)
    by_version = {r.version: r for r in revisions}
    missing = [v for v in (a, b) if v not in by_version]
    if missing:
        raise NotFound(f"This card has no version {missing[0]}")
    before, after = by_version[a], by_version[b]
    groups = compare_cards(
        before.schema.json_schema, before.metadata, after.schema.json_schema, after.metadata
    )
    context.update(
        {
            "a": a,
            "b": b,
            "before": before,
            "after": after,
            "groups": groups,
            "changed_total": sum(g.changed_count for g in groups),
        }
    )
    return render(request, "models_app/card_compare.html", context)


# --- schema migration -------------------------------------------------------------------------


@entry_page
@require_POST
def card_migrate(request: HttpRequest, model_id: str) -> HttpResponse:
    model = load_entry(request, model_id, Action.MODEL_EDIT_SETTINGS)
    migration = (
        selectors.migrations_available(model).filter(pk=request.POST.get("migrationId", "")).first()
    )
    try:
        if migration is None:
            raise BadRequest("That migration is not available for this card")
        revision = services.schema_migration_apply(
            actor=Actor.from_request(request), model=model, migration=migration
        )
    except BailoError as exc:
        return render_overview(request, model, status=exc.status, error=exc.message)
    messages.success(
        request, f"Card migrated to {revision.schema_id} as version {revision.version}."
    )
    return redirect("entry-overview", model_id=model.pk)


urlpatterns = [
    path("model/<str:model_id>/schema", card_schema, name="card-schema"),
    path("model/<str:model_id>/template", card_template, name="card-template"),
    path("model/<str:model_id>/card/edit", card_edit, name="card-edit"),
    path("model/<str:model_id>/card/import", card_import, name="card-import"),
    path("model/<str:model_id>/card/history", card_history, name="card-history"),
    path("model/<str:model_id>/card/compare", card_compare, name="card-compare"),
    path("model/<str:model_id>/card/migrate", card_migrate, name="card-migrate"),
]
