"""The v2 REST API: django-ninja, Bailo's paths and Bailo's error shape.

Every error leaves as ``{"error": {"message": ..., "context": {...}}}``; validation failures list
``context.validationErrors`` as ``{property, message}``, which the official client reads.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.renderers import JSONRenderer

from access.access_requests.api import router as access_requests_router
from access.tokens.api import router as tokens_router
from core.api import router as core_router
from core.api import router_v3 as core_router_v3
from core.api_helpers import StrictJsonParser, too_large
from core.authentication import ApiAuthenticationFailed, api_auth
from core.bad_input import is_unreadable_body
from core.errors import BailoError, error_body
from core.openapi import BailoApi
from core.throttle import TooManyFailures
from inference.api import router as inference_router
from mirroring.api import router as mirroring_router
from models_app.api.entries import router as entries_router
from models_app.api.schemas import router as schemas_router
from models_app.api.search import router as search_router
from releases.api import router as releases_router
from releases.files.api import router as files_router
from releases.images.api import router as images_router
from releases.scanning.api import router as scanning_router
from reviews.api import router as reviews_router
from reviews.api import router_v3 as reviews_router_v3
from reviews.roles.api import router as review_roles_router
from webhooks.api import router as webhooks_router

log = logging.getLogger(__name__)

api = BailoApi(
    title="Bailo",
    version="2.0.0",
    description="Manage the lifecycle of machine-learning models.",
    urls_namespace="api-v2",
    auth=api_auth,
    renderer=JSONRenderer(),
    parser=StrictJsonParser(),
    docs_url=None,
)


def _json(request: HttpRequest, status: int, body: dict[str, Any]) -> HttpResponse:
    return api.create_response(request, body, status=status)


def _property(location: Any) -> str:
    parts = [str(p) for p in location if p not in {"body", "query", "path", "header", "payload"}]
    return ".".join(parts)


@api.exception_handler(BailoError)
def _bailo_error(request: HttpRequest, exc: BailoError) -> HttpResponse:
    if exc.status >= 500:
        # An outage of a component, not the caller's mistake: operators need to see it.
        log.warning(
            "%s %s answered %s: %s %s",
            request.method,
            request.path,
            exc.status,
            exc.message,
            getattr(exc, "detail", ""),
        )
    response = _json(request, exc.status, exc.body())
    if isinstance(exc, TooManyFailures):
        response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    problems = [
        {"property": _property(err.get("loc", ())), "message": str(err.get("msg", "invalid"))}
        for err in exc.errors
    ]
    summary = "; ".join(
        f"{p['property']}: {p['message']}" if p["property"] else p["message"] for p in problems
    )
    return _json(
        request,
        400,
        error_body(f"Invalid request: {summary}", {"validationErrors": problems}),
    )


@api.exception_handler(ApiAuthenticationFailed)
def _bad_credentials(request: HttpRequest, exc: ApiAuthenticationFailed) -> HttpResponse:
    return _json(request, 401, error_body(exc.message))


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _json(
        request,
        401,
        error_body("Authentication required: sign in or use HTTP Basic with an access token"),
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, BailoError):
        # django-ninja wraps what the body parser raised in "Cannot parse request body": the
        # parser's own message says what is wrong.
        return _bailo_error(request, exc.__cause__)
    return _json(request, exc.status_code, error_body(str(exc)))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _json(request, 404, error_body(str(exc) or "Not found"))


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _json(request, 403, error_body(str(exc) or "Forbidden"))


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    error = too_large()
    return _json(request, error.status, error.body())


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    if is_unreadable_body(exc):
        return _json(request, 400, error_body("The request body could not be read"))
    log.exception("Unhandled API error on %s %s", request.method, request.path)
    return _json(request, 500, error_body("Internal server error"))


api.add_router("", core_router)
api.add_router("", mirroring_router)
api.add_router("", entries_router)
api.add_router("", schemas_router)
api.add_router("", search_router)
api.add_router("", tokens_router)
api.add_router("", releases_router)
api.add_router("", files_router)
api.add_router("", images_router)
api.add_router("", scanning_router)
api.add_router("", reviews_router)
api.add_router("", review_roles_router)
api.add_router("", access_requests_router)
api.add_router("", webhooks_router)
api.add_router("", inference_router)

# Bailo's v3 API: the same authentication and error shape, its own routes and description.
api_v3 = BailoApi(
    title="Bailo",
    version="3.0.0",
    description="Routes Bailo serves under /api/v3.",
    urls_namespace="api-v3",
    auth=api_auth,
    renderer=JSONRenderer(),
    parser=StrictJsonParser(),
    docs_url=None,
)
for _exception, _handler in api._exception_handlers.items():
    api_v3.add_exception_handler(_exception, _handler)
api_v3.add_router("", core_router_v3)
api_v3.add_router("", reviews_router_v3)
