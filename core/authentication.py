"""Who is calling the API: a personal access token, a signed-in session, or (dev mode) ``user``.

Failed HTTP Basic checks are counted per client address and per access key (``core.throttle``);
past a limit the caller gets a 429 with ``Retry-After`` before any secret is verified.

Order matters. Credentials that are present are always checked and a bad one is refused with 401,
even in dev mode: falling back to the dev user would hide a broken token from its owner.

HTTP Basic credentials are access keys and secrets of personal access tokens. Checking them is the
tokens feature's business (``access.tokens``), which registers its check in
``CREDENTIAL_CHECKS`` from its ``AppConfig.ready()``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any, Protocol

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, Group, User
from django.http import HttpRequest
from ninja.errors import AuthenticationError
from ninja.utils import check_csrf

from core import throttle
from core.errors import Forbidden
from core.federation.escalation import escalated_user
from core.hooks import Hook


class TokenLike(Protocol):
    """What a checked credential hands back: the token and the user it stands for."""

    user: Any


# (access key, secret) -> the usable token those credentials name, or None.
CredentialCheck = Callable[[str, str], TokenLike | None]
CREDENTIAL_CHECKS: Hook[CredentialCheck] = Hook("HTTP Basic credentials")


class ApiAuthenticationFailed(AuthenticationError):
    """Credentials were offered and are wrong; the message says which part."""

    def __init__(self, message: str) -> None:
        super().__init__(401, message)
        self.message = message


TOKEN_LOCKED_MESSAGE = "Too many failed authentication attempts: try again later"


def parse_basic(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    access_key, sep, secret = decoded.partition(":")
    if not sep:
        return None
    return access_key, secret


def dev_user() -> User:
    """Bailo's development connector: one user, ``user``, who is an administrator."""
    user, _ = User.objects.get_or_create(username=settings.BAILO_DEV_USER)
    group, _ = Group.objects.get_or_create(name=settings.BAILO_ADMIN_GROUP)
    if not user.groups.filter(pk=group.pk).exists():
        user.groups.add(group)
    return user


def _check_credentials(access_key: str, secret: str) -> TokenLike | None:
    for check in CREDENTIAL_CHECKS:
        token = check(access_key, secret)
        if token is not None:
            return token
    return None


def authenticate_request(request: HttpRequest) -> AbstractBaseUser | None:
    """Attach ``request.user`` and ``request.token`` and return the user, or None (anonymous).

    A federated peer's system account may then act as one of its users on ``/api/v2/models*``
    (``core.federation.escalation``). That is decided here rather than in a middleware because
    token callers are only known once this has run."""
    user = _authenticate(request)
    if user is None:
        return None
    escalated = escalated_user(request, user)
    if escalated is None:
        return user
    request.user = escalated
    return escalated


def _authenticate(request: HttpRequest) -> AbstractBaseUser | None:
    request.token = None  # type: ignore[attr-defined]
    header = request.headers.get("Authorization", "")
    if header:
        credentials = parse_basic(header)
        if credentials is None:
            raise ApiAuthenticationFailed(
                "Unsupported Authorization header: use HTTP Basic with accessKey:secretKey"
            )
        access_key, secret = credentials
        # Per address and per access key, and before the secret is checked: while either is
        # locked even the right secret is refused, so guessing gains nothing from the lock.
        subjects = [("token-address", throttle.client_address(request)), ("token-key", access_key)]
        throttle.check_all(subjects, TOKEN_LOCKED_MESSAGE)
        token = _check_credentials(access_key, secret)
        if token is None:
            for kind, subject in subjects:
                throttle.record_failure(kind, subject)
            raise ApiAuthenticationFailed(
                "Invalid access key or secret key, or the token is revoked"
            )
        request.user = token.user
        request.token = token  # type: ignore[attr-defined]
        return token.user
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        # A browser session: unsafe methods need the CSRF token like any form post.
        if request.method not in {"GET", "HEAD", "OPTIONS", "TRACE"}:
            failure = check_csrf(request)
            if failure:
                raise ApiAuthenticationFailed("CSRF check failed: reload the page and try again")
        return user  # type: ignore[no-any-return]
    if settings.BAILO_AUTH_MODE == "dev":
        user = dev_user()
        request.user = user
        return user
    return None


class ApiAuth:
    """django-ninja auth callable: a user for authenticated calls, None for anonymous ones."""

    def __call__(self, request: HttpRequest) -> Any:
        return authenticate_request(request)


class OptionalApiAuth:
    """For endpoints anyone may call: still identifies the caller, never refuses anonymity."""

    def __call__(self, request: HttpRequest) -> Any:
        user = authenticate_request(request)
        return user if user is not None else _Anonymous()


class PersonApiAuth:
    """For what only a person may do (managing access tokens): a token is refused with 403.

    A token that can list, mint or revoke tokens would let whoever holds one leaked token see the
    others and cut off their owner; a signed-in session (or dev mode's user) is required instead.
    """

    def __call__(self, request: HttpRequest) -> Any:
        user = authenticate_request(request)
        if authenticated_by_token(request):
            raise TokenRefused(
                "Access tokens cannot manage access tokens: sign in to list, create or revoke them"
            )
        return user


class TokenRefused(Forbidden):
    """The request was made with an access token where only a signed-in person may act."""


def authenticated_by_token(request: HttpRequest) -> bool:
    """Whether this request's credentials were a personal access token (not a session)."""
    return getattr(request, "token", None) is not None


class _Anonymous:
    """A truthy marker so django-ninja lets anonymous callers through optional endpoints."""

    is_authenticated = False

    def __bool__(self) -> bool:
        return True


api_auth = ApiAuth()
optional_api_auth = OptionalApiAuth()
person_api_auth = PersonApiAuth()
