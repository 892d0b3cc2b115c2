"""Test-only switches, reached by the tests over HTTP (``/control/...``, JSON bodies)."""

from __future__ import annotations

import json

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
