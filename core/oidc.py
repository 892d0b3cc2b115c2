"""OpenID Connect sign-in (switched on by setting ``OIDC_*`` variables).

Users are named by the ``OIDC_USERNAME_CLAIM`` claim and their group memberships follow the
``OIDC_GROUPS_CLAIM`` claim at every sign-in, so membership of ``admin`` at the identity provider
makes a site administrator here. The person's name follows the ``given_name`` and ``family_name``
claims, or the ``name`` claim when those are absent; pages show it instead of the username.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from mozilla_django_oidc.auth import OIDCAuthenticationBackend


class BailoOIDCBackend(OIDCAuthenticationBackend):  # type: ignore[misc]
    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        username = claims.get(settings.OIDC_USERNAME_CLAIM)
        if not username:
            return self.UserModel.objects.none()
        return self.UserModel.objects.filter(username=username)

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        # A sign-in without a username cannot be mapped to anyone: refuse it (no e-mail needed).
        return bool(claims.get(settings.OIDC_USERNAME_CLAIM))

    def create_user(self, claims: dict[str, Any]) -> User:
        user = User.objects.create_user(
            username=claims[settings.OIDC_USERNAME_CLAIM], email=claims.get("email", "")
        )
        self._sync(user, claims)
        return user

    def update_user(self, user: User, claims: dict[str, Any]) -> User:
        user.email = claims.get("email", user.email)
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
        groups = [Group.objects.get_or_create(name=str(name))[0] for name in names]
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
