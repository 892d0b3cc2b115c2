"""Access request pages: the entry's "Access requests" tab, asking for access, a request's page
(answers, state, reviews), editing and withdrawing it, and "My access".

The request form is the card form (``models_app.card_form``) rendered from the access-request
schema; every save goes through ``access.access_requests.services``, whose ``validationErrors``
show beside the questions, and nothing is written when it refuses. Unknown and invisible entries
are 404; a visible entry the user may not act on is 403.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from access.access_requests import selectors
from access.access_requests.services import (
    ACCESS_REQUEST_KINDS,
    access_request_create,
    access_request_delete,
    access_request_may_change,
    access_request_update,
    usable_schema,
)
from access.models import AccessRequest
from core.entities import user_entity
from core.errors import BailoError, Forbidden, NotFound
from core.people import directory
from models_app.card_form import CardForm, build_card_form, parse_card_post
from models_app.frame import (
    entry_context,
    entry_page,
    load_entry,
    role_names,
)
from models_app.models import Model, Schema
from models_app.policy import Action, Actor, allowed, check
from models_app.roles import review_role_names
from reviews.panels import access_request_review_panel, render_review_page
from reviews.selectors import unheld_roles_warning
from reviews.services import comment_add

TAB = "access-requests"


# --- helpers ----------------------------------------------------------------------------------


def _load_model(request: HttpRequest, model_id: str, action: Action) -> Model:
    model = load_entry(request, model_id, action)
    if model.kind not in ACCESS_REQUEST_KINDS:
        # Data cards have no Access requests tab; their addresses do not exist either.
        raise NotFound(f"Model {model_id} has no access requests", {"modelId": model_id})
    return model


def _load(request: HttpRequest, model_id: str, access_request_id: str) -> AccessRequest:
    model = _load_model(request, model_id, Action.ACCESS_REQUEST_VIEW)
    return selectors.access_request_get(model=model, access_request_id=access_request_id)


def detail_url(access_request: AccessRequest) -> str:
    return reverse(
        "access-request-detail",
        kwargs={"model_id": access_request.model_id, "access_request_id": access_request.pk},
    )


def _errors_of(exc: BailoError) -> list[dict[str, Any]]:
    """A refusal as ``{property, message}`` items for the card form (general if unplaced)."""
    errors = list(exc.context.get("validationErrors") or [])
    return errors or [{"property": "", "message": exc.message}]


def _return_to(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _state(access_request: AccessRequest, defined: set[str] | None = None) -> dict[str, str]:
    state = selectors.access_request_state(access_request, defined=defined)
    return {"state": state, "state_label": selectors.STATE_LABELS[state]}


# --- the tab ----------------------------------------------------------------------------------


@entry_page
@require_http_methods(["GET", "HEAD"])
def access_request_list(request: HttpRequest, model_id: str) -> HttpResponse:
    """The entry's access requests with their state; a "Request access" button for viewers."""
    model = _load_model(request, model_id, Action.ACCESS_REQUEST_VIEW)
    context = entry_context(request, model, tab=TAB)
    defined = review_role_names()
    rows: list[dict[str, Any]] = [
        {
            "ar": ar,
            "entities": selectors.entities_named(ar),
            **_state(ar, defined),
        }
        for ar in selectors.access_request_list(model=model)
    ]
    directory(request).preload(e for row in rows for e in row["entities"])
    actor: Actor = context["actor"]
    context.update(
        {
            "rows": rows,
            "can_request": allowed(actor, Action.ACCESS_REQUEST_CREATE, model),
            "can_download": allowed(actor, Action.FILE_DOWNLOAD, model),
        }
    )
    return render(request, "access/access_request_list.html", context)


# --- asking for access ------------------------------------------------------------------------


@entry_page
@require_http_methods(["GET", "HEAD"])
def access_request_new(request: HttpRequest, model_id: str) -> HttpResponse:
    """Choose the schema when more than one may be used; otherwise go straight to the form."""
    model = _load_model(request, model_id, Action.ACCESS_REQUEST_CREATE)
    schemas = list(selectors.usable_schemas())
    if len(schemas) == 1:
        return redirect("access-request-new-form", model_id=model.pk, schema_id=schemas[0].pk)
    context = entry_context(request, model, tab=TAB)
    context["schemas"] = schemas
    return render(request, "access/access_request_schema.html", context)


def _render_form(
    request: HttpRequest,
    model: Model,
    *,
    schema: Schema,
    form: CardForm,
    access_request: AccessRequest | None = None,
    status: int = 200,
) -> HttpResponse:
    context = entry_context(request, model, tab=TAB)
    context.update({"schema": schema, "form": form, "access_request": access_request})
    return render(request, "access/access_request_form.html", context, status=status)


@entry_page
@require_http_methods(["GET", "POST"])
def access_request_new_form(request: HttpRequest, model_id: str, schema_id: str) -> HttpResponse:
    """The request form, rendered from the chosen access-request schema."""
    model = _load_model(request, model_id, Action.ACCESS_REQUEST_CREATE)
    schema = usable_schema(schema_id)
    metadata: Any = {"overview": {"entities": [user_entity(request.user)]}}
    errors: list[dict[str, Any]] = []
    status = 200
    if request.method == "POST":
        metadata = parse_card_post(schema.json_schema, request.POST)
        try:
            created = access_request_create(
                actor=Actor.from_request(request),
                model=model,
                schema_id=schema.pk,
                metadata=metadata,
            )
        except BailoError as exc:
            errors, status = _errors_of(exc), exc.status
        else:
            messages.success(request, f"Access request “{created.name}” was sent for review.")
            warning = unheld_roles_warning(model=model, roles=schema.review_roles)
            if warning:
                messages.warning(request, warning)
            return redirect(detail_url(created))
    form = build_card_form(schema.json_schema, metadata, errors=errors)
    return _render_form(request, model, schema=schema, form=form, status=status)


