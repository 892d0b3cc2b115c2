"""What the app's forms share: putting a service's refusal back beside the field it is about."""

from __future__ import annotations

from typing import Any, ClassVar

from core.errors import BailoError


class ServiceErrorForm:
    """A Django form mixin. The services check a page's input as they check the API's and name
    the API property at fault (``core.errors.invalid``); ``FIELD_OF_PROPERTY`` maps it to the
    form field that shows the error. Anything else goes above the form."""

    FIELD_OF_PROPERTY: ClassVar[dict[str, str]] = {}
    fields: dict[str, Any]  # forms.Form's

    def add_service_error(self, exc: BailoError) -> None:
        problems = exc.context.get("validationErrors") or []
        if problems:
            problem = problems[0]
            field = self.FIELD_OF_PROPERTY.get(str(problem.get("property", "")))
            if field in self.fields:
                self.add_error(field, str(problem.get("message", exc.message)))  # type: ignore[attr-defined]
                return
        self.add_error(None, exc.message)  # type: ignore[attr-defined]
