"""Middleware of the ground floor: refusing input nothing can store, closing the connection after
an early refusal, the Content-Security-Policy, and the answer to a locked-out sign-in."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse, UnreadablePostError
from django.shortcuts import render

from core.bad_input import form_problem, is_unreadable_body, request_line_problem
from core.connection import body_left_unread, can_send_connection_header
from core.errors import error_body

SIGNIN_LOCKED_MESSAGE = "Too many failed sign-in attempts. Try again in {minutes} minute{s}."


class SignInThrottleMiddleware:
    """Turns a sign-in refused by the lockout (``core.backends.AdminGroupBackend``) into a 429.

    The lock is noticed inside ``authenticate()``, deep in whichever form called it, which would
    otherwise answer "wrong user name or password"; this answers every sign-in form alike, with
    ``Retry-After``, and with a message that is the same whether the account exists or not.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        wait = int(getattr(request, "signin_locked_for", 0) or 0)
        if wait <= 0:
            return response
        minutes = max(1, -(-wait // 60))
        message = SIGNIN_LOCKED_MESSAGE.format(minutes=minutes, s="" if minutes == 1 else "s")
        if request.path.startswith("/api/"):
            locked: HttpResponse = JsonResponse(error_body(message), status=429)
        else:
            locked = render(request, "429.html", {"message": message}, status=429)
        locked["Retry-After"] = str(wait)
        return locked


class ContentSecurityPolicyMiddleware:
    """Adds ``settings.CONTENT_SECURITY_POLICY`` to every response that does not set its own.

    The pages use no inline scripts, inline ``<style>`` or style attributes (scripts and styles
    are static files), so the policy can refuse them all: an injected script cannot run.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response


def bad_request(request: HttpRequest, message: str) -> HttpResponse:
    """A 400 in Bailo's error shape for the API, the error page for the interface (with a way
    back to the same page without its query string)."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body(message), status=400)
    context = {"message": message, "start_again": request.path if request.GET else ""}
    return render(request, "400.html", context, status=400)


class BadInputMiddleware:
    """Refuses, before any view runs, a path, query string or form that holds what cannot be
    stored (``core.bad_input``), and answers a body the server could not read with a 400."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = request_line_problem(request)
        if problem is None and not request.path.startswith("/api/"):
            try:
                problem = form_problem(request)
            except (RequestDataTooBig, UnreadablePostError):
                problem = None  # the view's own handling answers these
        if problem:
            return bad_request(request, problem)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_unreadable_body(exception):
            return bad_request(request, "The request body could not be read")
        return None


class EarlyRefusalMiddleware:
    """Marks a refusal (4xx or 5xx) sent while some of the request body is unread with
    ``Connection: close`` (see ``core.connection``). Outermost but for the security headers, so
    it sees the final response, whichever middleware or view refused."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and body_left_unread(request)
            and can_send_connection_header(request)
        ):
            response["Connection"] = "close"
        return response
