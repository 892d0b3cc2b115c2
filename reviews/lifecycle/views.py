"""Lifecycle review pages: the Overview's "Model card review" panel and its date form, and the
review page (``/model/{id}/lifecycle/{reviewId}/review``) where owners approve the card and set
the next date.

Plain forms, no script needed. A date in the past is accepted once its confirmation box is ticked
(the form comes back asking for it); refusals come back beside the form with their status.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from core.errors import BailoError
from models_app.card_form import build_card_form
from models_app.frame import (
    Panel,
    current_card,
    entry_context,
    entry_page,
    load_entry,
    render_overview,
)
from models_app.models import Model
from models_app.policy import Action, Actor
from reviews.lifecycle import selectors, services
from reviews.lifecycle.selectors import LifecyclePanel

# Where a refused date form leaves its message for the panel of the page rendered after it.
_FORM_STATE = "_lifecycle_form"


def overview_panel(request: HttpRequest, model: Model) -> Panel | None:
    """``models_app.frame.OVERVIEW_PANELS`` entry: "Model card review", for owners and
    administrators of models (data cards have no lifecycle reviews in Bailo's UI)."""
    if model.kind == "data-card":
        return None
    panel = selectors.lifecycle_panel_if_useful(actor=Actor.from_request(request), model=model)
    if panel is None:
        return None
    state = getattr(request, _FORM_STATE, None)
    if state:
        panel.error, panel.value, panel.ask_confirm = state
    return Panel("reviews/lifecycle/_panel.html", panel)


@entry_page
@require_http_methods(["POST"])
def lifecycle_set_date(request: HttpRequest, model_id: str) -> HttpResponse:
    """Open the entry's lifecycle review, due on the date chosen."""
    model = load_entry(request, model_id, Action.MODEL_EDIT_SETTINGS)
    value = request.POST.get("dueDate", "")
    try:
        due = services.due_date_parse(value)
        # Today is not "in the past": only an earlier day needs confirming.
        if due.date() < timezone.now().date() and request.POST.get("confirm") != "yes":
            setattr(
                request,
                _FORM_STATE,
                ("This date is in the past: tick the box to confirm it.", value, True),
            )
            return render_overview(request, model, status=400)
        services.lifecycle_review_create(
            actor=Actor.from_request(request), model=model, due_date=value
        )
    except BailoError as exc:
        if exc.status in (403, 404):
            raise
        setattr(request, _FORM_STATE, (exc.message, value, False))
        return render_overview(request, model, status=exc.status)
    messages.success(request, f"The model card review is due on {due:%d %B %Y}.")
    return redirect(f"{reverse('entry-overview', kwargs={'model_id': model.pk})}#lifecycle")


def _render_review_page(
    request: HttpRequest,
    model: Model,
    review_pk: int,
    *,
    error: str = "",
    comment: str = "",
    due: str = "",
    status: int = 200,
) -> HttpResponse:
    review = selectors.lifecycle_review_get(model=model, review_id=review_pk)
    actor = Actor.from_request(request)
    panel: LifecyclePanel = selectors.lifecycle_panel(actor=actor, model=model)
    card = current_card(model)
    context = entry_context(request, model, tab="overview")
    context.update(
        {
            "review": review,
            "panel": panel,
            "answered": next((a for a in panel.history if a.review.pk == review.pk), None),
            "card": card,
            "card_form": (
                build_card_form(card.schema.json_schema, card.metadata, state=model.state)
                if card is not None
                else None
            ),
            "error": error,
            "comment": comment,
            "due": due,
            "max_interval": services.max_interval_label(),
        }
    )
    return render(request, "reviews/lifecycle/review_page.html", context, status=status)


@entry_page
@require_http_methods(["GET", "HEAD", "POST"])
def lifecycle_review_page(request: HttpRequest, model_id: str, review_pk: int) -> HttpResponse:
    """The card to look through, and for owners a comment, the next due date and Approve."""
    model = load_entry(request, model_id, Action.MODEL_VIEW)
    if request.method != "POST":
        return _render_review_page(request, model, review_pk)
    review = selectors.lifecycle_review_get(model=model, review_id=review_pk)
    comment, due = request.POST.get("comment", ""), request.POST.get("dueDate", "")
    try:
        services.lifecycle_review_respond(
            actor=Actor.from_request(request),
            review=review,
            decision=request.POST.get("decision", ""),
            comment=comment,
            due_date=due,
        )
    except BailoError as exc:
        if exc.status in (403, 404):
            raise
        return _render_review_page(
            request,
            model,
            review_pk,
            error=exc.message,
            comment=comment,
            due=due,
            status=exc.status,
        )
    messages.success(request, "The model card review was approved and the next one is set.")
    return redirect(f"{reverse('entry-overview', kwargs={'model_id': model.pk})}#lifecycle")


urlpatterns = [
    path("model/<str:model_id>/lifecycle", lifecycle_set_date, name="lifecycle-set-date"),
    path(
        "model/<str:model_id>/lifecycle/<int:review_pk>/review",
        lifecycle_review_page,
        name="lifecycle-review",
    ),
]
