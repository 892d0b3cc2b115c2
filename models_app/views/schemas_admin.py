"""Administration pages: schemas, schema migration plans and the review-role list.

Only administrators reach these pages (others get 403, anonymous visitors the sign-in page); the
services check again, so the pages and the API share one rule. The paths live under
``/administration/`` because ``/admin/`` is Django's admin site.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import BadRequest, BailoError
from models_app import selectors, services
from models_app.frame import admin_required
from models_app.models import Schema, SchemaKind, SchemaMigration
from models_app.policy import Actor
from models_app.roles import review_role_names, review_roles, undefined_review_roles
from models_app.schema_validation import iter_questions

View = Callable[..., HttpResponse]

# Bailo's JSON body limit is 100 kB; schemas are larger than most bodies, so allow ten times that.
MAX_SCHEMA_BYTES = 1024 * 1024


def _schema_or_404(schema_id: str) -> Schema:
    schema = Schema.objects.filter(pk=schema_id).first()
    if schema is None:
        raise Http404(f"Schema {schema_id} not found")
    return schema


# --- schemas ----------------------------------------------------------------------------------


def _schemas_page(request: HttpRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    counts = selectors.schema_usage_counts()
    rows = [{"schema": s, "usage": counts.get(s.id, 0)} for s in selectors.schema_list(hidden=None)]
    return render(
        request,
        "models_app/admin_schemas.html",
        {
            "rows": rows,
            "defined_roles": review_role_names(),
            "error": error,
            "admin_tab": "schemas",
        },
        status=status,
    )


@admin_required
def administration(request: HttpRequest) -> HttpResponse:
    return _schemas_page(request)


def _schema_field(message: str) -> str:
    """Which form field a schema service error is about, for aria-invalid and its message."""
    prefixes = {
        "id ": "id",
        "A schema with id": "id",
        "name ": "name",
        "kind ": "kind",
        "jsonSchema": "json_schema",
        "reviewRoles": "review_roles",
        "Review role short names": "review_roles",
    }
    for prefix, field in prefixes.items():
        if message.startswith(prefix):
            return field
    return ""


def _read_json_schema(request: HttpRequest) -> Any:
    """The uploaded file if there is one, else the pasted text, parsed as JSON."""
    upload = request.FILES.get("json_file")
    if upload is not None:
        raw = upload.read(MAX_SCHEMA_BYTES + 1)
        if len(raw) > MAX_SCHEMA_BYTES:
            raise BadRequest("jsonSchema file is larger than 1 MiB")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequest("jsonSchema file must be UTF-8 text") from exc
    else:
        text = request.POST.get("json_text", "")
    if not text.strip():
        raise BadRequest("jsonSchema is required: upload a file or paste the schema")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise BadRequest(f"jsonSchema is not valid JSON: {exc}") from exc


@admin_required
@require_http_methods(["GET", "POST"])
def schema_new(request: HttpRequest) -> HttpResponse:
    values: dict[str, Any] = {"kind": SchemaKind.MODEL, "review_roles": []}
    if request.method == "POST":
        values = {
            "id": request.POST.get("id", ""),
            "name": request.POST.get("name", ""),
            "description": request.POST.get("description", ""),
            "kind": request.POST.get("kind", ""),
            "review_roles": request.POST.getlist("review_roles"),
            "json_text": request.POST.get("json_text", ""),
        }
        try:
            schema = services.schema_create(
                actor=Actor.from_request(request),
                schema_id=values["id"],
                name=values["name"],
                description=values["description"],
                kind=values["kind"],
                json_schema=_read_json_schema(request),
                review_roles=values["review_roles"],
            )
        except BailoError as exc:
            field = _schema_field(exc.message)
            context = {
                "values": values,
                "kinds": SchemaKind.choices,
                "review_roles": review_roles(),
                "form_error": exc.message,
                "errors": {field: exc.message} if field else {},
                "problems": exc.context.get("validationErrors", []),
                "admin_tab": "schemas",
            }
            return render(request, "models_app/admin_schema_new.html", context, status=exc.status)
        messages.success(request, f"Schema {schema.id} was created.")
        return redirect("administration-schema", schema_id=schema.id)
    context = {
        "values": values,
        "kinds": SchemaKind.choices,
        "review_roles": review_roles(),
        "errors": {},
        "admin_tab": "schemas",
    }
    return render(request, "models_app/admin_schema_new.html", context)


def _schema_page(
    request: HttpRequest, schema: Schema, *, error: str = "", status: int = 200
) -> HttpResponse:
    context = {
        "schema": schema,
        "schema_json": json.dumps(schema.json_schema, indent=2),
        "usage": selectors.schema_usage_count(schema),
        "review_roles": review_roles(),
        "undefined_roles": undefined_review_roles(schema.review_roles),
        "error": error,
        "admin_tab": "schemas",
    }
    return render(request, "models_app/admin_schema_detail.html", context, status=status)


@admin_required
def schema_detail(request: HttpRequest, schema_id: str) -> HttpResponse:
    return _schema_page(request, _schema_or_404(schema_id))


def _flag(value: str, name: str) -> bool:
    if value not in {"true", "false"}:
        raise BadRequest(f"{name} must be true or false")
    return value == "true"


@admin_required
@require_POST
def schema_update(request: HttpRequest, schema_id: str) -> HttpResponse:
    """Mark active/inactive, hidden/visible, or replace the review roles."""
    schema = _schema_or_404(schema_id)
    changes: dict[str, Any] = {}
    try:
        for key in ("active", "hidden"):
            if key in request.POST:
                changes[key] = _flag(request.POST[key], key)
        if "review_roles_submitted" in request.POST:
            changes["reviewRoles"] = request.POST.getlist("review_roles")
        if not changes:
            raise BadRequest("Nothing to change")
        services.schema_update(actor=Actor.from_request(request), schema=schema, changes=changes)
    except BailoError as exc:
        schema.refresh_from_db()
        return _schema_page(request, schema, error=exc.message, status=exc.status)
    messages.success(request, f"Schema {schema.id} was updated.")
    if request.POST.get("return_to") == "list":
        return redirect("administration")
    return redirect("administration-schema", schema_id=schema.id)


@admin_required
@require_POST
def schema_delete(request: HttpRequest, schema_id: str) -> HttpResponse:
    schema = _schema_or_404(schema_id)
    try:
        services.schema_delete(actor=Actor.from_request(request), schema=schema)
    except BailoError as exc:
        return _schema_page(request, schema, error=exc.message, status=exc.status)
    messages.success(request, f"Schema {schema_id} was deleted.")
    return redirect("administration")


@admin_required
def schema_usage(request: HttpRequest, schema_id: str) -> HttpResponse:
    schema = _schema_or_404(schema_id)
    entries = selectors.schema_usage(schema).only("id", "name", "kind").order_by("name", "id")
    return render(
        request,
        "models_app/admin_schema_usage.html",
        {
            "schema": schema,
            "entries": entries,
            "others": selectors.schema_other_uses(schema),
            "admin_tab": "schemas",
        },
    )


# --- schema migrations ------------------------------------------------------------------------


@admin_required
def migration_list(request: HttpRequest) -> HttpResponse:
    migrations = SchemaMigration.objects.select_related("source_schema", "target_schema").only(
        "id",
        "name",
        "draft",
        "created_at",
        "source_schema__id",
        "source_schema__name",
        "target_schema__id",
        "target_schema__name",
    )
    return render(
        request,
        "models_app/admin_migrations.html",
        {"migrations": migrations, "admin_tab": "migrations"},
    )


def _plan_rows(
    source: Schema | None, target: Schema | None, chosen: dict[str, dict[str, str]]
) -> tuple[list[dict[str, Any]], list[str]]:
    """One row per question of the source schema, with what the admin chose for it."""
    if source is None:
        return [], []
    target_paths = [p for p, _ in iter_questions(target.json_schema)] if target else []
    rows = []
    for index, (question_path, prop) in enumerate(iter_questions(source.json_schema)):
        choice = chosen.get(question_path, {})
        rows.append(
            {
                "index": index,
                "path": question_path,
                "title": prop.get("title") or question_path,
                "type": str(prop.get("type") or ""),
                "kind": choice.get("kind", "keep"),
                "target": choice.get("targetPath", ""),
            }
        )
    return rows, target_paths


def _chosen_from_post(request: HttpRequest, source: Schema | None) -> dict[str, dict[str, str]]:
    if source is None:
        return {}
    # Fields are named by question path, not position: the order of a schema's properties is
    # not something to rely on between two requests.
    chosen: dict[str, dict[str, str]] = {}
    for question_path, _ in iter_questions(source.json_schema):
        chosen[question_path] = {
            "kind": request.POST.get(f"kind:{question_path}", "keep"),
            "targetPath": request.POST.get(f"target:{question_path}", ""),
        }
    return chosen


def _question_migrations(source: Schema, chosen: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    """Bailo's ``questionMigrations``: only questions to move or delete; the rest stay put."""
    plan: list[dict[str, Any]] = []
    for question_path, prop in iter_questions(source.json_schema):
        choice = chosen.get(question_path, {})
        kind = choice.get("kind", "keep")
        if kind == "keep":
            continue
        if kind not in {"move", "delete"}:
            raise BadRequest(f"Choose keep, move or delete for {question_path}")
        if kind == "move" and not choice.get("targetPath"):
            raise BadRequest(f"Choose where {question_path} moves to")
        plan.append(
            {
                "id": f"q{len(plan) + 1}",
                "kind": kind,
                "sourcePath": question_path,
                "targetPath": choice.get("targetPath") if kind == "move" else None,
                "propertyType": str(prop.get("type") or ""),
            }
        )
    return plan


