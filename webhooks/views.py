"""Webhook pages, under the entry's settings: add, edit, pause or resume, delete, a webhook's
recent deliveries (redeliver one), "Send test event" and a new secret.

The settings page's "Webhooks" section (registered in ``apps.py``, rendered by
``webhook_tags.webhooks_section``) lists the entry's webhooks and links here. Everything works
without JavaScript: actions are small POST forms that redirect back (post/redirect/get). A new
secret travels to the page that shows it through the session, once, and that page is never
cached. Every page and action loads the entry for ``webhook:manage`` (404 for an entry one
cannot see, 403 for one one cannot manage) and the webhook within that entry only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import BailoError
from models_app.frame import entry_context, entry_page, load_entry
from models_app.models import Model
from models_app.policy import Action, Actor
from webhooks import selectors, services
from webhooks.forms import WebhookForm
from webhooks.models import Webhook, WebhookEvent


def _secret_key(webhook_id: str) -> str:
    return f"webhook-secret:{webhook_id}"


def _load(request: HttpRequest, model_id: str, webhook_id: str) -> tuple[Model, Webhook]:
    model = load_entry(request, model_id, Action.WEBHOOK_MANAGE)
    return model, selectors.webhook_get(model=model, webhook_id=webhook_id)


def _settings_url(model: Model) -> str:
    return reverse("entry-settings", kwargs={"model_id": model.pk}) + "#webhooks"


def _detail_url(webhook: Webhook) -> str:
    return reverse(
        "webhook-detail", kwargs={"model_id": webhook.model_id, "webhook_id": webhook.pk}
    )


def _form_page(
    request: HttpRequest, model: Model, form: WebhookForm, *, status: int = 200
) -> HttpResponse:
    context = entry_context(request, model, tab="settings")
    context.update({"form": form, "webhook": form.webhook})
    return render(request, "webhooks/webhook_form.html", context, status=status)


@entry_page
@require_http_methods(["GET", "HEAD", "POST"])
def webhook_new(request: HttpRequest, model_id: str) -> HttpResponse:
    model = load_entry(request, model_id, Action.WEBHOOK_MANAGE)
    if request.method != "POST":
        return _form_page(request, model, WebhookForm())
    form = WebhookForm(request.POST)
    if form.is_valid():
        try:
            webhook = services.webhook_create(
                actor=Actor.from_request(request), model=model, fields=form.api_fields()
            )
        except BailoError as exc:
            form.add_service_error(exc)
            return _form_page(request, model, form, status=exc.status)
        request.session[_secret_key(webhook.pk)] = webhook.secret
        messages.success(request, f"Webhook “{webhook.name}” was added.")
        return redirect(_detail_url(webhook))
    return _form_page(request, model, form, status=400)


@entry_page
@require_http_methods(["GET", "HEAD", "POST"])
def webhook_edit(request: HttpRequest, model_id: str, webhook_id: str) -> HttpResponse:
    model, webhook = _load(request, model_id, webhook_id)
    if request.method != "POST":
        return _form_page(request, model, WebhookForm(webhook=webhook))
    form = WebhookForm(request.POST, webhook=webhook)
    if form.is_valid():
        try:
            services.webhook_update(
                actor=Actor.from_request(request), webhook=webhook, changes=form.api_fields()
            )
        except BailoError as exc:
            form.add_service_error(exc)
            return _form_page(request, model, form, status=exc.status)
        messages.success(request, "Your changes were saved.")
        return redirect(_detail_url(webhook))
    return _form_page(request, model, form, status=400)


@never_cache
@entry_page
@require_http_methods(["GET", "HEAD"])
def webhook_detail(request: HttpRequest, model_id: str, webhook_id: str) -> HttpResponse:
    """The webhook, its recent deliveries and what can be done with them; once after it was
    created or given a new secret, the secret."""
    model, webhook = _load(request, model_id, webhook_id)
    secret = request.session.pop(_secret_key(webhook.pk), None)
    deliveries = [
        {"delivery": d, "body": selectors.pretty_body(d)}
        for d in selectors.delivery_list(webhook=webhook)
    ]
    labels = dict(WebhookEvent.choices)
    context = entry_context(request, model, tab="settings")
    context.update(
        {
            "webhook": webhook,
            "secret": secret,
            "deliveries": deliveries,
            "event_labels": [(e, labels.get(e, e)) for e in webhook.events],
        }
    )
    return render(request, "webhooks/webhook_detail.html", context)


def _after_action(request: HttpRequest, webhook: Webhook) -> HttpResponse:
    """Back to where the action was asked from: the settings page or the webhook's page."""
    if request.POST.get("next") == "settings":
        return redirect(_settings_url(webhook.model))
    return redirect(_detail_url(webhook))


