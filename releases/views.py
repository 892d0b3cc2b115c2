"""Release pages: the Releases tab, a release, and the forms that create and edit one.

Views stay thin: they load the entry through the policy, call one selector or service and render.
Unknown entries and invisible releases (drafts, for people who may not see them) are 404; a
visible entry the user may not act on is 403. Service refusals show on the form with their status.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from core.errors import BailoError
from core.ports import registry
from models_app.frame import (
    MODEL_KINDS,
    entry_context,
    entry_page,
    load_entry,
)
from models_app.models import Model
from models_app.policy import Action, Actor, Subject, allowed
from models_app.selectors import card_revisions
from releases import selectors, services
from releases.files.selectors import finding_count, worst_scan_state
from releases.models import File, Release, ScanState
from releases.pages import (
    RELEASE_CREATED_WARNINGS,
    RELEASE_LIST_STATES,
    RELEASE_PAGE_BANNERS,
    RELEASE_PAGE_PANELS,
)

SCAN_LABELS = {
    ScanState.IN_PROGRESS: "Scan in progress",
    ScanState.NOT_SCANNED: "Not scanned",
    ScanState.ERROR: "Scan failed",
    ScanState.SKIPPED: "Scan skipped",
    ScanState.COMPLETE: "Scanned",
}


# --- forms: they shape input for the services, which own every rule ---------------------------


def _file_label(file: File) -> str:
    return f"{file.name} ({filesizeformat(file.size)})"


def image_ref(image: dict[str, str]) -> str:
    return f"{image['name']}:{image['tag']}"


def registry_tags(model: Model) -> tuple[list[str] | None, str]:
    """Every ``name:tag`` of the entry in the registry, or None (with the reason) when the
    registry cannot be listed, in which case the form has no images to choose from and saves
    the release without changing its images."""
    try:
        images = registry.list_images(model.pk)
    except registry.RegistryNotConfigured:
        return None, "This instance has no Docker registry, so a release cannot name images."
    except registry.RegistryUnavailable:
        return None, (
            "The registry could not be reached to list this model's images. You can still save "
            "the release; add its images later by editing it."
        )
    return [f"{i['name']}:{t['tag']}" for i in images for t in i["tags"]], ""


class ReleaseForm(forms.Form):
    """Create (``creating=True``) or edit a release. Semver and minor exist only when creating;
    ``draft`` only when creating or while the release is still a draft."""

    semver = forms.CharField(
        label="Version",
        max_length=100,
        help_text="A semantic version such as 1.0.0 or 2.1.0-rc.1. It can never be reused.",
    )
    notes = forms.CharField(
        label="Release notes",
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Markdown: what changed, how to use it, known limits.",
    )
    model_card_version = forms.TypedChoiceField(
        label="Model card version",
        coerce=int,
        empty_value=None,
        help_text="The card version this release follows.",
    )
    file_ids = forms.MultipleChoiceField(
        label="Files", required=False, widget=forms.CheckboxSelectMultiple
    )
    images = forms.MultipleChoiceField(
        label="Images",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Tags of this model's images in the registry.",
    )
    minor = forms.BooleanField(
        label="Minor release (no review needed; cannot be changed later)", required=False
    )
    draft = forms.BooleanField(
        label="Draft (only owners and contributors see it; no review until it is published)",
        required=False,
    )

    def __init__(
        self,
        *args: Any,
        model: Model,
        creating: bool,
        release: Release | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.model = model
        self.release = release
        # The highest status among the service's refusals found while validating (409 for a
        # taken version), so the page answers as the API would.
        self.problem_status = 0
        revisions = list(card_revisions(model))
        if not revisions:
            # The service explains that a card is needed; the form should not hide that.
            self.fields["model_card_version"].required = False
        self._choice_field("model_card_version").choices = [
            (r.version, f"Version {r.version}{' (current)' if r.pk == model.card_id else ''}")
            for r in revisions
        ]
        self._choice_field("file_ids").choices = [
            (f.pk, _file_label(f)) for f in selectors.complete_files_of(model)
        ]
        if tags is None:
            del self.fields["images"]
        else:
            current = [image_ref(i) for i in (release.images if release else [])]
            choices = list(dict.fromkeys([*tags, *current]))
            self._choice_field("images").choices = [(t, f"{model.pk}/{t}") for t in choices]
        if not creating:
            del self.fields["semver"]
            del self.fields["minor"]
            if release is not None and not release.draft:
                del self.fields["draft"]
            else:
                self.fields["draft"].label = "Keep as a draft (untick to publish it)"

    def _choice_field(self, name: str) -> forms.ChoiceField:
        return cast(forms.ChoiceField, self.fields[name])

    def image_refs(self) -> list[dict[str, str]] | None:
        """The chosen images, or None when the registry could not be listed (no images field):
        then a new release has none and an edited one keeps its own."""
        if "images" not in self.fields:
            return None
        chosen = self.cleaned_data.get("images") or []
        return [
            {"repository": self.model.pk, "name": n, "tag": t}
            for n, _, t in (ref.rpartition(":") for ref in chosen)
        ]

    def clean(self) -> dict[str, Any]:
        """One round: the service's own checks (a taken version, a missing card version, files
        and images) run with the form's, so every problem shows at once."""
        data = super().clean() or {}
        wanted: dict[str, Any] = {}
        if "semver" in self.fields and "semver" in data:
            wanted["semver"] = data["semver"]
        if "model_card_version" in data:
            wanted["model_card_version"] = data["model_card_version"]
        if "file_ids" in data:
            wanted["file_ids"] = list(data["file_ids"] or [])
        if "images" in self.fields and "images" in data:
            wanted["images"] = self.image_refs()
        problems = services.release_problems(
            model=self.model,
            known_images=self.release.images if self.release is not None else (),
            **wanted,
        )
        fields = {
            "semver": "semver",
            "modelCardVersion": "model_card_version",
            "fileIds": "file_ids",
            "images": "images",
        }
        for name, exc in problems.items():
            field = fields[name]
            if field in self.fields and field not in self.errors:
                self.add_error(field, exc.message)
                self.problem_status = max(self.problem_status, exc.status)
        return data

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        images = self.image_refs()
        arguments: dict[str, Any] = {
            "notes": data["notes"],
            "model_card_version": data["model_card_version"],
            "file_ids": list(data.get("file_ids") or []),
            "images": images if images is not None else [],
        }
        if "semver" in self.fields:
            arguments.update(semver=data["semver"], minor=data["minor"], draft=data["draft"])
        return arguments

    def changes(self) -> dict[str, Any]:
        """The ``release_update`` changes this (edit) form asks for."""
        arguments = self.service_arguments()
        changes = {
            "notes": arguments["notes"],
            "modelCardVersion": arguments["model_card_version"],
            "fileIds": arguments["file_ids"],
        }
        if "images" in self.fields:
            changes["images"] = arguments["images"]
        if "draft" in self.fields:
            changes["draft"] = self.cleaned_data["draft"]
        return changes

    def show_error(self, exc: BailoError) -> None:
        """Put a service refusal next to the field it is about, so it is announced there."""
        context = exc.context
        field: str | None = None
        if "semver" in context and "semver" in self.fields:
            field = "semver"
        elif {"fileId", "fileIds", "duplicates"} & set(context):
            field = "file_ids"
        elif {"image", "missingImages"} & set(context) and "images" in self.fields:
            field = "images"
        elif "modelCardVersion" in context:
            field = "model_card_version"
        self.add_error(field, exc.message)