# --- one request ------------------------------------------------------------------------------


@entry_page
@require_http_methods(["GET", "HEAD"])
def access_request_detail(
    request: HttpRequest, model_id: str, access_request_id: str
) -> HttpResponse:
    """The answers, the state and the reviews (with the review panel's forms)."""
    access_request = _load(request, model_id, access_request_id)
    model = access_request.model
    actor = Actor.from_request(request)
    context = entry_context(request, model, tab=TAB)
    context.update(
        {
            "ar": access_request,
            "answers": build_card_form(access_request.schema.json_schema, access_request.metadata),
            "can_change": access_request_may_change(actor, access_request),
            "panel": access_request_review_panel(request, model, access_request),
            **_state(access_request),
        }
    )
    return render(request, "access/access_request_detail.html", context)


@entry_page
@require_http_methods(["GET", "POST"])
def access_request_edit(
    request: HttpRequest, model_id: str, access_request_id: str
) -> HttpResponse:
    """Change the answers; for the named entities and the entry's owners."""
    access_request = _load(request, model_id, access_request_id)
    model = access_request.model
    actor = Actor.from_request(request)
    check(actor, Action.ACCESS_REQUEST_CREATE, model)
    if not access_request_may_change(actor, access_request):
        raise Forbidden(
            "Only the people named in this access request and the entry's owners may change it"
        )
    schema = access_request.schema
    metadata: Any = access_request.metadata
    errors: list[dict[str, Any]] = []
    status = 200
    if request.method == "POST":
        metadata = parse_card_post(
            schema.json_schema, request.POST, previous=access_request.metadata
        )
        try:
            access_request_update(actor=actor, access_request=access_request, metadata=metadata)
        except BailoError as exc:
            errors, status = _errors_of(exc), exc.status
        else:
            messages.success(request, "Your changes to the access request were saved.")
            return redirect(detail_url(access_request))
    form = build_card_form(schema.json_schema, metadata, errors=errors)
    return _render_form(
        request, model, schema=schema, form=form, access_request=access_request, status=status
    )


@entry_page
@require_POST
def access_request_withdraw(
    request: HttpRequest, model_id: str, access_request_id: str
) -> HttpResponse:
    access_request = _load(request, model_id, access_request_id)
    access_request_delete(actor=Actor.from_request(request), access_request=access_request)
    messages.success(request, f"Access request “{access_request.name}” was withdrawn.")
    return redirect("entry-access-requests", model_id=access_request.model_id)


@entry_page
@require_POST
def access_request_comment(
    request: HttpRequest, model_id: str, access_request_id: str
) -> HttpResponse:
    """A comment from the review panel; a refusal re-renders the panel with the message."""
    access_request = _load(request, model_id, access_request_id)
    model = access_request.model
    actor = Actor.from_request(request)
    text = request.POST.get("comment", "")
    return_url = _return_to(request, detail_url(access_request))
    try:
        check(actor, Action.ACCESS_REQUEST_CREATE, model)
        comment_add(actor=actor, text=text, access_request=access_request)
    except BailoError as exc:
        panel = access_request_review_panel(request, model, access_request, return_url=return_url)
        panel.show_error(review_pk=None, message=exc.message, comment=text)
        return render_review_page(
            request, model, panel, access_request=access_request, status=exc.status
        )
    messages.success(request, "Your comment was added.")
    return redirect(return_url)


# --- My access --------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD"])
def my_access(request: HttpRequest) -> HttpResponse:
    """Every entry you can use and why, and every access request you made or are named in."""
    access = selectors.my_access(actor=Actor.from_request(request))
    directory(request).preload(
        e.entity for row in access.requests for e in row.access_request.entity_rows.all()
    )
    names = role_names()
    entries = [
        {
            "entry": entry,
            "roles": [
                {"via": via, "roles": [names.get(r, r) for r in roles]}
                for via, roles in selectors.group_roles(entry.roles).items()
            ],
        }
        for entry in access.entries
    ]
    return render(
        request, "access/access_request_my_access.html", {"entries": entries, "access": access}
    )


urlpatterns = [
    path("access", my_access, name="my-access"),
    path("model/<str:model_id>/access-requests", access_request_list, name="entry-access-requests"),
    path("model/<str:model_id>/access-request/new", access_request_new, name="access-request-new"),
    path(
        "model/<str:model_id>/access-request/new/<str:schema_id>",
        access_request_new_form,
        name="access-request-new-form",
    ),
    path(
        "model/<str:model_id>/access-request/<str:access_request_id>",
        access_request_detail,
        name="access-request-detail",
    ),
    path(
        "model/<str:model_id>/access-request/<str:access_request_id>/edit",
        access_request_edit,
        name="access-request-edit",
    ),
    path(
        "model/<str:model_id>/access-request/<str:access_request_id>/withdraw",
        access_request_withdraw,
        name="access-request-withdraw",
    ),
    path(
        "model/<str:model_id>/access-request/<str:access_request_id>/comment",
        access_request_comment,
        name="access-request-comment",
    ),
]
