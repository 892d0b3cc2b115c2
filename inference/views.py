"""Inferencing pages: the entry's Inferencing tab, "Create service", a service's page (the
deploy service's interface in a frame), its settings, redeploy and removal.

Every page answers 404 while ``INFERENCE_ENABLED`` is off, and loads the entry through the frame
(404 for an entry one cannot see, 403 for an action one may not take). Everything works without
JavaScript: actions are POST forms that redirect back.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import BailoError
from inference import services
from inference.forms import InferenceForm
from inference.models import DeploymentStatus, InferenceService
from models_app.frame import entry_context, entry_page, load_entry
from models_app.models import Model
from models_app.policy import Action, Actor, allowed
from releases.images.services import RegistryDown, image_list


def _entry(request: HttpRequest, model_id: str, action: Action) -> Model:
    services.require_enabled()
    model = load_entry(request, model_id, action)
    services.require_inference_kind(model)
    return model


def _load(
    request: HttpRequest, model_id: str, image: str, tag: str, action: Action
) -> tuple[Model, InferenceService]:
    model = _entry(request, model_id, action)
    return model, services.service_of(model, image, tag)


def _detail_url(service: InferenceService) -> str:
    return reverse(
        "inference-detail",
        kwargs={"model_id": service.model_id, "image": service.image, "tag": service.tag},
    )


def frame_url(service: InferenceService) -> str:
    """Where the deploy service shows a running service (Bailo's iframe address)."""
    host = settings.INFERENCE_HOST
    return f"{host}/inference/{service.model_id}/{service.image}/{service.tag}" if host else ""


@entry_page
@require_http_methods(["GET", "HEAD"])
def inference_tab(request: HttpRequest, model_id: str) -> HttpResponse:
    model = _entry(request, model_id, Action.INFERENCE_VIEW)
    context = entry_context(request, model, tab="inference")
    actor = context["actor"]
    context.update(
        {
            "services": list(services.services_of(model)),
            "can_create": allowed(actor, Action.INFERENCE_CREATE, model),
            "recording_only": not settings.INFERENCE_HOST,
        }
    )
    return render(request, "inference/inference_tab.html", context)


def _form_page(
    request: HttpRequest, model: Model, form: InferenceForm, *, error: str = "", status: int = 200
) -> HttpResponse:
    context = entry_context(request, model, tab="inference")
    context.update({"form": form, "service": form.service, "registry_error": error})
    return render(request, "inference/inference_form.html", context, status=status)


def _image_choices(actor: Actor, model: Model) -> tuple[list[str], str]:
    """The entry's deployable ``name:tag`` references, or why they could not be read."""
    try:
        images = image_list(actor=actor, model=model)
    except RegistryDown as exc:
        return [], exc.message
    return [
        f"{image['name']}:{tag}"
        for image in images
        if "/" not in image["name"]
        for tag in image["tags"]
    ], ""


@entry_page
@require_http_methods(["GET", "HEAD", "POST"])
def inference_new(request: HttpRequest, model_id: str) -> HttpResponse:
    model = _entry(request, model_id, Action.INFERENCE_CREATE)
    actor = Actor.from_request(request)
    images, error = _image_choices(actor, model)
    processors = services.processor_types()
    if request.method != "POST":
        form = InferenceForm(processors=processors, images=images)
        return _form_page(request, model, form, error=error, status=503 if error else 200)
    form = InferenceForm(request.POST, processors=processors, images=images)
    if not form.is_valid():
        return _form_page(request, model, form, error=error, status=400)
    try:
        service = services.inference_create(
            actor=actor, model_id=model.pk, fields=form.api_fields()
        )
    except BailoError as exc:
        form.add_service_error(exc)
        return _form_page(request, model, form, status=exc.status)
    messages.success(request, f"The service {service.image}:{service.tag} was created.")
    return redirect(_detail_url(service))


@entry_page
@require_http_methods(["GET", "HEAD"])
def inference_detail(request: HttpRequest, model_id: str, image: str, tag: str) -> HttpResponse:
    model, service = _load(request, model_id, image, tag, Action.INFERENCE_VIEW)
    context = entry_context(request, model, tab="inference")
    actor = context["actor"]
    context.update(
        {
            "service": service,
            "frame_url": frame_url(service) if service.status == DeploymentStatus.RUNNING else "",
            "can_edit": allowed(actor, Action.INFERENCE_EDIT, model),
            "can_delete": allowed(actor, Action.INFERENCE_DELETE, model),
        }
    )
    response = render(request, "inference/inference_detail.html", context)
    policy = settings.CONTENT_SECURITY_POLICY
    if policy and context["frame_url"]:
        # This page alone may frame the deploy service's origin (the site's policy frames
        # nothing: default-src 'self').
        parts = urlsplit(settings.INFERENCE_HOST)
        response["Content-Security-Policy"] = f"{policy}; frame-src {parts.scheme}://{parts.netloc}"
    return response


@entry_page
@require_http_methods(["GET", "HEAD", "POST"])
def inference_settings(request: HttpRequest, model_id: str, image: str, tag: str) -> HttpResponse:
    """A service's settings: read-only for viewers, a form for those who may change them."""
    model, service = _load(request, model_id, image, tag, Action.INFERENCE_VIEW)
    actor = Actor.from_request(request)
    processors = services.processor_types()
    if service.processor_type not in processors:  # a GPU type no longer configured
        processors.append(service.processor_type)
    if not allowed(actor, Action.INFERENCE_EDIT, model):
        if request.method == "POST":
            _entry(request, model_id, Action.INFERENCE_EDIT)  # the refusal, as a page
        context = entry_context(request, model, tab="inference")
        context.update({"service": service, "form": None})
        return render(request, "inference/inference_form.html", context)
    if request.method != "POST":
        return _form_page(request, model, InferenceForm(processors=processors, service=service))
    form = InferenceForm(request.POST, processors=processors, service=service)
    if not form.is_valid():
        return _form_page(request, model, form, status=400)
    try:
        services.inference_update(
            actor=actor, model_id=model.pk, image=image, tag=tag, fields=form.api_fields()
        )
    except BailoError as exc:
        form.add_service_error(exc)
        return _form_page(request, model, form, status=exc.status)
    messages.success(request, "Your changes were saved.")
    return redirect(_detail_url(service))


@entry_page
@require_POST
def inference_redeploy(request: HttpRequest, model_id: str, image: str, tag: str) -> HttpResponse:
    model, service = _load(request, model_id, image, tag, Action.INFERENCE_EDIT)
    try:
        services.inference_redeploy(
            actor=Actor.from_request(request), model_id=model.pk, image=image, tag=tag
        )
    except BailoError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The service {image}:{tag} was deployed again.")
    return redirect(_detail_url(service))


@entry_page
@require_http_methods(["GET", "HEAD", "POST"])
def inference_delete(request: HttpRequest, model_id: str, image: str, tag: str) -> HttpResponse:
    model, service = _load(request, model_id, image, tag, Action.INFERENCE_DELETE)
    context: dict[str, Any] = entry_context(request, model, tab="inference")
    context.update({"service": service, "error": ""})
    if request.method == "POST":
        try:
            services.inference_delete(
                actor=Actor.from_request(request), model_id=model.pk, image=image, tag=tag
            )
        except BailoError as exc:
            context["error"] = exc.message
            return render(request, "inference/inference_delete.html", context, status=exc.status)
        messages.success(request, f"The service {image}:{tag} was removed.")
        return redirect("entry-inference", model_id=model.pk)
    return render(request, "inference/inference_delete.html", context)


_SERVICE = "model/<str:model_id>/inference/<str:image>/<str:tag>"

urlpatterns = [
    path("model/<str:model_id>/inference", inference_tab, name="entry-inference"),
    path("model/<str:model_id>/inference/new", inference_new, name="inference-new"),
    path(_SERVICE, inference_detail, name="inference-detail"),
    path(f"{_SERVICE}/settings", inference_settings, name="inference-settings"),
    path(f"{_SERVICE}/redeploy", inference_redeploy, name="inference-redeploy"),
    path(f"{_SERVICE}/delete", inference_delete, name="inference-delete"),
]
