"""OpenID Connect sign-in (switched on by setting ``OIDC_*`` variables).

Users are named by the ``OIDC_USERNAME_CLAIM`` claim and their group memberships follow the
``OIDC_GROUPS_CLAIM`` claim at every sign-in, so membership of ``admin`` at the identity provider
makes a site administrator here. The person's name follows the ``given_name`` and ``family_name``
claims, or the ``name`` claim when those are absent; pages show it instead of the username.

mozilla-django-oidc does the authorisation code flow (state, nonce, PKCE). Two things it leaves
to its users are done here: the ID token's audience and lifetime are checked (the library decodes
with ``verify_aud`` off, and lets PyJWT's expiry error escape as a 500), and every refused
callback answers a page saying why with a 4xx (the library raises for some refusals and silently
redirects home for others).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import jwt
import requests
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView

from core.sessions import user_read_with_session

log = logging.getLogger(__name__)

# Clocks of the provider and this server may disagree by this much when "exp" and "iat" are read.
CLOCK_SKEW = timedelta(seconds=60)
# Django's own limits on these fields; a longer claim is refused rather than cut.
NAME_LENGTH = 150
EMAIL_LENGTH = 254


class SignInRefused(SuspiciousOperation):
    """The provider's answer cannot sign anyone in; the message is shown to the person."""


class BailoOIDCBackend(OIDCAuthenticationBackend):  # type: ignore[misc]
    def get_user(self, user_id: Any) -> Any:
        # The user read with the session (core.sessions) saves a query.
        return user_read_with_session(user_id) or super().get_user(user_id)

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        # The library calls this for the ID token (with the nonce) and for a signed userinfo
        # answer (without): only an ID token must carry "exp" and "iat".
        self._reading_id_token = "nonce" in kwargs
        try:
            return dict(super().verify_token(token, **kwargs))
        except SignInRefused:
            raise
        except SuspiciousOperation as exc:
            raise SignInRefused(str(exc)) from exc
        except (jwt.InvalidTokenError, KeyError) as exc:
            # A token with no usable header (the library reads it before verifying anything).
            raise SignInRefused("The identity provider's ID token could not be read.") from exc

    def _verify_jws(self, payload: str | bytes, key: Any) -> dict[str, Any]:
        header = jwt.get_unverified_header(payload)
        if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise SignInRefused(
                f"The identity provider signed its ID token with {header.get('alg')!r}, "
                f"not {self.OIDC_RP_SIGN_ALGO!r} as configured."
            )
        issuer = settings.OIDC_OP_ISSUER or None
        if getattr(self, "_reading_id_token", True):
            required, check_audience = ["aud", "exp", "iat"], True
            if issuer:
                required.append("iss")
        else:
            # A signed userinfo answer: its audience is checked when it names one.
            unverified = jwt.decode(payload, options={"verify_signature": False})
            required, check_audience = [], "aud" in unverified
        try:
            claims = jwt.decode(
                payload,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=issuer,
                leeway=CLOCK_SKEW,
                options={"require": required, "verify_aud": check_audience},
            )
        except jwt.ExpiredSignatureError as exc:
            raise SignInRefused("The identity provider's ID token has expired.") from exc
        except (jwt.InvalidAudienceError, jwt.MissingRequiredClaimError) as exc:
            if isinstance(exc, jwt.MissingRequiredClaimError) and exc.claim != "aud":
                raise SignInRefused(
                    f"The identity provider's ID token has no {exc.claim!r} claim."
                ) from exc
            raise SignInRefused(
                "The identity provider's ID token was issued to another application."
            ) from exc
        except jwt.InvalidIssuerError as exc:
            raise SignInRefused(
                "The ID token was issued by another identity provider than the one configured."
            ) from exc
        except jwt.InvalidSignatureError as exc:
            raise SignInRefused(
                "The identity provider's ID token is not signed by the provider's keys."
            ) from exc
        except jwt.InvalidTokenError as exc:
            raise SignInRefused(f"The identity provider's ID token is not valid: {exc}.") from exc
        # With several audiences the token must name us as the party it was issued to (OpenID
        # Connect Core 3.1.3.7, steps 4 and 5).
        audiences = claims.get("aud")
        several = isinstance(audiences, list) and len(audiences) > 1
        if several and claims.get("azp") != self.OIDC_RP_CLIENT_ID:
            raise SignInRefused(
                "The identity provider's ID token was issued to another application."
            )
        return dict(claims)

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        username = claims.get(settings.OIDC_USERNAME_CLAIM)
        if not username:
            return self.UserModel.objects.none()
        return self.UserModel.objects.filter(username=username)

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        # A sign-in without a username cannot be mapped to anyone: refuse it (no e-mail needed).
        # Values that do not fit the user's fields are refused too, not cut short or stored as a
        # different name.
        username = claims.get(settings.OIDC_USERNAME_CLAIM)
        email = claims.get("email")
        groups = claims.get(settings.OIDC_GROUPS_CLAIM)
        return (
            isinstance(username, str)
            and 0 < len(username) <= NAME_LENGTH
            and (email is None or (isinstance(email, str) and len(email) <= EMAIL_LENGTH))
            and (
                groups is None
                or (
                    isinstance(groups, list)
                    and all(isinstance(g, str) and 0 < len(g) <= NAME_LENGTH for g in groups)
                )
            )
        )

    def create_user(self, claims: dict[str, Any]) -> User:
        user = User.objects.create_user(
            username=claims[settings.OIDC_USERNAME_CLAIM], email=claims.get("email") or ""
        )
        self._sync(user, claims)
        return user

    def update_user(self, user: User, claims: dict[str, Any]) -> User:
        user.email = claims.get("email") or user.email
        user.save(update_fields=["email"])
        self._sync(user, claims)
        return user

    @staticmethod
    def _sync(user: User, claims: dict[str, Any]) -> None:
        first, last = name_from_claims(claims)
        if (first or last) and (first, last) != (user.first_name, user.last_name):
            user.first_name, user.last_name = first, last
            user.save(update_fields=["first_name", "last_name"])
        names = claims.get(settings.OIDC_GROUPS_CLAIM) or []
        groups = [Group.objects.get_or_create(name=name)[0] for name in names]
        user.groups.set(groups)


