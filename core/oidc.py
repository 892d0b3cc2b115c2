"""OpenID Connect sign-in (switched on by setting ``OIDC_*`` variables).

Users are named by the ``OIDC_USERNAME_CLAIM`` claim and their group memberships follow the
``OIDC_GROUPS_CLAIM`` claim at every sign-in, so membership of ``admin`` at the identity provider
makes a site administrator here.
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
        names = claims.get(settings.OIDC_GROUPS_CLAIM) or []
        groups = [Group.objects.get_or_create(name=str(name))[0] for name in names]
        user.groups.set(groups)
