"""The Django admin for deletions: the list, restore and "purge now", and read-only views of
soft-deleted rows.

The admin is where soft-deleted rows are visible, and the only place: these classes list
``all_objects`` (every other part of the site reads through ``objects``, which hides them). Every
class here is read-only; the only writes are the two actions, and they go through the deletion
services, which check that the actor is an administrator.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Model as DjangoModel
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from access.models import AccessRequest
from core.errors import BailoError
from deletion.beneath import is_queued
from deletion.cascade import CASCADE, Treatment, count_labels
from deletion.models import Deletion
from deletion.services import deletion_purge_now, deletion_restore
from inference.models import DeploymentStatus, InferenceService
from inference.services import removals_pending
from inference.tasks import queue_removals
from models_app.models import Model as Entry
from models_app.policy import Actor
from releases.models import File, Release
from reviews.models import Review


class ReadOnlyForAdministrators:
    """Visible to site administrators (the admin group, not only Django superusers, so Django's
    per-model permissions are not consulted); nobody adds, edits or deletes rows here."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return Actor.from_request(request).is_admin

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return Actor.from_request(request).is_admin

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# How each key of ``Deletion.counts`` reads, in the order shown (declared in the cascade).
COUNT_LABELS = count_labels()


def counts_text(counts: dict[str, Any]) -> str:
    """``{"releases": 1, "files": 3}`` as "1 release, 3 files" ("-" when nothing)."""
    parts = []
    for key, (one, many) in COUNT_LABELS.items():
        value = counts.get(key)
        if isinstance(value, int) and value:
            parts.append(f"{value} {one if value == 1 else many}")
    return ", ".join(parts) or "-"


@admin.register(Deletion)
class DeletionAdmin(ReadOnlyForAdministrators, admin.ModelAdmin[Deletion]):
    list_display = (
        "what",
        "deleted_by",
        "deleted_at",
        "purge_due",
        "state",
        "counts_summary",
        "size",
    )
    list_filter = ("state", "kind")
    search_fields = ("subject", "subject_name", "model_id")
    list_select_related = ("deleted_by", "restored_by")
    date_hierarchy = "deleted_at"
    actions = ["restore", "purge_now"]
    fields = (
        "kind",
        "subject",
        "subject_name",
        "model_id",
        "deleted_by",
        "deleted_at",
        "purge_due",
        "state",
        "counts_summary",
        "size",
        "hidden_rows",
        "outside_work",
        "counts",
        "progress",
        "purged_at",
        "restored_at",
        "restored_by",
    )
    readonly_fields = fields

    @admin.display(description="What", ordering="subject_name")
    def what(self, obj: Deletion) -> str:
        return f"{obj.get_kind_display()} {obj.subject_name or obj.subject}"

    @admin.display(description="Counts")
    def counts_summary(self, obj: Deletion) -> str:
        text = counts_text(obj.counts or {})
        if is_queued(obj) and obj.state in (Deletion.State.PENDING, Deletion.State.PURGING):
            # The entry is hidden; a worker has yet to hide (and count) the rows beneath it.
            return f"{text}; the rows beneath the entry are being hidden"
        return text

    @admin.display(description="Bytes", ordering="total_bytes")
    def size(self, obj: Deletion) -> str:
        return f"{filesizeformat(obj.total_bytes)} ({obj.total_bytes:,} bytes)"

    @admin.display(description="Rows it hides")
    def hidden_rows(self, obj: Deletion) -> str:
        """Links to the soft-deleted rows of this deletion, in the read-only admin lists."""
        if obj.state in (Deletion.State.PURGED, Deletion.State.RESTORED):
            return f"None: the deletion is {obj.get_state_display().lower()}"
        links = []
        # The cascade's soft-deletable tables that have a list here, the entry first.
        for table in reversed(CASCADE):
            if table.treatment is not Treatment.HIDE or not self.admin_site.is_registered(
                table.model
            ):
                continue
            opts = table.model._meta
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
            links.append((f"{url}?deletion={obj.pk}", str(opts.verbose_name_plural)))
        return format_html_join(", ", '<a href="{}">{}</a>', links)

    @admin.display(description="Waiting on other services")
    def outside_work(self, obj: Deletion) -> str:
        """Inference deployments the deploy service has not confirmed removed yet."""
        pending = list(removals_pending(obj).order_by("pk"))
        if not pending:
            return "Nothing"
        opts = InferenceService._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        errors = sorted({s.removal_error for s in pending if s.removal_error})
        text = (
            f"{len(pending)} inference service{'s' if len(pending) != 1 else ''} "
            "awaiting removal from the inference service"
        )
        if errors:
            text += f" (last error: {errors[-1]})"
        return format_html('{} · <a href="{}?deletion={}">see them</a>', text, url, obj.pk)

    @admin.action(description="Restore the selected deletions")
    def restore(self, request: HttpRequest, queryset: QuerySet[Deletion]) -> None:
        actor = Actor.from_request(request)
        for deletion in queryset.order_by("deleted_at", "pk"):
            try:
                restored = deletion_restore(actor=actor, deletion_id=deletion.pk)
            except BailoError as exc:
                self.message_user(
                    request,
                    f"{self.what(deletion)} was not restored: {exc.message}",
                    messages.ERROR,
                )
                continue
            back = counts_text(restored.counts or {})
            self.message_user(
                request,
                f"Restored {self.what(restored)}" + (f" with its {back}." if back != "-" else "."),
                messages.SUCCESS,
            )

    @admin.action(description="Purge the selected deletions now")
    def purge_now(self, request: HttpRequest, queryset: QuerySet[Deletion]) -> None:
        actor = Actor.from_request(request)
        for deletion in queryset.order_by("deleted_at", "pk"):
            try:
                after = deletion_purge_now(actor=actor, deletion_id=deletion.pk)
            except BailoError as exc:
                self.message_user(
                    request, f"{self.what(deletion)} was not purged: {exc.message}", messages.ERROR
                )
                continue
            if after.state == Deletion.State.PURGED:
                self.message_user(request, f"Purged {self.what(after)}.", messages.SUCCESS)
            else:
                self.message_user(
                    request,
                    f"The purge of {self.what(after)} is queued; its state shows its progress.",
                    messages.INFO,
                )