@entry_page
@require_POST
def webhook_active(request: HttpRequest, model_id: str, webhook_id: str) -> HttpResponse:
    """Pause (``active=0``) or resume (``active=1``)."""
    _, webhook = _load(request, model_id, webhook_id)
    active = request.POST.get("active") == "1"
    try:
        services.webhook_update(
            actor=Actor.from_request(request), webhook=webhook, changes={"active": active}
        )
    except BailoError as exc:
        messages.error(request, exc.message)
    else:
        state = "resumed: it sends events again" if active else "paused: it sends nothing"
        messages.success(request, f"Webhook “{webhook.name}” is {state}.")
    return _after_action(request, webhook)


@entry_page
@require_POST
def webhook_test(request: HttpRequest, model_id: str, webhook_id: str) -> HttpResponse:
    _, webhook = _load(request, model_id, webhook_id)
    try:
        delivery = services.webhook_send_test(actor=Actor.from_request(request), webhook=webhook)
    except BailoError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"A test event was queued (delivery {delivery.pk}); see it below."
        )
    return _after_action(request, webhook)


@entry_page
@require_POST
def webhook_secret(request: HttpRequest, model_id: str, webhook_id: str) -> HttpResponse:
    _, webhook = _load(request, model_id, webhook_id)
    webhook = services.webhook_secret_reset(actor=Actor.from_request(request), webhook=webhook)
    request.session[_secret_key(webhook.pk)] = webhook.secret
    messages.success(request, "The webhook has a new secret; the old one no longer signs.")
    return redirect(_detail_url(webhook))


@entry_page
@require_POST
def webhook_redeliver(
    request: HttpRequest, model_id: str, webhook_id: str, delivery_id: str
) -> HttpResponse:
    _, webhook = _load(request, model_id, webhook_id)
    delivery = selectors.delivery_get(webhook=webhook, delivery_id=delivery_id)
    try:
        again = services.delivery_redeliver(actor=Actor.from_request(request), delivery=delivery)
    except BailoError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The delivery was queued again as {again.pk}.")
    return redirect(_detail_url(webhook))


@entry_page
@require_http_methods(["GET", "HEAD", "POST"])
def webhook_delete(request: HttpRequest, model_id: str, webhook_id: str) -> HttpResponse:
    """GET: what deleting removes and a button; POST: delete, back to the settings page."""
    model, webhook = _load(request, model_id, webhook_id)
    if request.method == "POST":
        services.webhook_delete(actor=Actor.from_request(request), webhook=webhook)
        messages.success(request, f"Webhook “{webhook.name}” was deleted.")
        return redirect(_settings_url(model))
    context: dict[str, Any] = entry_context(request, model, tab="settings")
    context["webhook"] = webhook
    return render(request, "webhooks/webhook_delete.html", context)


_WEBHOOK = "model/<str:model_id>/settings/webhooks/<str:webhook_id>"

urlpatterns = [
    path("model/<str:model_id>/settings/webhooks/new", webhook_new, name="webhook-new"),
    path(_WEBHOOK, webhook_detail, name="webhook-detail"),
    path(f"{_WEBHOOK}/edit", webhook_edit, name="webhook-edit"),
    path(f"{_WEBHOOK}/active", webhook_active, name="webhook-active"),
    path(f"{_WEBHOOK}/test", webhook_test, name="webhook-test"),
    path(f"{_WEBHOOK}/secret", webhook_secret, name="webhook-secret"),
    path(f"{_WEBHOOK}/delete", webhook_delete, name="webhook-delete"),
    path(
        f"{_WEBHOOK}/deliveries/<str:delivery_id>/redeliver",
        webhook_redeliver,
        name="webhook-redeliver",
    ),
]
