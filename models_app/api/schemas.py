"""The v2 API for schemas and schema migrations: Bailo's paths and JSON shapes.

Anyone signed in may read schemas and migration plans; only administrators change them (the
services check). Unknown ids answer 404.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from core.api_helpers import documented, query_flag, read_json
from core.errors import BadRequest, NotFound
from core.openapi import TIMESTAMP, answer, array, component, listing, obj, string
from models_app.models import Schema, SchemaKind, SchemaMigration
from models_app.policy import Actor
from models_app.selectors import (
    schema_json,
    schema_list,
    schema_migration_json,
    schema_migration_list,
)
from models_app.services import (
    schema_create,
    schema_delete,
    schema_migration_save,
    schema_update,
)

router = Router(tags=["schema"])


def _schema(schema_id: str) -> Schema:
    schema = Schema.objects.filter(pk=schema_id).first()
    if schema is None:
        raise NotFound(f"Schema {schema_id} not found", {"schemaId": schema_id})
    return schema


def _migration(migration_id: str) -> SchemaMigration:
    migration = SchemaMigration.objects.filter(pk=migration_id).first()
    if migration is None:
        raise NotFound(f"Schema migration {migration_id} not found", {"migrationId": migration_id})
    return migration


_ADMIN_ONLY = {403: "Only administrators change schemas and migration plans"}
_SCHEMA_ITEM = component(
    "Schema",
    obj(
        {
            "id": string(),
            "name": string(),
            "description": string(),
            "kind": string(enum=list(SchemaKind.values)),
            "jsonSchema": {"type": "object"},
            "reviewRoles": array(string()),
            "active": {"type": "boolean"},
            "hidden": {"type": "boolean"},
            "createdAt": TIMESTAMP,
            "updatedAt": TIMESTAMP,
        },
        required=["id", "name", "kind", "jsonSchema", "reviewRoles", "active", "hidden"],
    ),
)
_SCHEMA = answer("schema", _SCHEMA_ITEM)
_MIGRATION_FIELDS: dict[str, Any] = {
    "name": string(minLength=1),
    "description": string(),
    "sourceSchema": string(minLength=1),
    "targetSchema": string(minLength=1),
    "questionMigrations": array(
        obj(
            {
                "id": string(),
                "kind": string(enum=["move", "delete"]),
                "sourcePath": string(),
                "targetPath": string(),
                "propertyType": string(),
            },
            required=["kind", "sourcePath"],
        )
    ),
    "draft": {"type": "boolean"},
}
_MIGRATION_ITEM = component(
    "SchemaMigration",
    obj(
        {**_MIGRATION_FIELDS, "id": string(), "createdAt": TIMESTAMP, "updatedAt": TIMESTAMP},
        required=["id", "name", "sourceSchema", "targetSchema", "questionMigrations", "draft"],
    ),
)
_MIGRATION = answer("schemaMigration", _MIGRATION_ITEM)


# --- schemas ----------------------------------------------------------------------------------


@router.get(
    "/schemas",
    openapi_extra=documented(
        listing("schemas", _SCHEMA_ITEM),
        {400: "An unknown kind, or hidden is not true or false"},
        query={"kind": string(enum=list(SchemaKind.values)), "hidden": {"type": "boolean"}},
    ),
)
def list_schemas(request: HttpRequest) -> dict[str, Any]:
    """Schemas, optionally of one ``kind``. Without ``hidden`` every schema is listed (as
    Bailo); ``hidden=true`` lists only hidden ones and ``hidden=false`` only usable ones."""
    kind = request.GET.get("kind") or None
    if kind is not None and kind not in SchemaKind.values:
        raise BadRequest(f"kind must be one of: {', '.join(SchemaKind.values)}", {"kind": kind})
    hidden = query_flag(request, "hidden")
    schemas = schema_list(kind=kind, hidden=hidden)
    return {"schemas": [schema_json(s) for s in schemas]}


@router.get("/schema/{schema_id}", openapi_extra=documented(_SCHEMA))
def get_schema(request: HttpRequest, schema_id: str) -> dict[str, Any]:
    return {"schema": schema_json(_schema(schema_id))}


@router.post(
    "/schemas",
    openapi_extra=documented(
        _SCHEMA,
        {**_ADMIN_ONLY, 400: "A field is missing or invalid", 409: "The id is taken"},
        body=obj(
            {
                "id": string(minLength=1),
                "name": string(minLength=1),
                "description": string(),
                "kind": string(enum=list(SchemaKind.values)),
                "jsonSchema": {"type": "object"},
                "reviewRoles": array(string()),
            },
            required=["id", "name", "kind", "jsonSchema"],
        ),
    ),
)
def create_schema(request: HttpRequest) -> dict[str, Any]:
    """Upload a schema (administrators): ``{id, name, description, kind, jsonSchema,
    reviewRoles}``."""
    body = read_json(request)
    schema = schema_create(
        actor=Actor.from_request(request),
        schema_id=body.get("id"),
        name=body.get("name"),
        description=body.get("description", ""),
        kind=body.get("kind"),
        json_schema=body.get("jsonSchema"),
        review_roles=body.get("reviewRoles"),
    )
    return {"schema": schema_json(schema)}


@router.patch(
    "/schema/{schema_id}",
    openapi_extra=documented(
        _SCHEMA,
        {**_ADMIN_ONLY, 400: "An unknown, read-only or invalid field"},
        body={
            **obj(
                {
                    "name": string(minLength=1),
                    "description": string(),
                    "active": {"type": "boolean"},
                    "hidden": {"type": "boolean"},
                    "reviewRoles": array(string()),
                }
            ),
            "additionalProperties": False,
        },
    ),
)
def patch_schema(request: HttpRequest, schema_id: str) -> dict[str, Any]:
    """Rename, describe, (de)activate, hide or change the review roles of a schema."""
    schema = _schema(schema_id)
    changes = read_json(request)
    updated = schema_update(actor=Actor.from_request(request), schema=schema, changes=changes)
    return {"schema": schema_json(updated)}


@router.delete(
    "/schema/{schema_id}",
    openapi_extra=documented(
        answer("deleted", {"type": "boolean"}),
        {**_ADMIN_ONLY, 409: "A card or access request uses the schema: hide it instead"},
    ),
)
def delete_schema(request: HttpRequest, schema_id: str) -> dict[str, Any]:
    """Delete a schema no card uses (409 otherwise: hide it instead)."""
    schema_delete(actor=Actor.from_request(request), schema=_schema(schema_id))
    return {"deleted": True}


# --- schema migrations ------------------------------------------------------------------------


@router.get(
    "/schema-migrations",
    openapi_extra=documented(
        listing("schemaMigrations", _MIGRATION_ITEM),
        query={"sourceSchema": string(), "id": string()},
    ),
)
def list_schema_migrations(request: HttpRequest) -> dict[str, Any]:
    """Migration plans, optionally only those from ``sourceSchema`` or with one ``id``."""
    migrations = schema_migration_list(
        source_schema=request.GET.get("sourceSchema"), migration_id=request.GET.get("id")
    )
    return {"schemaMigrations": [schema_migration_json(m) for m in migrations]}


@router.post(
    "/schema-migration",
    openapi_extra=documented(
        _MIGRATION,
        {**_ADMIN_ONLY, 400: "A field is missing or invalid, or a schema does not exist"},
        body=obj(_MIGRATION_FIELDS, required=["name", "sourceSchema", "targetSchema"]),
    ),
)
def create_schema_migration(request: HttpRequest) -> dict[str, Any]:
    """Create a migration plan (administrators). As in Bailo, ``draft`` defaults to false."""
    body = read_json(request)
    migration = schema_migration_save(
        actor=Actor.from_request(request),
        name=body.get("name"),
        description=body.get("description", ""),
        source_schema_id=body.get("sourceSchema"),
        target_schema_id=body.get("targetSchema"),
        question_migrations=body.get("questionMigrations"),
        draft=body.get("draft", False),
    )
    return {"schemaMigration": schema_migration_json(migration)}


@router.get("/schema-migration/{migration_id}", openapi_extra=documented(_MIGRATION))
def get_schema_migration(request: HttpRequest, migration_id: str) -> dict[str, Any]:
    return {"schemaMigration": schema_migration_json(_migration(migration_id))}


@router.put(
    "/schema-migration/{migration_id}",
    openapi_extra=documented(
        _MIGRATION,
        {**_ADMIN_ONLY, 400: "A field is invalid, or a schema does not exist"},
        body=obj(_MIGRATION_FIELDS),
    ),
)
def put_schema_migration(request: HttpRequest, migration_id: str) -> dict[str, Any]:
    """Replace a plan (administrators); fields left out keep their current values."""
    migration = _migration(migration_id)
    body = read_json(request)
    saved = schema_migration_save(
        actor=Actor.from_request(request),
        name=body.get("name", migration.name),
        description=body.get("description", migration.description),
        source_schema_id=body.get("sourceSchema", migration.source_schema_id),
        target_schema_id=body.get("targetSchema", migration.target_schema_id),
        question_migrations=body.get("questionMigrations", migration.question_migrations),
        draft=body.get("draft", migration.draft),
        migration=migration,
    )
    return {"schemaMigration": schema_migration_json(saved)}