def _migration_page(
    request: HttpRequest,
    *,
    migration: SchemaMigration | None,
    values: dict[str, Any],
    chosen: dict[str, dict[str, str]],
    error: str = "",
    notice: str = "",
    status: int = 200,
) -> HttpResponse:
    schemas = list(Schema.objects.only("id", "name", "kind").order_by("kind", "name"))
    by_id = {s.id: s for s in schemas}
    source = Schema.objects.filter(pk=values.get("source") or None).first()
    target = Schema.objects.filter(pk=values.get("target") or None).first()
    rows, target_paths = _plan_rows(source, target, chosen)
    context = {
        "migration": migration,
        "values": values,
        "schemas": schemas,
        "source": source,
        "target": target,
        "rows": rows,
        "target_paths": target_paths,
        "error": error,
        "notice": notice,
        "unknown_schema": any(
            values.get(k) and values.get(k) not in by_id for k in ("source", "target")
        ),
        "admin_tab": "migrations",
    }
    return render(request, "models_app/admin_migration_form.html", context, status=status)


def _migration_form(request: HttpRequest, migration: SchemaMigration | None) -> HttpResponse:
    if request.method == "GET":
        if migration is not None:
            values = {
                "name": migration.name,
                "description": migration.description,
                "source": request.GET.get("source", migration.source_schema_id),
                "target": request.GET.get("target", migration.target_schema_id),
            }
            chosen = {
                q["sourcePath"]: {"kind": q["kind"], "targetPath": q.get("targetPath") or ""}
                for q in migration.question_migrations
            }
        else:
            values = {
                "name": "",
                "description": "",
                "source": request.GET.get("source", ""),
                "target": request.GET.get("target", ""),
            }
            chosen = {}
        return _migration_page(request, migration=migration, values=values, chosen=chosen)

    values = {
        "name": request.POST.get("name", ""),
        "description": request.POST.get("description", ""),
        "source": request.POST.get("source", ""),
        "target": request.POST.get("target", ""),
    }
    # The questions on the page belong to the schema they were drawn for; after a change of
    # source schema the admin must look at the new questions before anything is saved.
    shown_for = request.POST.get("questions_for", "")
    source = Schema.objects.filter(pk=values["source"] or None).first()
    chosen = _chosen_from_post(request, source) if shown_for == values["source"] else {}
    status_choice = request.POST.get("status", "")
    if status_choice not in {"draft", "final"}:
        return _migration_page(request, migration=migration, values=values, chosen=chosen)
    if shown_for != values["source"]:
        return _migration_page(
            request,
            migration=migration,
            values=values,
            chosen=chosen,
            notice="The source schema changed: choose what happens to its questions, then save.",
        )
    try:
        if source is None:
            raise BadRequest("Choose a source schema")
        if not values["target"]:
            raise BadRequest("Choose a target schema")
        saved = services.schema_migration_save(
            actor=Actor.from_request(request),
            name=values["name"],
            description=values["description"],
            source_schema_id=values["source"],
            target_schema_id=values["target"],
            question_migrations=_question_migrations(source, chosen),
            draft=status_choice == "draft",
            migration=migration,
        )
    except BailoError as exc:
        return _migration_page(
            request,
            migration=migration,
            values=values,
            chosen=chosen,
            error=exc.message,
            status=exc.status,
        )
    state = "a draft" if saved.draft else "final"
    messages.success(request, f"Migration plan “{saved.name}” was saved as {state}.")
    return redirect("administration-migration", migration_id=saved.id)


