"""Test-only switches, reached by the tests over HTTP (``/control/...``, JSON bodies)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from django.contrib.auth.models import Group, User
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tests.oidc_provider import switches


@csrf_exempt
@require_POST
def next_id_token(request: HttpRequest) -> HttpResponse:
    """``{"kind": "expired"}``: the next ID token issued is bad in that way (once)."""
    kind = json.loads(request.body)["kind"]
    if kind not in switches.BAD_ID_TOKENS:
        return JsonResponse({"error": f"unknown kind {kind!r}"}, status=400)
    switches.make_next_id_token(kind)
    return JsonResponse({"kind": kind})


@csrf_exempt
@require_POST
def user_groups(request: HttpRequest) -> HttpResponse:
    """``{"username": "dana", "groups": ["admin"]}``: the user's groups at the provider."""
    body = json.loads(request.body)
    user = User.objects.get(username=body["username"])
    user.groups.set([Group.objects.get_or_create(name=name)[0] for name in body["groups"]])
    return JsonResponse({"username": user.username, "groups": body["groups"]})


@csrf_exempt
@require_POST
def user_claims(request: HttpRequest) -> HttpResponse:
    """``{"username": "erin", "claims": {"groups": "admin"}}``: send these claims for the user in
    place of the ones made from the account, from now on (``{}`` undoes it)."""
    body = json.loads(request.body)
    switches.set_claims(body["username"], body["claims"])
    return JsonResponse(body)


@csrf_exempt
@require_POST
def token_fault(request: HttpRequest) -> HttpResponse:
    """``{"fault": "error"}``: the next token request answers 500; ``"slow"``: it answers after
    ``seconds`` (default 5)."""
    body = json.loads(request.body)
    if body["fault"] not in switches.TOKEN_ENDPOINT_FAULTS:
        return JsonResponse({"error": f"unknown fault {body['fault']!r}"}, status=400)
    switches.break_next_token_request(f"{body['fault']}:{body.get('seconds', 5)}")
    return JsonResponse(body)


def token_faults(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[..., HttpResponse]:
    """Middleware: applies the token endpoint fault, if one is set, to the next token request."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if request.path == "/o/token/":
            fault, _, seconds = switches.take_token_fault().partition(":")
            if fault == "error":
                return HttpResponse("broken on purpose", status=500)
            if fault == "slow":
                time.sleep(float(seconds))
        return get_response(request)

    return middleware
