"""Personal access tokens over the API: Bailo's ``/user/tokens`` routes."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from access.tokens import selectors, services
from core.api_helpers import documented, read_json
from core.authentication import person_api_auth
from core.openapi import MESSAGE, answer, array, component, listing, obj, string
from models_app.policy import TOKEN_ACTION_CATALOGUE, Actor

router = Router(tags=["token"])
# Listing, minting and revoking tokens is for a signed-in person only: a token is refused (403).


_PEOPLE_ONLY = {403: "Access tokens cannot manage access tokens: sign in"}
TOKEN = component(
    "Token",
    obj(
        {
            "accessKey": string(),
            "secretKey": string(description="Only in the answer to creation, never again"),
            "description": string(),
            "scope": string(enum=["all", "models"]),
            "modelIds": array(string()),
            "actions": array(string()),
            "createdAt": string(format="date-time"),
            "revoked": {"type": "boolean"},
        },
        required=["accessKey", "description", "scope", "modelIds", "actions"],
    ),
)


@router.post(
    "/user/tokens",
    auth=person_api_auth,
    openapi_extra=documented(
        answer("token", TOKEN),
        {**_PEOPLE_ONLY, 400: "A field is missing or invalid"},
        body=obj(
            {
                "description": string(minLength=1),
                "scope": string(enum=["all", "models"]),
                "modelIds": array(string()),
                "actions": array(string()),
                "expiresAt": string(format="date-time"),
            },
            required=["description", "scope", "actions"],
        ),
    ),
)
def post_user_token(request: HttpRequest) -> dict[str, Any]:
    """Mint a token. The secret key appears in this response and nowhere else, ever."""
    body = read_json(request)
    token, secret = services.token_create(
        actor=Actor.from_request(request),
        description=body.get("description"),
        scope=body.get("scope"),
        model_ids=body.get("modelIds", []),
        actions=body.get("actions"),
        expires_at=body.get("expiresAt"),
    )
    return {"token": selectors.token_json(token, secret=secret)}


@router.get(
    "/user/tokens",
    auth=person_api_auth,
    openapi_extra=documented(listing("tokens", TOKEN), _PEOPLE_ONLY),
)
def get_user_tokens(request: HttpRequest) -> dict[str, Any]:
    tokens = selectors.token_list(user=request.user)
    return {"tokens": [selectors.token_json(t) for t in tokens]}


@router.get(
    "/user/tokens/list",
    openapi_extra=documented(
        answer(
            "tokenActionMap",
            array(obj({"id": string(), "description": string()}, required=["id", "description"])),
        )
    ),
)
def get_user_token_actions(request: HttpRequest) -> dict[str, Any]:
    """Bailo's ``tokenActionMap``: every token action as ``{id, description}``."""
    return {"tokenActionMap": TOKEN_ACTION_CATALOGUE}


@router.delete(
    "/user/token/{access_key}",
    auth=person_api_auth,
    openapi_extra=documented(MESSAGE, _PEOPLE_ONLY),
)
def delete_user_token(request: HttpRequest, access_key: str) -> dict[str, Any]:
    services.token_revoke(actor=Actor.from_request(request), access_key=access_key)
    return {"message": "Successfully removed access key."}