# --- helpers ------------------------------------------------------------------------------------


def _files_page_url(model: Model) -> str:
    """The Files tab, where files are uploaded (the files feature's page)."""
    return reverse("entry-files", kwargs={"model_id": model.pk})


def _registry_host(request: HttpRequest) -> str:
    return settings.REGISTRY_HOST or request.get_host()


def _load_release(request: HttpRequest, model: Model, semver: str) -> Release:
    return selectors.release_get_visible(
        actor=Actor.from_request(request), model=model, semver=semver
    )


def _file_rows(release: Release) -> list[dict[str, Any]]:
    rows = []
    for file in selectors.release_files(release):
        scans = list(file.scans.all())
        state = worst_scan_state(file)
        findings = finding_count(file)
        label = SCAN_LABELS[ScanState(state)]
        if state == ScanState.COMPLETE:
            label = f"{findings} finding{'s' if findings != 1 else ''}" if findings else "Clean"
        rows.append(
            {
                "file": file,
                "scan_state": state,
                "scan_label": label,
                "findings": findings,
                "tools": [f"{s.tool_name}: {SCAN_LABELS[ScanState(s.state)]}" for s in scans],
            }
        )
    return rows


def _form_page(
    request: HttpRequest,
    model: Model,
    form: ReleaseForm,
    *,
    template: str,
    status: int,
    extra: dict[str, Any],
) -> HttpResponse:
    context = entry_context(request, model, tab="releases")
    context.update(
        {
            "form": form,
            "files_page": _files_page_url(model),
            "can_upload": allowed(Actor.from_request(request), Action.FILE_UPLOAD, model),
            **extra,
        }
    )
    return render(request, template, context, status=status)


# --- pages --------------------------------------------------------------------------------------


@entry_page
@require_http_methods(["GET", "HEAD"])
def release_list(request: HttpRequest, model_id: str) -> HttpResponse:
    """The Releases tab: every visible release, newest version first, optionally filtered by an
    npm-style range."""
    model = load_entry(request, model_id, Action.RELEASE_VIEW)
    if model.kind not in MODEL_KINDS:
        return redirect("entry-overview", model_id=model.pk)
    actor = Actor.from_request(request)
    query_text = request.GET.get("querySemver", "").strip()
    status = 200
    error = ""
    try:
        query = selectors.parse_semver_query(query_text) if query_text else None
    except BailoError as exc:
        query, status, error = None, exc.status, exc.message
    releases = (
        [] if error else selectors.release_list_visible(actor=actor, model=model, query=query)
    )
    states: dict[Any, tuple[str, str]] = {}
    for add_states in RELEASE_LIST_STATES:
        states.update(add_states(releases))
    context = entry_context(request, model, tab="releases")
    context.update(
        {
            "releases": [
                {
                    "release": r,
                    "file_count": len(selectors.release_files(r)),
                    "review": states.get(r.pk),
                }
                for r in releases
            ],
            "query": query_text,
            "error": error,
            "can_create": allowed(actor, Action.RELEASE_CREATE, model),
        }
    )
    return render(request, "releases/release_list.html", context, status=status)