class DeletedFilter(admin.SimpleListFilter):
    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("deleted", "Deleted"), ("live", "Live")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        # A row beneath a deleted entry is deleted with it from the deletion's commit on, before
        # the worker has hidden it too (``deletion.beneath``).
        gone = Q(deleted_at__isnull=False)
        if queryset.model is not Entry:
            gone |= Q(model__deleted_at__isnull=False)
        if self.value() == "deleted":
            return queryset.filter(gone)
        if self.value() == "live":
            return queryset.exclude(gone)
        return queryset


class SoftDeletedRowsAdmin(ReadOnlyForAdministrators, admin.ModelAdmin[Any]):
    """Every row, deleted or not, with the deletion that hid it."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        model_class: type[DjangoModel] = self.model
        queryset = model_class.all_objects.all()  # type: ignore[attr-defined]
        ordering = self.get_ordering(request)
        return queryset.order_by(*ordering) if ordering else queryset

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        own = [field.name for field in self.model._meta.concrete_fields]
        return [*own, "deletion_link"]

    @admin.display(description="Deletion", ordering="deletion")
    def deletion_link(self, obj: Any) -> str:
        if obj.deletion_id is None:
            return "-"
        url = reverse("admin:deletion_deletion_change", args=[obj.deletion_id])
        return format_html('<a href="{}">#{}</a>', url, obj.deletion_id)


@admin.register(Entry)
class EntryAdmin(SoftDeletedRowsAdmin):
    list_display = ("name", "id", "kind", "visibility", "deleted_at", "deleted_by", "deletion_link")
    list_filter = (DeletedFilter, "kind", "visibility")
    search_fields = ("id", "name")
    list_select_related = ("deleted_by",)


@admin.register(Release)
class ReleaseAdmin(SoftDeletedRowsAdmin):
    list_display = ("model", "semver", "draft", "created_at", "deleted_at", "deletion_link")
    list_filter = (DeletedFilter, "draft")
    search_fields = ("model__id", "model__name", "semver")
    list_select_related = ("model",)


@admin.register(File)
class FileAdmin(SoftDeletedRowsAdmin):
    list_display = ("name", "id", "model", "size", "complete", "deleted_at", "deletion_link")
    list_filter = (DeletedFilter, "complete")
    search_fields = ("id", "name", "model__id", "model__name", "storage_key")
    list_select_related = ("model",)


@admin.register(AccessRequest)
class AccessRequestAdmin(SoftDeletedRowsAdmin):
    list_display = ("id", "model", "created_by", "created_at", "deleted_at", "deletion_link")
    list_filter = (DeletedFilter,)
    search_fields = ("id", "model__id", "model__name")
    list_select_related = ("model", "created_by")


@admin.register(Review)
class ReviewAdmin(SoftDeletedRowsAdmin):
    list_display = ("model", "kind", "role", "release", "created_at", "deleted_at", "deletion_link")
    list_filter = (DeletedFilter, "kind", "role")
    search_fields = ("model__id", "model__name", "role")
    list_select_related = ("model", "release")


@admin.register(InferenceService)
class InferenceServiceAdmin(SoftDeletedRowsAdmin):
    list_display = (
        "model",
        "image",
        "tag",
        "status",
        "removal_attempts",
        "removal_error",
        "removal_due_at",
        "deleted_at",
        "deletion_link",
    )
    list_filter = (DeletedFilter, "status")
    search_fields = ("model__id", "model__name", "image", "tag")
    list_select_related = ("model",)
    actions = ["retry_removal"]

    @admin.action(description="Retry removing the selected services from the inference service")
    def retry_removal(self, request: HttpRequest, queryset: QuerySet[InferenceService]) -> None:
        ids = list(queryset.filter(status=DeploymentStatus.REMOVING).values_list("pk", flat=True))
        queue_removals(ids)
        self.message_user(
            request,
            f"Asked the inference service again to remove {len(ids)} service"
            f"{'s' if len(ids) != 1 else ''}.",
            messages.SUCCESS,
        )