@admin_required
@require_http_methods(["GET", "POST"])
def migration_new(request: HttpRequest) -> HttpResponse:
    return _migration_form(request, None)


@admin_required
@require_http_methods(["GET", "POST"])
def migration_edit(request: HttpRequest, migration_id: str) -> HttpResponse:
    migration = SchemaMigration.objects.filter(pk=migration_id).first()
    if migration is None:
        raise Http404(f"Migration {migration_id} not found")
    return _migration_form(request, migration)


urlpatterns = [
    path("administration/", administration, name="administration"),
    path("administration/schemas/new", schema_new, name="administration-schema-new"),
    path("administration/schemas/<str:schema_id>", schema_detail, name="administration-schema"),
    path(
        "administration/schemas/<str:schema_id>/update",
        schema_update,
        name="administration-schema-update",
    ),
    path(
        "administration/schemas/<str:schema_id>/delete",
        schema_delete,
        name="administration-schema-delete",
    ),
    path(
        "administration/schemas/<str:schema_id>/usage",
        schema_usage,
        name="administration-schema-usage",
    ),
    path("administration/migrations", migration_list, name="administration-migrations"),
    path("administration/migrations/new", migration_new, name="administration-migration-new"),
    path(
        "administration/migrations/<str:migration_id>",
        migration_edit,
        name="administration-migration",
    ),
]