@entry_page
@require_http_methods(["GET", "HEAD", "POST"])
def release_new(request: HttpRequest, model_id: str) -> HttpResponse:
    model = load_entry(request, model_id, Action.RELEASE_CREATE)
    if model.kind not in MODEL_KINDS:
        return redirect("entry-overview", model_id=model.pk)
    tags, registry_note = registry_tags(model)
    data = request.POST if request.method == "POST" else None
    initial: dict[str, Any] = {}
    if model.card is not None:
        initial["model_card_version"] = model.card.version
    form = ReleaseForm(data, model=model, creating=True, tags=tags, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if not form.is_valid():
            status = form.problem_status or 400
        else:
            try:
                release = services.release_create(
                    actor=Actor.from_request(request), model=model, **form.service_arguments()
                )
            except BailoError as exc:
                form.show_error(exc)
                status = exc.status
            else:
                messages.success(request, f"Release {release.semver} was created.")
                for warn in RELEASE_CREATED_WARNINGS:
                    for text in warn(model, release):
                        messages.warning(request, text)
                return redirect("release-detail", model_id=model.pk, semver=release.semver)
    return _form_page(
        request,
        model,
        form,
        template="releases/release_form.html",
        status=status,
        extra={"creating": True, "registry_note": registry_note, "has_card": model.card_id},
    )


@entry_page
@require_http_methods(["GET", "HEAD"])
def release_detail(request: HttpRequest, model_id: str, semver: str) -> HttpResponse:
    model = load_entry(request, model_id, Action.RELEASE_VIEW)
    release = _load_release(request, model, semver)
    actor = Actor.from_request(request)
    current_card = model.card.version if model.card is not None else None
    context = entry_context(request, model, tab="releases")
    context.update(
        {
            "release": release,
            "files": _file_rows(release),
            "images": [
                {
                    **image,
                    "pull": f"docker pull {_registry_host(request)}/{model.pk}/"
                    f"{image['name']}:{image['tag']}",
                }
                for image in release.images
            ],
            "current_card": current_card,
            "can_edit": allowed(actor, Action.RELEASE_EDIT, model),
            # Reviewers of this release may download its files too (the policy's Subject).
            "can_download": allowed(
                actor, Action.FILE_DOWNLOAD, model, Subject(release=release.pk)
            ),
            "can_delete_release": allowed(actor, Action.RELEASE_DELETE, model),
            "banners": [
                banner
                for add_banner in RELEASE_PAGE_BANNERS
                if (banner := add_banner(request, model, release)) is not None
            ],
            "panels": [
                panel
                for add_panel in RELEASE_PAGE_PANELS
                if (panel := add_panel(request, model, release)) is not None
            ],
        }
    )
    return render(request, "releases/release_detail.html", context)


@entry_page
@require_http_methods(["GET", "HEAD", "POST"])
def release_edit(request: HttpRequest, model_id: str, semver: str) -> HttpResponse:
    model = load_entry(request, model_id, Action.RELEASE_EDIT)
    release = _load_release(request, model, semver)
    tags, registry_note = registry_tags(model)
    data = request.POST if request.method == "POST" else None
    initial = {
        "notes": release.notes,
        "model_card_version": release.model_card_version,
        "file_ids": [f.pk for f in selectors.release_files(release)],
        "images": [image_ref(i) for i in release.images],
        "draft": release.draft,
    }
    form = ReleaseForm(
        data, model=model, creating=False, release=release, tags=tags, initial=initial
    )
    status = 200
    if request.method == "POST":
        status = 400
        if not form.is_valid():
            status = form.problem_status or 400
        else:
            try:
                services.release_update(
                    actor=Actor.from_request(request), release=release, changes=form.changes()
                )
            except BailoError as exc:
                form.show_error(exc)
                status = exc.status
            else:
                messages.success(request, f"Release {release.semver} was saved.")
                return redirect("release-detail", model_id=model.pk, semver=release.semver)
    return _form_page(
        request,
        model,
        form,
        template="releases/release_form.html",
        status=status,
        extra={
            "creating": False,
            "release": release,
            "registry_note": registry_note,
            "has_card": True,
        },
    )


urlpatterns = [
    path("model/<str:model_id>/releases", release_list, name="entry-releases"),
    path("model/<str:model_id>/release/new", release_new, name="release-new"),
    path("model/<str:model_id>/release/<str:semver>", release_detail, name="release-detail"),
    path("model/<str:model_id>/release/<str:semver>/edit", release_edit, name="release-edit"),
]
