"""Model fields shared across apps."""

from __future__ import annotations

import json
from typing import Any

from django.db import models


class OrderedJSONField(models.JSONField):  # type: ignore[type-arg]
    """JSON kept exactly as written, key order included.

    PostgreSQL's ``jsonb`` re-orders object keys, but a schema's property order is its page and
    question order, so on PostgreSQL this field is stored as ``json`` (text, order kept). It is
    not meant for JSON lookups.
    """

    def db_type(self, connection: Any) -> str | None:
        if connection.vendor == "postgresql":
            return "json"
        return super().db_type(connection)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if connection.vendor == "postgresql" and value is not None:
            from psycopg.types.json import Json

            return Json(value, dumps=lambda v: json.dumps(v, cls=self.encoder))
        return super().get_db_prep_value(value, connection, prepared)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if isinstance(value, dict | list):
            return value
        return super().from_db_value(value, expression, connection)
