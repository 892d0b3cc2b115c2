"""Membership of the admin group carries every Django permission, as a superuser's would."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from core.entities import is_admin


class AdminGroupBackend(ModelBackend):
    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        if user_obj.is_active and is_admin(user_obj):
            return True
        return super().has_perm(user_obj, perm, obj)

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        if user_obj.is_active and is_admin(user_obj):
            return True
        return super().has_module_perms(user_obj, app_label)