def name_from_claims(claims: dict[str, Any]) -> tuple[str, str]:
    """First and last name for the User row (each at most 150 characters, Django's limit).

    The whole ``name`` claim goes into the first name: splitting a name into two parts guesses
    wrong for many names, and the display name joins them again anyway.
    """
    given = str(claims.get("given_name") or "").strip()
    family = str(claims.get("family_name") or "").strip()
    if given or family:
        return given[:150], family[:150]
    return str(claims.get("name") or "").strip()[:150], ""


def sign_in_refused(request: HttpRequest, message: str, status: int) -> HttpResponse:
    log.warning("Single sign-on refused (%s): %s", status, message)
    return render(request, "registration/sso_refused.html", {"message": message}, status=status)


class BailoOIDCCallbackView(OIDCAuthenticationCallbackView):  # type: ignore[misc]
    """The provider sends the browser back here; every way it can go wrong answers a page."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if request.GET.get("error"):
            return super().get(request)  # forgets the state, then login_failure() below
        state, code = request.GET.get("state"), request.GET.get("code")
        if not state or not code:
            return sign_in_refused(
                request, "The identity provider's answer is missing its code or state.", 400
            )
        if state not in request.session.get("oidc_states", {}):
            # Never started in this browser, or already used: a replayed or forged answer.
            return sign_in_refused(
                request,
                "This sign-in answer does not belong to a sign-in started in this browser, or "
                "it has been used already.",
                400,
            )
        try:
            return super().get(request)  # type: ignore[no-any-return]
        except SignInRefused as exc:
            return sign_in_refused(request, str(exc), 400)
        except SuspiciousOperation as exc:
            return sign_in_refused(
                request, f"The identity provider's answer was refused: {exc}", 400
            )
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else 502
            if 400 <= status < 500:
                # Most often the token endpoint refusing the code: used already, expired, or not
                # issued to us.
                return sign_in_refused(
                    request, f"The identity provider refused this sign-in ({status}).", 400
                )
            return sign_in_refused(
                request, f"The identity provider answered with an error ({status}).", 502
            )
        except requests.RequestException:
            return sign_in_refused(request, "The identity provider could not be reached.", 502)

    def login_failure(self) -> HttpResponse:
        error = self.request.GET.get("error")
        if error:
            detail = self.request.GET.get("error_description") or error
            return sign_in_refused(
                self.request, f"The identity provider did not sign you in: {detail}", 403
            )
        return sign_in_refused(
            self.request,
            "The identity provider's account could not be matched to a user here: its user "
            "name or groups are missing or not valid, or the account is switched off.",
            403,
        )
