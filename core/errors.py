"""Errors that services raise and the API turns into Bailo's shape.

``{"error": {"message": "...", "context": {...}}}`` is what the official client parses.
"""

from __future__ import annotations

from typing import Any


class BailoError(Exception):
    """An expected failure with an HTTP status and a message fit for users."""

    status = 400

    def __init__(self, message: str, context: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.context = context or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message}
        if self.context:
            error["context"] = self.context
        return {"error": error}


class BadRequest(BailoError):
    status = 400


class Unauthorised(BailoError):
    status = 401


class Forbidden(BailoError):
    status = 403


class NotFound(BailoError):
    status = 404


class Conflict(BailoError):
    status = 409


class PayloadTooLarge(BailoError):
    status = 413


class RangeNotSatisfiable(BailoError):
    status = 416


class NotImplementedYet(BailoError):
    status = 501


class BadGateway(BailoError):
    """A service we depend on answered, with an error."""

    status = 502


class ServiceUnavailable(BailoError):
    """A service we depend on could not be reached: try again later."""

    status = 503


def invalid(prop: str, message: str) -> BadRequest:
    """A 400 whose ``validationErrors`` put the message beside the field ``prop`` (the forms put it
    back beside their own field: ``core.forms.ServiceErrorForm``)."""
    return BadRequest(
        f"{prop}: {message}", {"validationErrors": [{"property": prop, "message": message}]}
    )


def error_body(message: str, context: dict[str, Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message}
    if context:
        error["context"] = context
    return {"error": error}
