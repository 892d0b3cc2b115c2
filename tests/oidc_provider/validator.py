"""Claims the app reads (``preferred_username``, ``email``, ``groups``), and the bad ID tokens the
switches ask for."""

from __future__ import annotations

import json
import time
from typing import Any

from django.conf import settings
from jwcrypto import jwk, jwt
from oauth2_provider.oauth2_validators import OAuth2Validator

from tests.oidc_provider import switches


class TestValidator(OAuth2Validator):
    # Every claim goes to the client whatever the scopes: the default mapping would drop `groups`,
    # which no standard scope covers.
    oidc_claim_scope = None

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        user = request.user
        return {
            "preferred_username": user.username,
            "email": user.email,
            "name": user.get_full_name() or user.username,
            "groups": sorted(user.groups.values_list("name", flat=True)),
            **switches.claims_for(user.username),
        }

    def get_id_token_dictionary(
        self, token: Any, token_handler: Any, request: Any
    ) -> tuple[dict[str, Any], Any]:
        claims, expiration = super().get_id_token_dictionary(token, token_handler, request)
        # The library lays these claims over the ones oauthlib set (aud, nonce), so a spoilt
        # value here replaces the good one.
        kind = getattr(request, "bad_id_token", "")
        if kind == "wrong-audience":
            claims["aud"] = "another-client"
        elif kind == "wrong-issuer":
            claims["iss"] = "http://127.0.0.1:1/another-tenant"
        elif kind == "expired":
            claims["iat"] = int(time.time()) - 7200
            claims["exp"] = int(time.time()) - 3600
        elif kind == "old-nonce":
            claims["nonce"] = request.previous_nonce
        return claims, expiration

    def finalize_id_token(
        self, id_token: dict[str, Any], token: Any, token_handler: Any, request: Any
    ) -> str:
        request.bad_id_token = switches.take_next_id_token()
        request.previous_nonce = switches.remember_nonce(request.nonce or "")
        signed = str(super().finalize_id_token(id_token, token, token_handler, request))
        if request.bad_id_token != "foreign-key":
            return signed
        # The same header (so the same key id: the client finds the real key and must notice the
        # signature does not match it), signed with a key that is not in the JWKS.
        header = json.loads(jwt.JWT(jwt=signed, key=request.client.jwk_key).header)
        forged = jwt.JWT(header=json.dumps(header), claims=json.dumps(id_token, default=str))
        forged.make_signed_token(jwk.JWK.from_pem(settings.FOREIGN_RSA_PRIVATE_KEY.encode()))
        return str(forged.serialize())
